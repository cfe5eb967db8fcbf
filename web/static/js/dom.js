// Building DOM without HTML strings: customer text only ever becomes text nodes.
//
// h(tag, props, ...children): props "class", "text", "dataset", "on<event>" and any
// attribute; children are nodes or strings (strings become text nodes, never markup).
// There is deliberately no way to pass HTML here.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// Only our own paths and plain web links become href/src: never javascript: or data:.
export function safeUrl(value) {
  if (typeof value !== "string" || value === "") return null;
  if (value.startsWith("/") && !value.startsWith("//")) return value;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

// Text for screen readers only.
export const srOnly = (text) => h("span", { class: "sr-only", text });

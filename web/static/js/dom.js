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

// A link as the browser will follow it: resolved against this page exactly as the
// browser resolves it (so "/\\evil.example/x" is another site, not our path).
function resolved(value) {
  try {
    return new URL(value, location.href);
  } catch {
    return null;
  }
}

// Whether a link stays on this inbox's origin (compared, never guessed from its text).
export function sameOrigin(value) {
  const url = typeof value === "string" && value !== "" ? resolved(value) : null;
  return Boolean(url) && url.origin === location.origin;
}

// Only our own paths and plain web links become href/src: never javascript: or data:.
// What is returned is the resolved link, so a link that leaves shows where it goes.
export function safeUrl(value) {
  if (typeof value !== "string" || value === "") return null;
  const url = resolved(value);
  if (!url) return null;
  if (url.origin === location.origin) return url.pathname + url.search + url.hash;
  return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
}

// Text for screen readers only.
export const srOnly = (text) => h("span", { class: "sr-only", text });

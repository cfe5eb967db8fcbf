// A sent template as the customer saw it: the account's template (GET /api/templates,
// loaded once and shared with the picker) with the message's parameters put in.

import { api } from "./api.js";

export const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

let known = null; // [{name, language, components, ...}] once loaded
let loading = null;
const waiting = new Set();

// The templates (all of them: a template sent long ago may no longer be approved).
export function loadTemplates() {
  if (known) return Promise.resolve(known);
  if (!loading) {
    loading = api("/api/templates?all=1").then((answer) => {
      known = (answer && answer.templates) || [];
      for (const callback of waiting) callback();
      waiting.clear();
      return known;
    }).finally(() => {
      loading = null;
    });
  }
  return loading;
}

// The template a message names, or null (not loaded yet: `onLoad` is called once it is).
export function findTemplate(name, language, onLoad) {
  if (!known) {
    if (onLoad) waiting.add(onLoad);
    loadTemplates().catch((error) => console.warn("templates could not be loaded", error));
    return null;
  }
  return known.find((t) => t.name === name && t.language === language) || null;
}

export function componentOf(template, type) {
  return (template.components || []).find((c) => c && String(c.type).toUpperCase() === type) || null;
}

// Fill {{1}} / {{name}} from the parameters sent with that component.
export function fill(text, parameters) {
  const given = (parameters || []).filter((p) => p && typeof p === "object");
  return String(text || "").replace(PLACEHOLDER, (all, name) => {
    const named = given.find((p) => p.parameter_name === name);
    const found = named || (/^\d+$/.test(name) ? given[Number(name) - 1] : null);
    if (!found) return all;
    if (typeof found.text === "string") return found.text;
    if (found.currency && found.currency.fallback_value) return found.currency.fallback_value;
    if (found.date_time && found.date_time.fallback_value) return found.date_time.fallback_value;
    return all;
  });
}

const MEDIA_FORMATS = new Set(["IMAGE", "VIDEO", "DOCUMENT"]);

// {header, body, footer, buttons} as text, from the definition and what was sent;
// `media` is "image", "video" or "document" when the header is that file.
export function rendered(template, sent) {
  const parametersOf = (type) => {
    const component = ((sent && sent.components) || []).find((c) => c && String(c.type).toLowerCase() === type);
    return (component && component.parameters) || [];
  };
  const header = componentOf(template, "HEADER");
  const body = componentOf(template, "BODY");
  const footer = componentOf(template, "FOOTER");
  const buttons = componentOf(template, "BUTTONS");
  return {
    header: header && header.text && (!header.format || String(header.format).toUpperCase() === "TEXT")
      ? fill(header.text, parametersOf("header")) : "",
    body: body ? fill(body.text, parametersOf("body")) : "",
    media: header && MEDIA_FORMATS.has(String(header.format || "").toUpperCase()) ? String(header.format).toLowerCase() : null,
    footer: footer && footer.text ? String(footer.text) : "",
    buttons: ((buttons && buttons.buttons) || []).map((b) => (b && b.text) || "").filter(Boolean),
  };
}

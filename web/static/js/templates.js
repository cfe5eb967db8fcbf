// The template picker, offered when the 24-hour window is closed: the account's approved
// templates (GET /api/templates), a field for each {{placeholder}} of the header and
// body, a live preview, and the components Meta expects when it is sent.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { componentOf, PLACEHOLDER } from "./template_text.js";

function placeholders(text) {
  const seen = [];
  for (const match of String(text || "").matchAll(PLACEHOLDER)) {
    if (!seen.includes(match[1])) seen.push(match[1]);
  }
  return seen;
}

function examples(component) {
  const example = (component && component.example) || {};
  const body = example.body_text || example.header_text;
  return Array.isArray(body) ? (Array.isArray(body[0]) ? body[0] : body) : [];
}

// A template we can fill here: text header (or none) and text parameters only.
function supported(template) {
  const header = componentOf(template, "HEADER");
  return !header || !header.format || String(header.format).toUpperCase() === "TEXT";
}

export class TemplatePicker {
  constructor({ root, send }) {
    this.send = send;
    this.templates = null;
    this.loading = null;
    this.form = $("#template-form", root);
    this.select = $("#template", root);
    this.params = $("#template-params", root);
    this.preview = $("#template-preview", root);
    this.button = $("#template-send", root);
    this.select.addEventListener("change", () => this.showFields());
    this.form.addEventListener("input", () => this.showPreview());
    this.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const built = this.build();
      if (!built) return;
      this.button.disabled = true;
      try {
        if (await this.send(built)) this.showFields();
      } finally {
        this.button.disabled = false;
      }
    });
  }

  focus() {
    this.select.focus();
  }

  load() {
    if (this.templates || this.loading) return this.loading;
    this.select.replaceChildren(h("option", { value: "", text: "Loading templates…" }));
    this.button.disabled = true;
    this.loading = api("/api/templates").then((answer) => {
      const list = Array.isArray(answer) ? answer : (answer && answer.templates) || [];
      this.templates = list.filter((t) => t && t.name && (!t.status || String(t.status).toUpperCase() === "APPROVED"));
      this.fill();
    }).catch((error) => {
      this.select.replaceChildren(h("option", { value: "", text: `Templates could not be loaded: ${error.message}` }));
    }).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  fill() {
    this.select.replaceChildren();
    if (!this.templates.length) {
      this.select.append(h("option", { value: "", text: "No approved templates: create one in WhatsApp Manager" }));
      this.button.disabled = true;
      this.showFields();
      return;
    }
    this.templates.forEach((template, index) => {
      const usable = supported(template);
      this.select.append(h("option", {
        value: String(index), disabled: !usable,
        text: `${template.name} (${template.language})${template.category ? ` · ${String(template.category).toLowerCase()}` : ""}${usable ? "" : " · needs a media header"}`,
      }));
    });
    const first = this.templates.findIndex(supported);
    this.select.value = first >= 0 ? String(first) : "";
    this.button.disabled = first < 0;
    this.showFields();
  }

  current() {
    const index = Number(this.select.value);
    return this.templates && this.select.value !== "" ? this.templates[index] || null : null;
  }

  showFields() {
    this.params.replaceChildren();
    const template = this.current();
    if (template) {
      for (const type of ["HEADER", "BODY"]) {
        const component = componentOf(template, type);
        if (!component) continue;
        const hints = examples(component);
        placeholders(component.text).forEach((name, i) => {
          const id = `tpl-${type.toLowerCase()}-${name}`;
          this.params.append(h("p", {},
            h("label", { for: id, class: "mb-1 block text-xs font-medium text-slate-600",
                         text: `${type === "HEADER" ? "Header" : "Body"} {{${name}}}` }),
            h("input", { id, required: true, dataset: { component: type.toLowerCase(), name },
                         placeholder: hints[i] ? `e.g. ${hints[i]}` : "",
                         class: "w-full rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm focus:ring-2 focus:ring-emerald-600 focus:outline-none" })));
        });
      }
    }
    this.showPreview();
  }

  values(type) {
    const found = {};
    for (const input of this.params.querySelectorAll(`input[data-component="${type}"]`)) {
      found[input.dataset.name] = input.value;
    }
    return found;
  }

  showPreview() {
    const template = this.current();
    if (!template) {
      this.preview.textContent = "";
      this.preview.hidden = true;
      return;
    }
    const parts = [];
    for (const type of ["HEADER", "BODY", "FOOTER"]) {
      const component = componentOf(template, type);
      if (!component || !component.text) continue;
      const filled = this.values(type.toLowerCase());
      parts.push(String(component.text).replace(PLACEHOLDER, (all, name) => filled[name] || all));
    }
    this.preview.textContent = parts.join("\n\n");
    this.preview.hidden = !parts.length;
  }

  // {name, language, components} as POST /api/send takes it.
  build() {
    const template = this.current();
    if (!template) return null;
    const components = [];
    for (const type of ["header", "body"]) {
      const component = componentOf(template, type.toUpperCase());
      if (!component) continue;
      const named = String(template.parameter_format || "").toUpperCase() === "NAMED";
      const filled = this.values(type);
      const names = placeholders(component.text);
      if (!names.length) continue;
      components.push({
        type,
        parameters: names.map((name) => (named || !/^\d+$/.test(name)
          ? { type: "text", parameter_name: name, text: filled[name] || "" }
          : { type: "text", text: filled[name] || "" })),
      });
    }
    return { name: template.name, language: template.language, components };
  }
}

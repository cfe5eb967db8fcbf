// The template picker, offered when the 24-hour window is closed (or for a number with no
// conversation yet): the account's approved templates (GET /api/templates), a field for
// every parameter Meta's template takes that an agent can fill (`parameters` in the
// answer: header text, image, video, document or location; body variables; URL button
// suffixes; quick-reply payloads; copy-code values), a preview as the customer will see
// it, and the components Meta expects when it is sent.
//
// A media header's file is uploaded with the send, or taken from a message of the thread
// (`header_media`); the sender uploads it to Meta and puts its id in the header.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { componentOf, PLACEHOLDER, rendered } from "./template_text.js";

const INPUT = "w-full rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm focus:ring-2 focus:ring-emerald-600 focus:outline-none";
const LABEL = "mb-1 block text-xs font-medium text-slate-600";
const MEDIA = new Set(["image", "video", "document"]);
const ACCEPT = { image: "image/jpeg,image/png", video: "video/mp4,video/3gpp", document: "application/pdf,.pdf" };
const LOCATION = [["latitude", "Latitude", true], ["longitude", "Longitude", true], ["name", "Place name", false], ["address", "Address", false]];

function placeholders(text) {
  const seen = [];
  for (const match of String(text || "").matchAll(PLACEHOLDER)) {
    if (!seen.includes(match[1])) seen.push(match[1]);
  }
  return seen;
}

// The parameters as the server lists them; derived here for an answer without them.
function parametersOf(template) {
  if (Array.isArray(template.parameters)) return template.parameters;
  const found = [];
  for (const type of ["HEADER", "BODY"]) {
    const component = componentOf(template, type);
    if (!component) continue;
    const format = String(component.format || "TEXT").toLowerCase();
    if (type === "HEADER" && MEDIA.has(format)) found.push({ component: "header", type: format });
    else placeholders(component.text).forEach((name) => found.push({ component: type.toLowerCase(), type: "text", name }));
  }
  return found;
}

function unsupportedOf(template) {
  return Array.isArray(template.unsupported) ? template.unsupported : [];
}

function fieldId(p) {
  return p.component === "button" ? `tpl-button-${p.index}` : `tpl-${p.component}-${p.name || p.type}`;
}

function labelOf(p) {
  if (p.component === "button") {
    const button = `Button “${p.text || p.index + 1}”`;
    if (p.sub_type === "url") return `${button} link ending`;
    if (p.sub_type === "copy_code") return `${button} code`;
    return `${button} reply payload (optional)`;
  }
  return `${p.component === "header" ? "Header" : "Body"} {{${p.name}}}`;
}

export class TemplatePicker {
  // phone(): the chat the template goes to (its thread's files can be the header).
  constructor({ root, send, phone = () => null }) {
    this.send = send;
    this.phone = phone;
    this.templates = null;
    this.loading = null;
    this.file = null; // the header's uploaded file (a File)
    this.fileUrl = null;
    this.form = $("#template-form", root);
    this.select = $("#template", root);
    this.params = $("#template-params", root);
    this.preview = $("#template-preview", root);
    this.button = $("#template-send", root);
    this.select.addEventListener("change", () => this.showFields());
    this.form.addEventListener("input", () => this.showPreview());
    this.form.addEventListener("change", () => this.showPreview());
    this.form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const built = this.build();
      if (!built) return;
      this.button.disabled = true;
      try {
        if (await this.send(built)) this.showFields();
      } finally {
        this.button.disabled = !this.current();
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
      const missing = unsupportedOf(template);
      this.select.append(h("option", {
        value: String(index), disabled: missing.length > 0,
        text: `${template.name} (${template.language})${template.category ? ` · ${String(template.category).toLowerCase()}` : ""}${missing.length ? ` · needs ${missing.join(", ")} (not supported here)` : ""}`,
      }));
    });
    const first = this.templates.findIndex((t) => !unsupportedOf(t).length);
    this.select.value = first >= 0 ? String(first) : "";
    this.button.disabled = first < 0;
    this.showFields();
  }

  current() {
    const index = Number(this.select.value);
    return this.templates && this.select.value !== "" ? this.templates[index] || null : null;
  }

  clearFile() {
    if (this.fileUrl) URL.revokeObjectURL(this.fileUrl);
    this.file = null;
    this.fileUrl = null;
  }

  showFields() {
    this.params.replaceChildren();
    this.clearFile();
    const template = this.current();
    this.button.disabled = !template;
    if (template) {
      for (const p of parametersOf(template)) {
        if (p.component === "header" && MEDIA.has(p.type)) this.params.append(this.mediaField(p));
        else if (p.type === "location") this.params.append(...LOCATION.map(([key, label, required]) => this.input(`tpl-location-${key}`, `Header location: ${label}`, { location: key }, required)));
        else this.params.append(this.input(fieldId(p), labelOf(p), { component: p.component, name: p.name || "", index: p.index ?? "" },
          p.required !== false, p.example, p.url));
      }
    }
    this.showPreview();
  }

  input(id, label, data, required, example = null, url = null) {
    return h("p", {},
      h("label", { for: id, class: LABEL, text: label }),
      url ? h("span", { class: "mb-1 block truncate text-[11px] text-slate-500", text: url }) : null,
      h("input", { id, required, dataset: data, placeholder: example ? `e.g. ${example}` : "", class: INPUT }));
  }

  // Upload a file, or choose one the thread already has (newest first).
  mediaField(p) {
    const upload = h("input", { id: "tpl-header-file", type: "file", accept: ACCEPT[p.type], class: "block w-full text-xs" });
    const choose = h("select", { id: "tpl-header-thread", class: INPUT }, h("option", { value: "", text: "— or one of this chat's files —" }));
    upload.addEventListener("change", () => {
      this.clearFile();
      this.file = upload.files && upload.files[0] ? upload.files[0] : null;
      if (this.file) {
        choose.value = "";
        this.fileUrl = URL.createObjectURL(this.file);
      }
      this.showPreview();
    });
    choose.addEventListener("change", () => {
      if (choose.value) {
        upload.value = "";
        this.clearFile();
      }
      this.showPreview();
    });
    this.threadFiles(p.type).then((files) => {
      for (const m of files) {
        choose.append(h("option", { value: m.id, dataset: { url: m.media.url || "", mime: m.media.mime_type || "" },
          text: `${m.media.filename || m.caption || p.type} · ${String(m.timestamp || "").slice(0, 10)}` }));
      }
    });
    return h("div", { class: "sm:col-span-2 space-y-1", dataset: { media: p.type } },
      h("label", { for: "tpl-header-file", class: LABEL, text: `Header ${p.type} (required)` }), upload,
      h("label", { for: "tpl-header-thread", class: "sr-only", text: `Header ${p.type} from this chat` }), choose);
  }

  async threadFiles(kind) {
    const phone = this.phone();
    if (!phone) return [];
    try {
      const answer = await api(`/api/messages?phone=${encodeURIComponent(phone)}&limit=200`);
      return ((answer && answer.messages) || []).filter((m) => {
        const media = m.media || {};
        if (!media.sha256 || !media.mime_type) return false;
        const mime = String(media.mime_type);
        const found = mime === "image/jpeg" || mime === "image/png" ? "image" : mime.startsWith("video/") ? "video" : mime.startsWith("audio/") || mime.startsWith("image/") ? null : "document";
        return found === kind;
      }).reverse();
    } catch {
      return []; // a new number has no thread
    }
  }

  value(selector) {
    const input = this.params.querySelector(selector);
    return input ? input.value : "";
  }

  // The components as Meta takes them (and as the thread's bubble renders them).
  // `preview`: an empty field shows as its {{placeholder}}.
  components(template, preview = false) {
    const named = String(template.parameter_format || "").toUpperCase() === "NAMED";
    const text = (name, given) => {
      const value = given || (preview ? `{{${name}}}` : "");
      return named || !/^\d+$/.test(name) ? { type: "text", parameter_name: name, text: value } : { type: "text", text: value };
    };
    const found = [];
    const params = parametersOf(template);
    for (const component of ["header", "body"]) {
      const filled = params.filter((p) => p.component === component && p.type === "text")
        .map((p) => text(p.name, this.value(`input[data-component="${component}"][data-name="${p.name}"]`)));
      if (filled.length) found.push({ type: component, parameters: filled });
    }
    if (params.some((p) => p.type === "location")) {
      const location = {};
      for (const [key] of LOCATION) {
        const value = this.value(`input[data-location="${key}"]`).trim();
        if (value) location[key] = value;
      }
      found.push({ type: "header", parameters: [{ type: "location", location }] });
    }
    for (const p of params.filter((q) => q.component === "button")) {
      const value = this.value(`input[data-component="button"][data-index="${p.index}"]`);
      if (p.sub_type === "quick_reply" && !value) continue; // Meta then sends back the button's text
      const parameter = p.sub_type === "url" ? { type: "text", text: value }
        : p.sub_type === "copy_code" ? { type: "coupon_code", coupon_code: value } : { type: "payload", payload: value };
      found.push({ type: "button", sub_type: p.sub_type, index: String(p.index), parameters: [parameter] });
    }
    return found;
  }

  headerMedia(template) {
    const p = parametersOf(template).find((q) => q.component === "header" && MEDIA.has(q.type));
    if (!p) return null;
    const chosen = this.params.querySelector("#tpl-header-thread");
    const option = chosen && chosen.value ? chosen.selectedOptions[0] : null;
    if (this.file) return { kind: p.type, file: this.file, url: this.fileUrl, name: this.file.name };
    if (option) return { kind: p.type, messageId: option.value, url: option.dataset.url, name: option.textContent };
    return { kind: p.type };
  }

  showPreview() {
    const template = this.current();
    if (!template) {
      this.preview.replaceChildren();
      this.preview.hidden = true;
      return;
    }
    const shown = rendered(template, { components: this.components(template, true) });
    const media = this.headerMedia(template);
    const parts = [];
    if (media) {
      if (media.url && media.kind === "image") parts.push(h("img", { src: media.url, alt: "The header image", class: "template-preview-image mb-1 max-h-40 rounded object-contain" }));
      else parts.push(h("p", { class: "template-preview-media mb-1 rounded bg-slate-100 px-2 py-3 text-center text-xs text-slate-500", text: media.url ? `${media.kind}: ${media.name}` : `The ${media.kind} goes here` }));
    }
    if (shown.header) parts.push(h("p", { class: "font-semibold", text: shown.header }));
    if (shown.body) parts.push(h("p", { class: "whitespace-pre-wrap", text: shown.body }));
    if (shown.footer) parts.push(h("p", { class: "mt-1 text-xs text-slate-500", text: shown.footer }));
    if (shown.buttons.length) {
      parts.push(h("ul", { class: "mt-2 flex flex-col gap-1 border-t border-slate-100 pt-1", "aria-label": "Buttons" },
        shown.buttons.map((words) => h("li", { class: "text-center text-sm font-medium text-sky-700", text: words }))));
    }
    this.preview.replaceChildren(...parts);
    this.preview.hidden = !parts.length;
  }

  // {name, language, components} as POST /api/send takes it, with the header's file
  // (`file`: an upload; `mediaFrom`: a message of the thread) beside it.
  build() {
    const template = this.current();
    if (!template) return null;
    const media = this.headerMedia(template);
    if (media && !media.file && !media.messageId) {
      const upload = this.params.querySelector("#tpl-header-file");
      upload.setCustomValidity(`Choose the header ${media.kind}: upload one or pick one of this chat's files.`);
      upload.reportValidity();
      upload.addEventListener("change", () => upload.setCustomValidity(""), { once: true });
      return null;
    }
    const built = { template: { name: template.name, language: template.language, components: this.components(template) } };
    if (media && media.file) built.file = media.file;
    if (media && media.messageId) built.mediaFrom = media.messageId;
    return built;
  }
}

// Quick replies: `/` in the composer lists the team's saved answers, filtered as one
// types; choosing one puts its text in the composer with {{name}}, {{phone}} and
// {{agent}} filled in, to edit before sending. A small dialog lists, adds, edits and
// deletes them (GET/POST /api/quick-replies, PUT/DELETE /api/quick-replies/<id>).

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { Suggest } from "./suggest.js";

let cached = null;

function replies({ fresh = false } = {}) {
  if (!cached || fresh) {
    cached = api("/api/quick-replies").then((answer) => answer.quick_replies || answer.replies || [])
      .catch((error) => {
        cached = null;
        throw error;
      });
  }
  return cached;
}

// {{name}}, {{phone}}, {{agent}} (spaces allowed inside the braces); others stay.
export function fill(text, values) {
  return text.replace(/\{\{\s*(name|phone|agent)\s*\}\}/g, (whole, key) => values[key] ?? whole);
}

// context() -> {name, phone, agent} of the open chat.
export function attachQuickReplies({ input, list, host, context }) {
  return new Suggest({
    input, list, host,
    pattern: /(?:^|\s)\/([\w-]*)$/,
    items: async (query) => {
      let all;
      try {
        all = await replies({ fresh: query === "" });
      } catch {
        return [];
      }
      return all.filter((r) => r.shortcut.toLowerCase().startsWith(query))
        .concat(all.filter((r) => !r.shortcut.toLowerCase().startsWith(query) &&
          (r.shortcut.toLowerCase().includes(query) || r.text.toLowerCase().includes(query))))
        .slice(0, 8)
        .map((r) => ({ label: `/${r.shortcut}`, detail: r.text, reply: r }));
    },
    choose: (item) => fill(item.reply.text, context()),
  });
}

export class QuickReplyManager {
  constructor({ opener }) {
    this.dialog = $("#qr-dialog");
    this.list = $("#qr-list");
    this.form = $("#qr-form");
    this.error = $("#qr-error");
    opener.addEventListener("click", () => this.show());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("#qr-new").addEventListener("click", () => this.edit(null));
  }

  async show() {
    this.edit(null);
    if (!this.dialog.open) this.dialog.showModal();
    await this.load();
  }

  async load() {
    try {
      const all = await replies({ fresh: true });
      this.list.replaceChildren(...all.map((r) => h("li", { class: "flex items-start gap-2 py-1.5", dataset: { id: r.id } },
        h("span", { class: "min-w-0 flex-1" },
          h("span", { class: "font-medium", text: `/${r.shortcut}` }),
          h("span", { class: "block truncate text-xs text-slate-500", text: r.text })),
        h("button", { type: "button", class: "rounded px-2 text-emerald-800 hover:bg-emerald-50 focus:ring-2 focus:ring-emerald-600 focus:outline-none",
                      "aria-label": `Edit /${r.shortcut}`, text: "Edit", onclick: () => this.edit(r) }),
        h("button", { type: "button", class: "rounded px-2 text-red-700 hover:bg-red-50 focus:ring-2 focus:ring-red-600 focus:outline-none",
                      "aria-label": `Delete /${r.shortcut}`, text: "Delete", onclick: () => this.remove(r) }))));
      if (!all.length) this.list.append(h("li", { class: "py-2 text-slate-500", text: "No quick replies yet." }));
    } catch (error) {
      this.error.textContent = error.message;
    }
  }

  edit(reply) {
    this.error.textContent = "";
    $("#qr-id").value = reply ? reply.id : "";
    $("#qr-shortcut").value = reply ? reply.shortcut : "";
    $("#qr-text").value = reply ? reply.text : "";
    $("#qr-save").textContent = reply ? "Save changes" : "Add";
    $("#qr-shortcut").focus();
  }

  async save() {
    const id = $("#qr-id").value;
    const json = { shortcut: $("#qr-shortcut").value.trim(), text: $("#qr-text").value };
    try {
      if (id) await api(`/api/quick-replies/${encodeURIComponent(id)}`, { method: "PUT", json });
      else await api("/api/quick-replies", { method: "POST", json });
      this.edit(null);
      await this.load();
    } catch (error) {
      this.error.textContent = error.message;
    }
  }

  async remove(reply) {
    try {
      await api(`/api/quick-replies/${encodeURIComponent(reply.id)}`, { method: "DELETE" });
      await this.load();
    } catch (error) {
      this.error.textContent = error.message;
    }
  }
}

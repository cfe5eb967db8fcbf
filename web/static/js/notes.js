// Private notes: a yellow bubble in the thread (never sent to the customer), and the
// composer's Note tab, which posts to /api/chats/<phone>/notes with @-autocomplete of
// the team's agents (arrows, Enter, Esc).

import { api } from "./api.js";
import { $, h, srOnly } from "./dom.js";
import { dayLabel, fullTime, timeOfDay } from "./format.js";
import { Suggest } from "./suggest.js";
import { agentNames } from "./team_agents.js";

// The note's text with each mention of an agent emphasised (text nodes only).
function withMentions(text, mentions) {
  const names = new Set((mentions || []).map((m) => String(m).toLowerCase()));
  const parts = [];
  let last = 0;
  for (const found of text.matchAll(/@([\w.-]+)/g)) {
    if (!names.has(found[1].toLowerCase())) continue;
    parts.push(text.slice(last, found.index));
    parts.push(h("strong", { class: "mention font-semibold text-yellow-900", text: found[0] }));
    last = found.index + found[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

export function renderNote(message) {
  const bubble = h("div", {
    class: "bubble note relative max-w-[85%] rounded-lg border border-yellow-300 bg-yellow-100 px-2.5 pb-1 pt-1.5 text-sm text-yellow-950 shadow-sm sm:max-w-[70%]",
  },
    h("p", { class: "text-[11px] font-semibold uppercase tracking-wide text-yellow-800" },
      srOnly("Private note by "), h("span", { class: "note-agent", text: message.agent || "agent" }),
      h("span", { "aria-hidden": "true", text: " · note" })),
    h("p", { class: "note-text whitespace-pre-wrap break-words" }, withMentions(message.text || "", message.mentions)),
    h("p", { class: "meta mt-0.5 flex justify-end text-[11px] text-yellow-800" },
      h("time", { datetime: message.timestamp, title: fullTime(message.timestamp), text: timeOfDay(message.timestamp) })));
  return h("li", {
    id: `m-${message.id}`,
    class: "msg flex flex-col items-center",
    dataset: { id: message.id, direction: "note", type: "note", status: "" },
  },
    h("p", { class: "day my-2 self-center rounded-md bg-white/90 px-3 py-0.5 text-xs text-slate-600 shadow-sm", hidden: true,
             text: dayLabel(message.timestamp) }),
    bubble);
}

// The Reply / Note tabs of the composer and the note form behind the second one.
export class NoteComposer {
  constructor({ root, phone, onAdded }) {
    this.phone = phone; // () -> the open chat's phone or null
    this.onAdded = onAdded || (() => {});
    this.form = $("#note-form", root);
    this.text = $("#note-text", root);
    this.pane = $("#reply-pane", root);
    this.replyTab = $("#mode-reply", root);
    this.noteTab = $("#mode-note", root);
    this.replyTab.addEventListener("click", () => this.setMode("reply"));
    this.noteTab.addEventListener("click", () => this.setMode("note"));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      } else if (event.key === "Escape") {
        this.setMode("reply");
      }
    });
    new Suggest({
      input: this.text, list: $("#suggest", root), host: root,
      pattern: /(?:^|\s)@([\w.-]*)$/,
      items: async (query) => {
        let names;
        try {
          names = await agentNames();
        } catch {
          return [];
        }
        return names.filter((n) => n.toLowerCase().startsWith(query)).slice(0, 8).map((n) => ({ label: n }));
      },
      choose: (item) => `@${item.label} `,
    });
  }

  setMode(mode) {
    const note = mode === "note";
    this.form.hidden = !note;
    this.pane.hidden = note;
    this.replyTab.setAttribute("aria-pressed", String(!note));
    this.noteTab.setAttribute("aria-pressed", String(note));
    const target = note ? this.text : $("#text");
    if (target && !target.closest("[hidden]")) target.focus();
  }

  async send() {
    const phone = this.phone();
    const text = this.text.value.trim();
    if (!phone || !text) return;
    const button = $("#note-send", this.form);
    button.disabled = true;
    try {
      await api(`/api/chats/${encodeURIComponent(phone)}/notes`, { method: "POST", json: { text } });
      this.text.value = "";
      this.onAdded(phone);
    } catch (error) {
      button.title = error.message;
      this.text.setCustomValidity(error.message);
      this.text.reportValidity();
      this.text.setCustomValidity("");
    } finally {
      button.disabled = false;
    }
  }
}

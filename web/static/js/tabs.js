// The sidebar's views: the Mine / Unassigned / All tabs with their counts
// (GET /api/chats/counts), a status filter, a label filter, an unread toggle and the
// longest-waiting sort. They become GET /api/chats parameters, and a predicate the
// list uses to drop a live-updated row that no longer belongs (assigned away from
// Unassigned, resolved out of Open).

import { api } from "./api.js";
import { $, h } from "./dom.js";

const COUNT_DELAY_MS = 300;

export class ChatViews {
  constructor({ root, me, onChange }) {
    this.root = root;
    this.me = me;
    this.onChange = onChange;
    this.tab = "all";
    this.tabs = [...root.querySelectorAll("[data-tab]")];
    this.status = $("#filter-status", root);
    this.label = $("#filter-label", root);
    this.sort = $("#filter-sort", root);
    this.unread = $("#filter-unread", root);
    this.timer = null;
    for (const button of this.tabs) {
      button.addEventListener("click", () => this.setTab(button.dataset.tab));
      button.addEventListener("keydown", (event) => {
        const moves = { ArrowRight: 1, ArrowLeft: -1 };
        if (!(event.key in moves)) return;
        event.preventDefault();
        const at = this.tabs.indexOf(button);
        this.tabs[(at + moves[event.key] + this.tabs.length) % this.tabs.length].focus();
      });
    }
    for (const control of [this.status, this.label, this.sort, this.unread]) {
      control.addEventListener("change", () => this.onChange());
    }
    this.label.addEventListener("focus", () => this.loadLabels(), { once: true });
    this.loadLabels();
    this.refreshCounts();
  }

  setTab(tab) {
    this.tab = tab;
    for (const button of this.tabs) button.setAttribute("aria-pressed", String(button.dataset.tab === tab));
    this.onChange();
  }

  // The /api/chats query parameters of the view.
  params() {
    const params = {};
    if (this.tab === "mine") params.assignee = "me";
    else if (this.tab === "unassigned") params.assignee = "none";
    if (this.status.value) params.status = this.status.value;
    if (this.label.value) params.label = this.label.value;
    if (this.unread.checked) params.unread = "true";
    if (this.sort.value) params.sort = this.sort.value;
    return params;
  }

  // Whether a chat, as the API answers it now, belongs in the view.
  matches(chat) {
    if (this.tab === "mine" && chat.assignee !== this.me) return false;
    if (this.tab === "unassigned" && chat.assignee) return false;
    if (this.status.value && (chat.status || "open") !== this.status.value) return false;
    const label = this.label.value.toLowerCase();
    if (label && !(chat.labels || []).some((l) => l.toLowerCase() === label)) return false;
    if (this.unread.checked && !(chat.unread > 0)) return false;
    return true;
  }

  filtered() {
    return this.tab !== "all" || this.status.value !== "open" || Boolean(this.label.value) || this.unread.checked;
  }

  // Something changed a chat: the counts follow (a burst of events asks once).
  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refreshCounts(), COUNT_DELAY_MS);
  }

  async refreshCounts() {
    let counts;
    try {
      counts = await api("/api/chats/counts");
    } catch (error) {
      console.warn("could not load the counts", error);
      return;
    }
    for (const span of this.root.querySelectorAll("[data-count]")) {
      const value = counts[span.dataset.count];
      span.textContent = typeof value === "number" ? String(value) : "";
      span.closest("button").setAttribute("aria-label",
        `${span.closest("button").firstChild.textContent.trim()}: ${value ?? 0} open chats`);
    }
  }

  async loadLabels() {
    let labels;
    try {
      labels = (await api("/api/labels")).labels || [];
    } catch {
      return;
    }
    const chosen = this.label.value;
    this.label.replaceChildren(h("option", { value: "", text: "Any label" }),
      ...labels.map((l) => h("option", { value: l.name, text: l.name })));
    this.label.value = labels.some((l) => l.name === chosen) ? chosen : "";
  }
}

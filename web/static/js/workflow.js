// The thread header's team controls: the chat's status, its assignee (a picker and
// "Assign to me"), its labels (a picker), snooze (presets or a chosen time) and
// Resolve / Reopen. Keys, outside text fields: `e` resolves, `a` assigns to me.
//
// Each action answers the chat as it now is; onChanged(chat) lets the page show it
// (the stream brings the same change to the other agents).

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { agentNames } from "./team_agents.js";

const STATUS_TEXT = { open: "Open", pending: "Pending", snoozed: "Snoozed", resolved: "Resolved" };

// The snooze presets, as Dates from now (tonight only while it is still ahead).
export function snoozePresets(now = new Date()) {
  const at = (days, hour) => {
    const d = new Date(now);
    d.setDate(d.getDate() + days);
    d.setHours(hour, 0, 0, 0);
    return d;
  };
  const presets = [["1 hour", new Date(now.getTime() + 3600_000)]];
  if (now.getHours() < 17) presets.push(["Tonight 18:00", at(0, 18)]);
  presets.push(["Tomorrow 9:00", at(1, 9)]);
  presets.push(["Next week (Monday 9:00)", at(((8 - now.getDay()) % 7) || 7, 9)]);
  return presets;
}

export function labelChip(name, color) {
  // CSSOM, not a style attribute: the Content-Security-Policy allows no inline styles.
  const dot = h("span", { "aria-hidden": "true", class: "size-2 rounded-full bg-slate-400" });
  if (/^#[0-9a-f]{6}$/i.test(color || "")) dot.style.backgroundColor = color;
  return h("span", {
    class: "label-chip inline-flex items-center gap-1 rounded-full bg-slate-100 px-2 py-0.5 text-[11px] text-slate-700",
  }, dot, h("span", { text: name }));
}

export class Workflow {
  constructor({ root, me, admin, onChanged }) {
    this.root = root;
    this.me = me;
    this.admin = admin;
    this.onChanged = onChanged || (() => {});
    this.chat = null;
    this.labels = [];
    this.el = {
      status: $("#wf-status", root), assignee: $("#wf-assignee", root), mine: $("#wf-mine", root),
      labels: $("#wf-labels", root), picker: $("#wf-label-picker", root), options: $("#wf-label-options", root),
      newLabel: $("#wf-label-new", root), newName: $("#wf-label-name", root),
      snooze: $("#wf-snooze", root), presets: $("#wf-snooze-presets", root),
      custom: $("#wf-snooze-custom", root), at: $("#wf-snooze-at", root),
      resolve: $("#wf-resolve", root), error: $("#wf-error", root),
    };
    const el = this.el;
    el.newLabel.hidden = !admin;
    el.assignee.addEventListener("change", () => this.assign(el.assignee.value || null));
    el.mine.addEventListener("click", () => this.assign(this.me));
    el.resolve.addEventListener("click", () => this.toggleResolved());
    el.picker.addEventListener("toggle", () => {
      if (el.picker.open) this.loadLabels();
    });
    el.snooze.addEventListener("toggle", () => {
      if (el.snooze.open) this.renderPresets();
    });
    el.custom.addEventListener("submit", (event) => {
      event.preventDefault();
      const when = new Date(el.at.value);
      if (!Number.isNaN(when.getTime())) this.snooze(when);
    });
    el.newLabel.addEventListener("submit", (event) => {
      event.preventDefault();
      this.createLabel(el.newName.value.trim());
    });
    for (const details of [el.picker, el.snooze]) {
      details.addEventListener("keydown", (event) => {
        if (event.key !== "Escape" || !details.open) return;
        event.stopPropagation();
        details.open = false;
        details.querySelector("summary").focus();
      });
    }
    document.addEventListener("keydown", (event) => this.key(event));
    this.loadAgents();
  }

  async loadAgents() {
    try {
      this.agents = await agentNames();
    } catch {
      this.agents = [];
    }
    this.render();
  }

  setChat(chat) {
    this.chat = chat && !chat.fresh ? chat : null;
    this.render();
  }

  render() {
    const chat = this.chat;
    const el = this.el;
    this.root.hidden = !chat;
    if (!chat) return;
    const status = chat.status || "open";
    el.status.textContent = status === "snoozed" && chat.snoozed_until
      ? `Snoozed until ${new Date(chat.snoozed_until).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" })}`
      : STATUS_TEXT[status] || status;
    el.status.dataset.status = status;
    const names = new Set(this.agents || []);
    if (chat.assignee) names.add(chat.assignee);
    el.assignee.replaceChildren(h("option", { value: "", text: "Unassigned" }),
      ...[...names].sort().map((n) => h("option", { value: n, text: n === this.me ? `${n} (me)` : n })));
    el.assignee.value = chat.assignee || "";
    el.mine.hidden = chat.assignee === this.me;
    el.labels.replaceChildren(...(chat.labels || []).map((name) => {
      const found = this.labels.find((l) => l.name.toLowerCase() === name.toLowerCase());
      return labelChip(name, found && found.color);
    }));
    const resolved = status === "resolved";
    el.resolve.textContent = resolved ? "Reopen" : "Resolve";
    el.resolve.title = resolved ? "Reopen" : "Resolve (e)";
    if (el.picker.open) this.renderOptions();
  }

  async act(path, json) {
    const phone = this.chat && this.chat.phone;
    if (!phone) return;
    this.el.error.textContent = "";
    try {
      const answer = await api(`/api/chats/${encodeURIComponent(phone)}/${path}`, { method: "POST", json });
      if (this.chat && this.chat.phone === phone) {
        this.chat = answer.chat;
        this.render();
      }
      this.onChanged(answer.chat);
    } catch (error) {
      this.el.error.textContent = error.message;
      this.render();
    }
  }

  assign(agent) {
    return this.act("assign", { agent });
  }

  toggleResolved() {
    const resolved = this.chat && this.chat.status === "resolved";
    return this.act("status", { status: resolved ? "open" : "resolved" });
  }

  async snooze(when) {
    this.el.snooze.open = false;
    await this.act("status", { status: "snoozed", until: when.toISOString() });
  }

  renderPresets() {
    this.el.presets.replaceChildren(...snoozePresets().map(([text, when]) => h("button", {
      type: "button", class: "rounded px-2 py-1 text-left hover:bg-slate-100 focus:ring-2 focus:ring-emerald-600 focus:outline-none",
      title: when.toLocaleString(), text, onclick: () => this.snooze(when),
    })));
  }

  async loadLabels() {
    try {
      this.labels = (await api("/api/labels")).labels || [];
    } catch (error) {
      this.el.error.textContent = error.message;
    }
    this.renderOptions();
  }

  renderOptions() {
    const on = new Set(((this.chat && this.chat.labels) || []).map((n) => n.toLowerCase()));
    this.el.options.replaceChildren(...this.labels.map((label) => h("li", {},
      h("label", { class: "flex items-center gap-2 rounded px-1 py-0.5 hover:bg-slate-50" },
        h("input", {
          type: "checkbox", class: "accent-emerald-700", checked: on.has(label.name.toLowerCase()),
          onchange: (event) => this.act("labels", event.target.checked ? { add: [label.name] } : { remove: [label.name] }),
        }), labelChip(label.name, label.color)))));
    if (!this.labels.length) {
      this.el.options.append(h("li", { class: "text-slate-500", text: this.admin ? "No labels yet: add one below." : "No labels yet (an admin adds them)." }));
    }
  }

  async createLabel(name) {
    if (!name) return;
    try {
      await api("/api/labels", { method: "POST", json: { name } });
      this.el.newName.value = "";
      await this.loadLabels();
      await this.act("labels", { add: [name] });
    } catch (error) {
      this.el.error.textContent = error.message;
    }
  }

  key(event) {
    if (!this.chat || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable], dialog")) return;
    if (event.key === "e") {
      event.preventDefault();
      if (this.chat.status !== "resolved") this.toggleResolved();
    } else if (event.key === "a") {
      event.preventDefault();
      if (this.chat.assignee !== this.me) this.assign(this.me);
    }
  }
}

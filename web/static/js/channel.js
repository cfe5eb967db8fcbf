// The channel-health panel, for admins only (the page has it only for them): whether
// Meta accepts our messages now, and Meta's latest account updates (restrictions,
// violations, messaging limits, pricing tiers), from /api/channel. Text only.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { fullTime } from "./format.js";

// The words of one update: its event and the few fields that say what changed.
export function updateText(update) {
  const value = update.value && typeof update.value === "object" ? update.value : {};
  const shown = Object.entries(value)
    .filter(([key]) => key !== "event")
    .map(([key, item]) => `${key}: ${typeof item === "string" || typeof item === "number" ? item : JSON.stringify(item)}`);
  const what = [update.field, update.event].filter(Boolean).join(" ");
  return `${update.at ? fullTime(update.at) : ""} ${what}${shown.length ? ` (${shown.join("; ")})` : ""}`.trim();
}

export class ChannelPanel {
  constructor() {
    this.panel = $("#channel-panel");
    if (!this.panel) return; // not an admin
    this.status = $("#channel-status");
    this.list = $("#channel-updates");
    this.panel.addEventListener("toggle", () => this.panel.open && this.refresh());
  }

  async refresh() {
    if (!this.panel) return;
    let channel;
    try {
      channel = (await api("/api/channel")).channel;
    } catch (error) {
      this.status.textContent = `Could not load the channel's health: ${error.message || error}`;
      return;
    }
    const health = channel.health || {};
    this.status.textContent = health.ok
      ? "WhatsApp accepts our messages."
      : `WhatsApp is refusing our messages: ${[health.title, health.code ? `(code ${health.code})` : "", health.details].filter(Boolean).join(" ")}`;
    const updates = Array.isArray(channel.updates) ? channel.updates : [];
    this.list.replaceChildren(...(updates.length
      ? updates.map((u) => h("li", { class: "channel-update", text: updateText(u) }))
      : [h("li", { text: "No account updates from Meta yet." })]));
  }
}

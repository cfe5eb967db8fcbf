// The customer-list row of the open chat (name and attributes from the sheet or CSV),
// and what the customer told Meta about marketing messages (stopped, resumed), behind a
// "Customer details" button in the thread header. Also whether the customer opted out
// of marketing (a STOP keyword, Meta's preferences or 131050): campaigns skip them, and
// an admin may opt them back in.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { fullTime } from "./format.js";

export class CustomerPanel {
  constructor() {
    this.toggle = $("#customer-toggle");
    this.panel = $("#customer-panel");
    this.list = $("#customer-attributes");
    this.source = $("#customer-source");
    this.preferences = $("#customer-preferences");
    this.edit = $("#customer-edit");
    this.admin = $("#app")?.dataset.admin === "true";
    this.phone = null;
    this.toggle.addEventListener("click", () => {
      const open = this.panel.hidden;
      this.panel.hidden = !open;
      this.toggle.setAttribute("aria-expanded", String(open));
    });
  }

  async show(phone) {
    this.phone = phone;
    if (this.edit) this.edit.href = `/contacts?q=${encodeURIComponent(phone)}`;
    let customer = null;
    let preferences = [];
    let optOut = null;
    const key = encodeURIComponent(phone);
    try {
      customer = (await api(`/api/customers/${key}`)).customer;
    } catch {
      customer = null; // not on the customer list (404), or unreachable: nothing to show
    }
    try {
      const answer = await api(`/api/customers/${key}/preferences`);
      preferences = Array.isArray(answer.preferences) ? answer.preferences : [];
    } catch {
      preferences = [];
    }
    try {
      optOut = (await api(`/api/customers/${key}/opt-out`)).opt_out;
    } catch {
      optOut = null;
    }
    if (phone !== this.phone) return;
    const attributes = Object.entries((customer && customer.attributes) || {})
      .filter(([, value]) => value !== null && value !== undefined && value !== "");
    this.preferences.replaceChildren(...preferences.map((p) => h("li", { class: "preference", text: preferenceText(p) })));
    if (optOut && optOut.opted_out) this.preferences.append(this.optOutItem(phone, optOut));
    const told = preferences.length || (optOut && optOut.opted_out);
    this.preferences.hidden = !told;
    this.toggle.hidden = !customer && !told;
    if (!customer && !told) {
      this.panel.hidden = true;
      this.toggle.setAttribute("aria-expanded", "false");
      return;
    }
    this.list.replaceChildren(...attributes.flatMap(([key, value]) => [
      h("dt", { class: "font-medium text-slate-600", text: key }),
      h("dd", { class: "min-w-0 break-words text-slate-900", text: typeof value === "string" ? value : JSON.stringify(value) }),
    ]));
    if (!customer) {
      this.list.replaceChildren(h("dt", { class: "text-slate-500", text: "Not on the customer list." }));
      this.source.textContent = "";
      return;
    }
    if (!attributes.length) this.list.append(h("dt", { class: "text-slate-500", text: "No other details on the customer list." }));
    this.source.textContent = [customer.source ? `From ${customer.source}` : "", customer.updated_at ? `updated ${fullTime(customer.updated_at)}` : ""]
      .filter(Boolean).join(", ");
  }

  optOutItem(phone, optOut) {
    const item = h("li", { class: "opt-out font-medium text-amber-700", text: optOutText(optOut) });
    if (this.admin) {
      const back = h("button", { type: "button", class: "ml-2 rounded border border-slate-300 px-1 text-slate-700 hover:bg-slate-100", text: "Opt back in" });
      back.addEventListener("click", async () => {
        back.disabled = true;
        try {
          await api(`/api/customers/${encodeURIComponent(phone)}/opt-out`, { method: "POST", json: { opted_out: false } });
          await this.show(phone);
        } catch {
          back.disabled = false;
        }
      });
      item.append(back);
    }
    return item;
  }

  clear() {
    this.phone = null;
    this.toggle.hidden = true;
    this.panel.hidden = true;
    this.toggle.setAttribute("aria-expanded", "false");
  }
}

const CHOICES = { stop: "stopped", resume: "resumed", signup: "signed up for" };

// "Marketing messages: stopped (date). User requested to stop marketing messages".
export function preferenceText(preference) {
  const category = String(preference.category || "marketing_messages").replace(/_/g, " ");
  const choice = CHOICES[preference.value] || String(preference.value || "");
  const when = preference.at ? ` on ${fullTime(preference.at)}` : "";
  const detail = preference.detail ? `: ${preference.detail}` : "";
  return `Customer ${choice} ${category}${when}${detail}`;
}

const SOURCES = { keyword: "wrote", user_preferences: "told WhatsApp", meta: "WhatsApp answered", admin: "set by" };

// "Opted out of marketing: wrote STOP on (date)". Campaigns of marketing templates skip them.
export function optOutText(optOut) {
  const how = SOURCES[optOut.source] || optOut.source || "";
  const detail = optOut.detail ? ` ${optOut.detail}` : "";
  const when = optOut.at ? ` on ${fullTime(optOut.at)}` : "";
  return `Opted out of marketing: ${how}${detail}${when}`;
}

// The customer-list row of the open chat (name and attributes from the sheet or CSV),
// behind a "Customer details" button in the thread header.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { fullTime } from "./format.js";

export class CustomerPanel {
  constructor() {
    this.toggle = $("#customer-toggle");
    this.panel = $("#customer-panel");
    this.list = $("#customer-attributes");
    this.source = $("#customer-source");
    this.phone = null;
    this.toggle.addEventListener("click", () => {
      const open = this.panel.hidden;
      this.panel.hidden = !open;
      this.toggle.setAttribute("aria-expanded", String(open));
    });
  }

  async show(phone) {
    this.phone = phone;
    let customer = null;
    try {
      customer = (await api(`/api/customers/${encodeURIComponent(phone)}`)).customer;
    } catch {
      customer = null; // not on the customer list (404), or unreachable: nothing to show
    }
    if (phone !== this.phone) return;
    const attributes = Object.entries((customer && customer.attributes) || {})
      .filter(([, value]) => value !== null && value !== undefined && value !== "");
    this.toggle.hidden = !customer;
    if (!customer) {
      this.panel.hidden = true;
      this.toggle.setAttribute("aria-expanded", "false");
      return;
    }
    this.list.replaceChildren(...attributes.flatMap(([key, value]) => [
      h("dt", { class: "font-medium text-slate-600", text: key }),
      h("dd", { class: "min-w-0 break-words text-slate-900", text: typeof value === "string" ? value : JSON.stringify(value) }),
    ]));
    if (!attributes.length) this.list.append(h("dt", { class: "text-slate-500", text: "No other details on the customer list." }));
    this.source.textContent = [customer.source ? `From ${customer.source}` : "", customer.updated_at ? `updated ${fullTime(customer.updated_at)}` : ""]
      .filter(Boolean).join(", ");
  }

  clear() {
    this.phone = null;
    this.toggle.hidden = true;
    this.panel.hidden = true;
    this.toggle.setAttribute("aria-expanded", "false");
  }
}

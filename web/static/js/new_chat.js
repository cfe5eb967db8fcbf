// "New conversation": a number (normalised and checked by the server with the default
// country code before anything is sent: GET /api/numbers) or a customer chosen from the
// contact list (GET /api/customers?q=), then the thread with the template picker: a
// number with a chat opens it, a new number offers the templates that can start one.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { showPhone } from "./format.js";

const NUMBER_LIKE = /^[\d\s+()./-]+$/;

export class NewChat {
  constructor({ opener, open }) {
    this.open = open; // open(key): show that chat (or number) in the inbox
    this.dialog = $("#new-chat-dialog");
    this.form = $("#new-chat-form");
    this.input = $("#new-chat-number");
    this.matches = $("#new-chat-matches");
    this.error = $("#new-chat-error");
    this.asked = 0;
    opener.addEventListener("click", () => this.show());
    this.input.addEventListener("input", () => this.suggest());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
  }

  show() {
    this.input.value = "";
    this.matches.replaceChildren();
    this.error.textContent = "";
    this.dialog.showModal();
    this.input.focus();
  }

  async suggest() {
    const q = this.input.value.trim();
    const mine = ++this.asked;
    if (q.length < 2) {
      this.matches.replaceChildren();
      return;
    }
    try {
      const answer = await api(`/api/customers?${new URLSearchParams({ q, limit: "8" })}`);
      if (mine !== this.asked) return;
      this.matches.replaceChildren(...(answer.customers || []).map((contact) => h("li", {},
        h("button", {
          type: "button", class: "new-chat-match flex w-full items-baseline gap-2 px-2 py-1.5 text-left hover:bg-slate-50 focus:bg-slate-50 focus:outline-none",
          onclick: () => this.choose(contact.chat || !contact.phone ? contact.key : contact.phone),
        }, h("span", { class: "font-medium", text: contact.name }),
        h("span", { class: "text-xs text-slate-500", text: contact.phone ? showPhone(contact.phone) : contact.username ? `@${contact.username}` : contact.key })))));
    } catch {
      if (mine === this.asked) this.matches.replaceChildren();
    }
  }

  choose(key) {
    this.dialog.close();
    this.open(key);
  }

  // A typed number: the server's normalised form, or why it is not one.
  async start() {
    const typed = this.input.value.trim();
    this.error.textContent = "";
    if (!NUMBER_LIKE.test(typed)) {
      const first = $(".new-chat-match", this.matches);
      if (first) first.click();
      else this.error.textContent = "No customer by that name: type their number instead.";
      return;
    }
    try {
      const answer = await api(`/api/numbers?${new URLSearchParams({ number: typed })}`);
      const contact = answer.contact;
      this.choose(contact && contact.chat ? contact.key : answer.phone);
    } catch (error) {
      this.error.textContent = error.message;
    }
  }
}

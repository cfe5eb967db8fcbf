// The stale-reply guard in the page: the server refused a reply (409
// conversation_changed) because the customer, or another agent, wrote in the chat
// since the agent last saw it. The new messages are listed above the composer, the
// draft stays, and the agent sends it anyway (force) or edits it.

import { $ } from "./dom.js";
import { summary } from "./format.js";

// One line per message the agent had not seen, as plain text.
export function changeText(message) {
  const body = message.text || summary(message);
  if (message.direction === "in") return `The customer wrote again: “${body}”`;
  const who = message.agent || "Someone on the team";
  if (message.direction === "note") return `${who} added a note meanwhile: “${body}”`;
  return `${who} replied meanwhile: “${body}”`;
}

export class StaleNotice {
  constructor({ root, onForce, onEdit }) {
    this.box = $("#stale-notice", root);
    this.list = $("#stale-list", root);
    this.phone = null;
    $("#stale-force", root).addEventListener("click", () => {
      const phone = this.phone;
      this.hide();
      if (phone) onForce(phone);
    });
    $("#stale-edit", root).addEventListener("click", () => {
      this.hide();
      onEdit();
    });
  }

  show(phone, messages) {
    this.phone = phone;
    this.list.replaceChildren(...messages.map((message) => {
      const li = document.createElement("li");
      li.textContent = changeText(message);
      return li;
    }));
    this.box.hidden = false;
  }

  hide() {
    this.phone = null;
    this.box.hidden = true;
    this.list.replaceChildren();
  }
}

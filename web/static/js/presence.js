// Presence: "Ana is viewing" / "Ana is typing" in the open thread, and a small avatar on
// the chat row, from the stream's `presence` events (not in the log: see ARCHITECTURE.md).
//
// This page says where its agent is: "viewing" when a chat opens and every RENEW_MS while
// it stays open, "typing" at most every TYPING_MS while they type in the composer, "left"
// when they leave the chat or close the tab. A signal the page stops renewing lapses on
// the server by itself (CRM_PRESENCE_TTL), which is how a crashed tab disappears.

import { csrfToken } from "./api.js";
import { $ } from "./dom.js";
import { initials } from "./format.js";

const RENEW_MS = 4000;
const TYPING_MS = 2000;
const TYPING_SHOWN_MS = 4000; // "is typing" falls back to "is viewing" after this

export class Presence {
  constructor({ me, list, composer, text }) {
    this.me = me;
    this.list = list;
    this.phone = null;
    this.renewTimer = null;
    this.lastTyping = 0;
    // phone -> Map(agent -> {state, at, expires})
    this.present = new Map();
    this.line = document.createElement("p");
    this.line.id = "presence";
    this.line.setAttribute("role", "status");
    this.line.setAttribute("aria-live", "polite");
    this.line.className = "presence px-4 py-1 text-xs italic text-slate-600";
    this.line.hidden = true;
    composer.before(this.line);
    text.addEventListener("input", () => this.typed());
    new MutationObserver(() => this.drawRows()).observe(list, { childList: true, subtree: true });
    window.addEventListener("pagehide", () => this.leave(true));
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.phone) this.send("viewing");
    });
    setInterval(() => this.lapse(), 1000);
  }

  // The page opened a chat (null: none).
  open(phone) {
    if (phone === this.phone) return;
    this.leave(false);
    this.phone = phone;
    this.lastTyping = 0;
    this.draw();
    if (!phone) return;
    this.send("viewing");
    this.renewTimer = setInterval(() => this.send("viewing"), RENEW_MS);
  }

  leave(closing) {
    clearInterval(this.renewTimer);
    this.renewTimer = null;
    if (this.phone) this.send("left", closing);
    this.phone = null;
  }

  typed() {
    if (!this.phone) return;
    const now = Date.now();
    if (now - this.lastTyping < TYPING_MS) return;
    this.lastTyping = now;
    this.send("typing");
  }

  send(state, closing = false) {
    const body = JSON.stringify({ phone: this.phone, state });
    // keepalive: the request outlives a closing tab.
    fetch("/api/presence", {
      method: "POST", body, keepalive: closing, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    }).catch(() => {});
  }

  // A `presence` event from the stream.
  receive(data) {
    if (!data || typeof data.phone !== "string" || typeof data.agent !== "string") return;
    if (data.agent === this.me) return;
    let here = this.present.get(data.phone);
    if (data.state === "left") {
      if (here) here.delete(data.agent);
      if (here && !here.size) this.present.delete(data.phone);
    } else {
      if (!here) this.present.set(data.phone, (here = new Map()));
      const expires = Number(data.expires) * 1000 || Date.now() + 10000;
      const before = here.get(data.agent);
      here.set(data.agent, {
        state: data.state, expires,
        typedAt: data.state === "typing" ? Date.now() : (before ? before.typedAt : 0),
      });
    }
    this.draw();
    this.drawRows();
  }

  // Drop what lapsed here too (a "left" can be lost with a connection).
  lapse() {
    const now = Date.now();
    let changed = false;
    for (const [phone, here] of this.present) {
      for (const [agent, seen] of here) {
        if (seen.expires + 2000 < now) {
          here.delete(agent);
          changed = true;
        }
      }
      if (!here.size) this.present.delete(phone);
    }
    if (changed) this.drawRows();
    this.draw();
  }

  who(phone) {
    const here = this.present.get(phone);
    if (!here) return [];
    const now = Date.now();
    return [...here].map(([agent, seen]) => ({
      agent, typing: seen.typedAt && now - seen.typedAt < TYPING_SHOWN_MS,
    })).sort((a, b) => a.agent.localeCompare(b.agent));
  }

  draw() {
    const people = this.phone ? this.who(this.phone) : [];
    const typing = people.filter((p) => p.typing).map((p) => p.agent);
    const viewing = people.filter((p) => !p.typing).map((p) => p.agent);
    const parts = [];
    if (typing.length) parts.push(`${joined(typing)} ${typing.length > 1 ? "are" : "is"} typing…`);
    if (viewing.length) parts.push(`${joined(viewing)} ${viewing.length > 1 ? "are" : "is"} viewing`);
    const text = parts.join(" · ");
    if (this.line.textContent !== text) this.line.textContent = text;
    this.line.hidden = !text;
  }

  drawRows() {
    for (const li of this.list.querySelectorAll("li[data-phone]")) {
      const people = this.who(li.dataset.phone).map((p) => p.agent);
      const want = people.join(",");
      let badge = li.querySelector(".presence-avatars");
      if ((badge ? badge.dataset.who : "") === want) continue;
      if (!want) {
        badge.remove();
        continue;
      }
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "presence-avatars flex shrink-0 items-center gap-1";
        const link = li.querySelector("a") || li;
        link.append(badge);
      }
      badge.dataset.who = want;
      badge.title = `${joined(people)} ${people.length > 1 ? "are" : "is"} here`;
      badge.replaceChildren(...people.slice(0, 3).map((agent) => {
        const dot = document.createElement("span");
        dot.className = "flex size-5 items-center justify-center rounded-full bg-sky-100 text-[10px] font-semibold text-sky-800";
        dot.textContent = initials(agent);
        dot.setAttribute("aria-label", `${agent} is here`);
        return dot;
      }));
    }
  }
}

function joined(names) {
  if (names.length <= 2) return names.join(" and ");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

export function startPresence(stream) {
  const app = $("#app");
  const presence = new Presence({
    me: app.dataset.agent, list: $("#chat-list"), composer: $("#composer"), text: $("#text"),
  });
  stream.listen("presence", (data) => presence.receive(data));
  return presence;
}

// Notifications in the page: the count in the tab title and on the favicon, a desktop
// notification (only once the agent allowed it with the header's button, never asked on
// load) and an optional beep, all updated live from the stream.
//
// The server decides who is notified (GET /api/notifications: assigned to me, mentioned,
// a customer writing in my chat or an unassigned one); the stream's events only say
// "look again". The count is what still needs the agent: unread assignments and mentions,
// plus customer messages that arrived while the tab was in the background (seeing the
// inbox again clears those; opening a chat marks its notifications read, as an event).

import { api } from "./api.js";
import { $ } from "./dom.js";

const WATCHED = ["message.received", "chat.assigned", "note.added", "notifications.read"];
const SOUND_KEY = "crm.notify.sound";
const WHAT = {
  assigned: (n) => `${who(n.actor)} assigned you a chat`,
  mention: (n) => `${who(n.actor)} mentioned you`,
  message: () => "New message",
};

function who(actor) {
  return typeof actor === "string" && actor.startsWith("agent:") ? actor.slice(6) : "Someone";
}

export class Notifier {
  constructor({ header, baseTitle }) {
    this.baseTitle = baseTitle;
    this.known = null; // ids already seen (null until the first load)
    this.items = [];
    this.fresh = new Set(); // message notifications that arrived while the tab was hidden
    this.open = null; // the chat on screen
    this.timer = null;
    this.loading = null;
    this.again = false;
    this.audio = null;
    this.icon = document.querySelector('link[rel="icon"]');
    this.iconHref = this.icon ? this.icon.getAttribute("href") : null;
    this.iconImage = null;
    this.buildControls(header);
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) return;
      this.fresh.clear();
      this.markOpenRead();
      this.show();
    });
  }

  buildControls(header) {
    const box = document.createElement("span");
    box.className = "flex items-center gap-2";
    this.countButton = button("notify-count", "", () => this.markAllRead());
    this.countButton.hidden = true;
    this.soundButton = button("notify-sound", "", () => this.toggleSound());
    box.append(this.countButton, this.soundButton);
    if ("Notification" in window && Notification.permission === "default") {
      this.enableButton = button("notify-enable", "Enable notifications", () => this.askPermission());
      box.append(this.enableButton);
    }
    header.prepend(box);
    this.drawSound();
  }

  async askPermission() {
    try {
      await Notification.requestPermission();
    } finally {
      if (this.enableButton && Notification.permission !== "default") this.enableButton.hidden = true;
    }
  }

  soundOn() {
    try {
      return localStorage.getItem(SOUND_KEY) === "on";
    } catch {
      return false;
    }
  }

  toggleSound() {
    const on = !this.soundOn();
    try {
      localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch {
      // private mode: the choice lasts for this page only
    }
    this.drawSound();
    if (on) this.beep(); // a click is what lets the page play sound at all
  }

  drawSound() {
    const on = this.soundOn();
    this.soundButton.textContent = on ? "Sound on" : "Sound off";
    this.soundButton.setAttribute("aria-pressed", on ? "true" : "false");
  }

  // A tiny generated beep: no file to download.
  beep() {
    try {
      this.audio = this.audio || new (window.AudioContext || window.webkitAudioContext)();
      const ctx = this.audio;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
    } catch {
      // no audio here
    }
  }

  // The chat on screen changed (null: none).
  opened(phone) {
    this.open = phone;
    this.markOpenRead();
  }

  // A stream event that may have made a notification: look again, soon and once.
  poke() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 150);
  }

  async load() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        try {
          this.update(await api("/api/notifications?limit=100"));
        } catch (error) {
          console.warn("could not load notifications", error);
        }
      } while (this.again);
      this.loading = null;
    })();
    return this.loading;
  }

  update(answer) {
    const items = (answer && answer.notifications) || [];
    const first = this.known === null;
    this.known = this.known || new Set();
    const arrived = items.filter((n) => !this.known.has(n.id) && !n.read);
    for (const n of items) this.known.add(n.id);
    this.items = items;
    if (!first) {
      for (const n of arrived) {
        if (n.kind === "message" && document.hidden) this.fresh.add(n.id);
        this.announce(n);
      }
    }
    for (const id of this.fresh) {
      const n = items.find((item) => item.id === id);
      if (!n || n.read) this.fresh.delete(id);
    }
    this.markOpenRead();
    this.show();
  }

  announce(n) {
    const looking = !document.hidden && n.phone === this.open;
    if (looking) return;
    if (this.soundOn()) this.beep();
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const title = (WHAT[n.kind] || WHAT.message)(n);
    const options = { body: n.text || n.phone || "", tag: `crm-${n.id}`, data: { phone: n.phone || null } };
    this.showThroughWorker(title, options).then((shown) => {
      if (!shown) this.showInPage(title, options);
    });
  }

  // Through the service worker when there is one: an installed app on Android may show
  // notifications only that way (sw.js opens the chat when one is tapped).
  async showThroughWorker(title, options) {
    try {
      const registration = "serviceWorker" in navigator && navigator.serviceWorker.controller
        ? await navigator.serviceWorker.getRegistration() : null;
      if (!registration || !registration.active) return false;
      await registration.showNotification(title, { ...options, icon: "/static/img/icon-192.png" });
      return true;
    } catch {
      return false;
    }
  }

  showInPage(title, options) {
    try {
      const shown = new Notification(title, options);
      shown.onclick = () => {
        window.focus();
        openChat(options.data.phone);
        shown.close();
      };
    } catch {
      // no way to show one here
    }
  }

  count() {
    const waiting = this.items.filter((n) => !n.read && n.kind !== "message").length;
    return waiting + this.fresh.size;
  }

  async markOpenRead() {
    if (!this.open || document.hidden) return;
    const ids = this.items.filter((n) => !n.read && n.phone === this.open).map((n) => n.id);
    if (!ids.length) return;
    for (const n of this.items) if (ids.includes(n.id)) n.read = true;
    for (const id of ids) this.fresh.delete(id);
    this.show();
    try {
      await api("/api/notifications/read", { method: "POST", json: { ids } });
    } catch (error) {
      console.warn("could not mark notifications read", error);
    }
  }

  async markAllRead() {
    const upto = Math.max(0, ...this.items.map((n) => n.id));
    if (!upto) return;
    for (const n of this.items) n.read = true;
    this.fresh.clear();
    this.show();
    try {
      this.update(await api("/api/notifications/read", { method: "POST", json: { upto } }));
    } catch (error) {
      console.warn("could not mark notifications read", error);
    }
  }

  show() {
    const n = this.count();
    const title = n ? `(${n}) ${this.baseTitle}` : this.baseTitle;
    if (document.title !== title) document.title = title;
    this.countButton.hidden = !n;
    this.countButton.textContent = `${n} new`;
    this.countButton.title = "Mark every notification read";
    this.drawIcon(n);
  }

  // The favicon with the count on it, drawn on a canvas.
  drawIcon(n) {
    if (!this.icon) return;
    if (!n) {
      if (this.iconHref && this.icon.getAttribute("href") !== this.iconHref) this.icon.href = this.iconHref;
      return;
    }
    const draw = () => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 64;
      const ctx = canvas.getContext("2d");
      if (!ctx) return;
      if (this.iconImage && this.iconImage.complete && this.iconImage.naturalWidth) {
        ctx.drawImage(this.iconImage, 0, 0, 64, 64);
      } else {
        ctx.fillStyle = "#065f46";
        ctx.beginPath();
        ctx.arc(32, 32, 30, 0, Math.PI * 2);
        ctx.fill();
      }
      ctx.fillStyle = "#dc2626";
      ctx.beginPath();
      ctx.arc(44, 20, 20, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = "#ffffff";
      ctx.font = "bold 26px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(n > 99 ? "99" : String(n), 44, 21);
      this.icon.type = "image/png";
      this.icon.href = canvas.toDataURL("image/png");
      this.icon.dataset.count = String(n);
    };
    if (!this.iconImage && this.iconHref) {
      this.iconImage = new Image();
      this.iconImage.onload = () => this.show();
      this.iconImage.src = this.iconHref;
    }
    draw();
  }
}

function openChat(phone) {
  if (phone) location.hash = `#/chat/${encodeURIComponent(phone)}`;
}

// A notification the service worker showed was tapped: it asks this page to open the chat.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "crm:open-chat") openChat(event.data.phone);
  });
}

function button(id, text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.id = id;
  b.textContent = text;
  b.className = "whitespace-nowrap rounded-md bg-emerald-900/40 px-3 py-1 hover:bg-emerald-900 focus:ring-2 focus:ring-white focus:outline-none";
  b.addEventListener("click", onClick);
  return b;
}

export function startNotifications(stream, baseTitle) {
  const header = document.querySelector("header .ml-auto") || $("header");
  const notifier = new Notifier({ header, baseTitle });
  for (const type of WATCHED) stream.listen(type, () => notifier.poke());
  notifier.load();
  return notifier;
}

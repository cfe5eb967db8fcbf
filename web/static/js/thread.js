// The open conversation: the newest page of messages first, older pages as the agent
// scrolls up, and kept current from the stream (a new message, a tick, a reaction):
// the row a frame carries, or the newest page fetched again for a frame without one,
// merged in place by message id.
// Opened at a search result instead, it shows the page around that message, marked,
// with older pages above and newer ones below as the agent scrolls; the newest page is
// merged again only once the newer pages reach it.

import { api, Coalescer } from "./api.js";
import { renderMessage } from "./bubble.js";
import { dayLabel, parseTime, summary } from "./format.js";

const PAGE = 50;
const NEAR_BOTTOM = 120;

export class Thread {
  constructor({ list, scroll, more, newerMark, status, announce, onReply, onRetry, onEnlarge }) {
    this.list = list;
    // A polite live region: a new customer message in the open chat is read out once;
    // ticks, reactions and re-renders are not (the list itself is not live).
    this.announcer = announce || null;
    this.scroll = scroll;
    this.status = status;
    this.phone = null;
    this.chatName = "";
    this.messages = new Map(); // id -> {message, el, key}
    this.older = null; // cursor of the next older page
    this.newer = null; // cursor of the next newer page (opened around a message)
    this.loadingNewer = false;
    this.loadingOlder = false;
    this.ready = false;
    this.stick = true;
    this.generation = 0;
    this.ctx = {
      lookup: (id) => (this.messages.get(id) || {}).message || null,
      onReply, onRetry, onEnlarge,
      onJump: (id) => this.jump(id),
      onMediaLoaded: () => { if (this.stick) this.toBottom(); },
      chatName: "",
      onTemplates: () => this.rerenderTemplates(),
    };
    this.refresher = new Coalescer(() => this.fetchNewest());
    scroll.addEventListener("scroll", () => { this.stick = this.nearBottom(); }, { passive: true });
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: scroll, rootMargin: "300px" }).observe(more);
    if (newerMark) {
      new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) this.loadNewer();
      }, { root: scroll, rootMargin: "300px" }).observe(newerMark);
    }
  }

  nearBottom() {
    return this.scroll.scrollHeight - this.scroll.scrollTop - this.scroll.clientHeight < NEAR_BOTTOM;
  }

  toBottom() {
    this.scroll.scrollTop = this.scroll.scrollHeight;
  }

  async open(phone, name, { around = null } = {}) {
    this.generation += 1;
    this.phone = phone;
    this.setName(name);
    this.messages.clear();
    this.list.replaceChildren();
    this.older = null;
    this.newer = null;
    this.ready = false;
    this.stick = true;
    this.showStatus("Loading messages…");
    if (around && await this.openAround(around)) return;
    await this.refresher.run(phone);
  }

  // The page around a message a search found; false when the thread has no such
  // message (then the newest page is shown as usual).
  async openAround(id) {
    const generation = this.generation;
    let page;
    try {
      page = await api(`/api/messages?${new URLSearchParams({ phone: this.phone, around: id, limit: String(PAGE) })}`);
    } catch (error) {
      if (error.status === 404) return false;
      if (generation === this.generation) this.showStatus(`Could not load messages: ${error.message}`, { error: true });
      throw error;
    }
    if (generation !== this.generation) return true;
    this.merge(page.messages);
    this.older = page.next;
    this.newer = page.newer;
    this.ready = true;
    this.settled();
    this.stick = false;
    this.mark(id);
    return true;
  }

  // The message a search opened the thread at: in view and marked.
  mark(id) {
    const entry = this.messages.get(id);
    if (!entry) return;
    for (const el of this.list.querySelectorAll('[data-search-hit="true"]')) delete el.dataset.searchHit;
    entry.el.dataset.searchHit = "true";
    entry.el.scrollIntoView({ block: "center" });
    const bubble = entry.el.querySelector(".bubble");
    if (bubble) bubble.classList.add("ring-2", "ring-amber-400");
  }

  async loadNewer() {
    if (!this.ready || !this.newer || this.loadingNewer || !this.phone) return;
    this.loadingNewer = true;
    const generation = this.generation;
    try {
      const params = new URLSearchParams({ phone: this.phone, limit: String(PAGE), after: this.newer });
      const page = await api(`/api/messages?${params}`);
      if (generation !== this.generation) return;
      const fragment = document.createDocumentFragment();
      for (const message of page.messages) {
        if (!this.messages.has(message.id)) fragment.append(this.make(message));
      }
      this.list.append(fragment);
      this.relabel();
      this.newer = page.newer;
      // Caught up with the newest page: from now on it is merged as usual.
      if (!this.newer) this.refresher.run(this.phone);
    } catch (error) {
      if (generation === this.generation) this.showStatus(`Could not load later messages: ${error.message}`, { error: true });
    } finally {
      if (generation === this.generation) this.loadingNewer = false;
    }
  }

  // A number with no conversation yet: nothing to load until a template starts one.
  openEmpty(phone, name, note) {
    this.close();
    this.phone = phone;
    this.setName(name);
    this.ready = false;
    this.showStatus(note);
  }

  close() {
    this.generation += 1;
    this.phone = null;
    this.messages.clear();
    this.list.replaceChildren();
    this.showStatus("");
  }

  // The line above the thread. An error stays until a later load of this thread works.
  showStatus(text, { error = false } = {}) {
    this.status.textContent = text;
    this.status.dataset.error = error ? "true" : "";
  }

  // The line a loaded thread shows when nothing is going on.
  settled() {
    this.showStatus(this.older ? "" : this.messages.size ? "Start of the conversation" : "No messages yet.");
  }

  setName(name) {
    this.chatName = name || "the customer";
    this.ctx.chatName = this.chatName;
  }

  refresh() {
    if (this.phone) return this.refresher.run(this.phone);
    return Promise.resolve();
  }

  async fetchNewest() {
    const generation = this.generation;
    const phone = this.phone;
    if (!phone) return;
    let page;
    try {
      page = await api(`/api/messages?${new URLSearchParams({ phone, limit: String(PAGE) })}`);
    } catch (error) {
      if (generation === this.generation) this.showStatus(`Could not load messages: ${error.message}`, { error: true });
      throw error;
    }
    if (generation !== this.generation) return;
    // Around a search result with newer pages still unloaded: the newest page is not
    // next to what is shown; it comes when the agent scrolls down to it.
    if (this.newer) return;
    const first = !this.ready;
    const stick = first || this.nearBottom();
    this.merge(page.messages);
    if (first) {
      this.older = page.next;
      this.ready = true;
      this.settled();
      this.toBottom();
    } else {
      if (this.status.dataset.error === "true") this.settled();
      if (stick) this.toBottom();
    }
  }

  async loadOlder() {
    if (!this.ready || !this.older || this.loadingOlder || !this.phone) return;
    this.loadingOlder = true;
    const generation = this.generation;
    this.showStatus("Loading earlier messages…");
    try {
      const params = new URLSearchParams({ phone: this.phone, limit: String(PAGE), before: this.older });
      const page = await api(`/api/messages?${params}`);
      if (generation !== this.generation) return;
      const fromBottom = this.scroll.scrollHeight - this.scroll.scrollTop;
      const fragment = document.createDocumentFragment();
      for (const message of page.messages) {
        if (this.messages.has(message.id)) continue;
        fragment.append(this.make(message));
      }
      this.list.prepend(fragment);
      this.relabel();
      this.scroll.scrollTop = this.scroll.scrollHeight - fromBottom;
      this.older = page.next;
      this.showStatus(page.next ? "" : "Start of the conversation");
    } catch (error) {
      if (generation === this.generation) this.showStatus(`Could not load earlier messages: ${error.message}`, { error: true });
    } finally {
      if (generation === this.generation) this.loadingOlder = false;
    }
  }

  make(message) {
    const el = renderMessage(message, this.ctx);
    this.messages.set(message.id, { message, el, key: JSON.stringify(message) });
    return el;
  }

  // A message we know about now (an answer to our own send, say): show it at once.
  // One the thread already has stays as it is: the stream's row for it is as new as
  // this answer or newer (a send that failed at once is "failed" before its answer
  // saying "queued" arrives).
  upsert(message, { scroll = false } = {}) {
    if (!this.phone || message.phone !== this.phone) return;
    if (this.messages.has(message.id)) {
      if (scroll) this.toBottom();
      return;
    }
    // Around a search result, newer pages unloaded: the agent's own message takes them
    // to the newest page, where it is.
    if (this.newer && !this.messages.has(message.id)) {
      this.open(this.phone, this.chatName);
      return;
    }
    this.merge([message], { appendNew: true });
    if (scroll) this.toBottom();
  }

  // A message (or note) row carried by a stream frame: merged in place, no request.
  // Before the first page is in, the page is fetched instead (it may predate the row).
  receive(message) {
    if (!this.phone || message.phone !== this.phone) return;
    if (!this.ready) {
      this.refresh();
      return;
    }
    // Around a search result, newer pages unloaded: a new message is not next to what
    // is shown; it comes with the newer pages (a change to a shown one is merged).
    if (this.newer && !this.messages.has(message.id)) return;
    const stick = this.nearBottom();
    this.merge([message], { appendNew: true });
    if (stick) this.toBottom();
  }

  // Page order is thread order: a new message goes right after the one before it in
  // the page, or before the first one after it, or at the end.
  merge(page, { appendNew = false } = {}) {
    let previous = null;
    let changed = false;
    page.forEach((message, index) => {
      const known = this.messages.get(message.id);
      if (known) {
        const key = JSON.stringify(message);
        if (key !== known.key) {
          const el = renderMessage(message, this.ctx);
          swap(known.el, el);
          Object.assign(known, { message, el, key });
          this.rerenderQuotesOf(message.id);
          changed = true;
        }
        previous = known.el;
        return;
      }
      const el = this.make(message);
      changed = true;
      if (this.ready && message.direction === "in") this.announce(message);
      if (previous) {
        previous.after(el);
      } else if (appendNew) {
        this.insertByTime(el, message);
      } else {
        const later = page.slice(index + 1).map((m) => this.messages.get(m.id)).find(Boolean);
        if (later && later.el.isConnected) later.el.before(el);
        else this.list.append(el);
      }
      previous = el;
    });
    if (changed) this.relabel();
  }

  insertByTime(el, message) {
    const at = (parseTime(message.timestamp) || new Date()).getTime();
    let anchor = this.list.lastElementChild;
    while (anchor && anchor !== el) {
      const other = this.messages.get(anchor.dataset.id);
      if (!other || (parseTime(other.message.timestamp) || new Date(0)).getTime() <= at) break;
      anchor = anchor.previousElementSibling;
    }
    if (anchor && anchor !== el) anchor.after(el);
    else if (!anchor) this.list.prepend(el);
  }

  // The templates arrived: show sent templates as the customer saw them.
  rerenderTemplates() {
    for (const entry of this.messages.values()) {
      if (entry.message.type !== "template" && !entry.message.template) continue;
      const el = renderMessage(entry.message, this.ctx);
      swap(entry.el, el);
      entry.el = el;
    }
    this.relabel();
  }

  rerenderQuotesOf(id) {
    for (const entry of this.messages.values()) {
      if (entry.message.reply_to === id) {
        const el = renderMessage(entry.message, this.ctx);
        swap(entry.el, el);
        entry.el = el;
      }
    }
  }

  announce(message) {
    if (!this.announcer) return;
    this.announcer.textContent = `New message from ${this.chatName}: ${summary(message)}`;
  }

  // Show the day above the first message of each day.
  relabel() {
    let last = "";
    for (const li of this.list.children) {
      const entry = this.messages.get(li.dataset.id);
      const label = li.querySelector(":scope > .day");
      if (!entry || !label) continue;
      const day = dayLabel(entry.message.timestamp);
      label.hidden = day === last;
      label.textContent = day;
      last = day;
    }
  }

  jump(id) {
    const entry = this.messages.get(id);
    if (!entry) return;
    entry.el.scrollIntoView({ block: "center", behavior: "smooth" });
    const bubble = entry.el.querySelector(".bubble");
    bubble.classList.remove("flash");
    void bubble.offsetWidth;
    bubble.classList.add("flash");
  }

  // The log position of the newest message or note on screen: the `seen` of a reply.
  newestPosition() {
    let newest = null;
    for (const entry of this.messages.values()) {
      const position = entry.message.position;
      if (Number.isInteger(position) && (newest === null || position > newest)) newest = position;
    }
    return newest;
  }

  lastInbound() {
    let found = null;
    for (const entry of this.messages.values()) if (entry.message.direction === "in") found = entry.message;
    return found;
  }
}

const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

// A bubble drawn again (a tick, a reaction) takes the place of the old one; if focus
// was in the old one, it moves to the same control in the new one instead of falling
// back to the page's body.
function swap(old, fresh) {
  const focused = document.activeElement;
  const inside = focused && focused !== document.body && old.contains(focused);
  const index = inside ? [...old.querySelectorAll(FOCUSABLE)].indexOf(focused) : -1;
  old.replaceWith(fresh);
  if (!inside) return;
  const again = index >= 0 ? fresh.querySelectorAll(FOCUSABLE)[index] : null;
  const target = again || fresh.querySelector(FOCUSABLE) || fresh;
  if (target === fresh && !fresh.hasAttribute("tabindex")) fresh.tabIndex = -1;
  target.focus({ preventScroll: true });
}

// The live stream: GET /api/stream as an EventSource that never leaves a gap.
//
// It starts after the log position the page was rendered at. When the connection drops
// the browser reconnects by itself with Last-Event-ID; when the server refuses the
// stream (restarting, signed out) the EventSource gives up, so we open a new one after
// the last position we saw, backing off. A status line says when we are not connected.

import { signInAgain } from "./api.js";

const GRACE_MS = 1500; // a reconnect quicker than this is not worth a banner
const MAX_BACKOFF_MS = 30000;

export class Stream {
  // types: the event types to listen for; onEvent(event) gets the parsed event JSON.
  constructor({ after, types, onEvent, indicator }) {
    this.last = Number(after) || 0;
    this.types = types;
    this.onEvent = onEvent;
    this.indicator = indicator;
    this.source = null;
    this.backoff = 1000;
    this.timer = null;
    this.bannerTimer = null;
    this.state = "connecting";
    this.listeners = []; // [type, handler(data)] for events outside `types` (presence)
  }

  // handler(parsed data) for every event of `type`, on this and every later connection.
  // It does not move the resume position: presence frames carry no id.
  listen(type, handler) {
    this.listeners.push([type, handler]);
    if (this.source) this.attach(this.source, type, handler);
    return this;
  }

  attach(source, type, handler) {
    source.addEventListener(type, (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      try {
        handler(data);
      } catch (error) {
        console.error("stream listener failed", error);
      }
    });
  }

  start() {
    this.open();
    window.addEventListener("online", () => {
      if (!this.source || this.source.readyState === EventSource.CLOSED) this.reopenNow();
    });
    return this;
  }

  open() {
    clearTimeout(this.timer);
    const source = new EventSource(`/api/stream?after=${this.last}`);
    this.source = source;
    source.addEventListener("open", () => {
      this.backoff = 1000;
      this.setState("open");
    });
    source.addEventListener("error", () => this.failed(source));
    for (const type of this.types) {
      source.addEventListener(type, (message) => this.receive(message));
    }
    for (const [type, handler] of this.listeners) this.attach(source, type, handler);
  }

  receive(message) {
    const position = Number(message.lastEventId);
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (Number.isFinite(position) && position > this.last) this.last = position;
    try {
      this.onEvent(event);
    } catch (error) {
      console.error("stream handler failed", error);
    }
  }

  failed(source) {
    if (source !== this.source) return;
    this.setState("lost");
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    source.close();
    this.timer = setTimeout(() => this.reopenChecked(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  // The server refused the stream: find out whether we are still signed in first.
  async reopenChecked() {
    try {
      const answer = await fetch("/api/me", { headers: { Accept: "application/json" } });
      if (answer.status === 401) {
        signInAgain();
        return;
      }
    } catch {
      // unreachable: try the stream again anyway, it reports the same
    }
    this.open();
  }

  reopenNow() {
    if (this.source) this.source.close();
    this.backoff = 1000;
    this.open();
  }

  setState(state) {
    this.state = state;
    document.documentElement.dataset.stream = state;
    clearTimeout(this.bannerTimer);
    if (!this.indicator) return;
    if (state === "open") {
      this.indicator.hidden = true;
    } else {
      this.bannerTimer = setTimeout(() => {
        if (this.state !== "open") this.indicator.hidden = false;
      }, GRACE_MS);
    }
  }
}

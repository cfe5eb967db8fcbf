// The server's clock, and the one tick every time-dependent display follows.
//
// The browser's clock may be minutes off; WhatsApp's 24-hour window is not. Every API
// answer carries a Date header: the page keeps the difference and reads "now" from it.
// A display that changes with time (the window in the header, the composer and the list,
// "Yesterday") registers with onTick and is redrawn on the same tick as the others.

let offset = 0; // server minus browser, in ms
let measured = false;
const listeners = new Set();
const TICK_MS = 1000;

export function now() {
  return Date.now() + offset;
}

export const today = () => new Date(now());

// A response's Date header has whole seconds: its middle is the best guess, and a
// difference under a second is jitter, not news (so displays do not flicker).
export function observe(response) {
  const header = response && response.headers && response.headers.get("Date");
  const server = header ? Date.parse(header) : NaN;
  if (!Number.isFinite(server)) return;
  const guess = server + 500 - Date.now();
  if (!measured || Math.abs(guess - offset) > 1000) {
    measured = true;
    offset = guess;
    tick();
  }
}

export function onTick(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function tick() {
  const at = now();
  for (const listener of listeners) {
    try {
      listener(at);
    } catch (error) {
      console.error("clock listener failed", error);
    }
  }
}

setInterval(tick, TICK_MS);

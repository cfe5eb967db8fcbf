// fetch() for the crm API: JSON in and out, the session's CSRF token on every change,
// errors as ApiError carrying the API's {"error": {"code", "message"}}. Every answer's
// Date header sets the page's clock (clock.js).

import { observe } from "./clock.js";

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message || `request failed (${status})`);
    this.status = status;
    this.code = code || "error";
    this.details = details; // the whole error object (a 409 conversation_changed: its messages)
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") || "" : "";
}

// A random key for Idempotency-Key (crypto.randomUUID needs a secure context).
export function randomKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function signInAgain() {
  const here = location.pathname + location.search + location.hash;
  location.assign(`/login?next=${encodeURIComponent(here)}`);
}

// api(path, {method, json, form, headers, signal}) -> parsed JSON (or null).
export async function api(path, options = {}) {
  const { method = "GET", json, form, headers = {}, signal } = options;
  const sent = { Accept: "application/json", ...headers };
  let body;
  if (method !== "GET" && method !== "HEAD") sent["X-CSRF-Token"] = csrfToken();
  if (json !== undefined) {
    body = JSON.stringify(json);
    sent["Content-Type"] = "application/json";
  } else if (form !== undefined) {
    body = form; // FormData: the browser sets the multipart boundary
  }
  let response;
  try {
    response = await fetch(path, { method, headers: sent, body, signal, credentials: "same-origin" });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "The server could not be reached. Check the connection and try again.");
  }
  observe(response);
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    if (response.status === 401) signInAgain();
    throw new ApiError(response.status, error.code, error.message, error);
  }
  return data;
}

// Runs `task(phone)` for a key at most once at a time; asks made while it runs are
// folded into one more run afterwards. Used to refetch a chat or a thread on events.
export class Coalescer {
  constructor(task) {
    this.task = task;
    this.running = new Map();
    this.again = new Set();
  }

  run(key) {
    if (this.running.has(key)) {
      this.again.add(key);
      return this.running.get(key);
    }
    const done = (async () => {
      try {
        do {
          this.again.delete(key);
          try {
            await this.task(key);
          } catch (error) {
            console.warn("refresh failed", key, error);
          }
        } while (this.again.has(key));
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, done);
    return done;
  }
}

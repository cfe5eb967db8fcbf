// Times, sizes, names and the one-line summary of a message, as plain strings. "Now" is
// the server's (clock.js), so every time shown agrees with WhatsApp's 24-hour window.

import { now as serverNow, today } from "./clock.js";

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const shortDate = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const fullDate = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function parseTime(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

// The one name of a day, for the list and the thread alike: "Today", "Yesterday", "Mon"
// within the week, "3 Nov" this year, else "3 Nov 2024".
export function dayName(iso, now = today()) {
  const date = parseTime(iso);
  if (!date) return "";
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const diff = Math.round((day(now) - day(date)) / 86400e3);
  if (diff === 0) return "Today";
  if (diff === 1) return "Yesterday";
  if (diff > 1 && diff < 7) return weekday.format(date);
  return date.getFullYear() === now.getFullYear() ? shortDate.format(date) : fullDate.format(date);
}

// The list's time of a chat: the time of day today, else the day's name.
export function listTime(iso, now = today()) {
  const name = dayName(iso, now);
  return name === "Today" ? clock.format(parseTime(iso)) : name;
}

export const timeOfDay = (iso) => {
  const date = parseTime(iso);
  return date ? clock.format(date) : "";
};

export const fullTime = (iso) => {
  const date = parseTime(iso);
  return date ? full.format(date) : "";
};

export const dayLabel = (iso, now = today()) => dayName(iso, now);

export function fileSize(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

// A chat key is the customer's wa_id (digits) or a business-scoped user id.
export const showPhone = (phone) => (/^\d{6,}$/.test(phone || "") ? `+${phone}` : phone || "");

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0] || "");
  return (letters.join("") || "?").toUpperCase();
}

// Icon and label for each kind of message: the icon is decoration, the label is read out.
export const KINDS = {
  image: ["📷", "Photo"],
  video: ["🎥", "Video"],
  audio: ["🎵", "Audio"],
  voice: ["🎤", "Voice message"],
  document: ["📄", "Document"],
  sticker: ["🏷️", "Sticker"],
  location: ["📍", "Location"],
  contacts: ["👤", "Contact"],
  interactive: ["🔘", "Reply"],
  button: ["🔘", "Button"],
  order: ["🛒", "Order"],
  template: ["📋", "Template"],
  system: ["ℹ️", "Notice"],
  reaction: ["❤️", "Reaction"],
  unsupported: ["⚠️", "Unsupported message"],
  unknown: ["⚠️", "Unsupported message"],
  request_welcome: ["👋", "Opened the chat"],
};

export function kindOf(message) {
  if (!message) return null;
  if (message.type === "audio" && message.media && message.media.voice) return "voice";
  if (message.template || message.type === "template") return "template";
  return message.type;
}

export function isWindowOpen(chat, now = serverNow()) {
  const closes = parseTime(chat && chat.window_expires_at);
  return Boolean(closes && closes.getTime() > now);
}

// The badge of the list: the time left, short ("23 h", "40 min"), or "" when closed.
export function windowLeft(chat, now = serverNow()) {
  const closes = parseTime(chat && chat.window_expires_at);
  if (!closes || closes.getTime() <= now) return "";
  const minutes = Math.ceil((closes.getTime() - now) / 60e3);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h` : `${minutes} min`;
}

export function windowText(chat, now = serverNow()) {
  const closes = parseTime(chat && chat.window_expires_at);
  if (!closes) return "24-hour window closed (the customer has not written)";
  if (closes.getTime() <= now) return `24-hour window closed since ${fullTime(chat.window_expires_at)}`;
  const hours = Math.floor((closes.getTime() - now) / 3600e3);
  const left = hours >= 1 ? `${hours} h left` : "less than an hour left";
  const sameDay = new Date(now).toDateString() === closes.toDateString();
  const when = sameDay ? timeOfDay(chat.window_expires_at) : `${weekday.format(closes)} ${timeOfDay(chat.window_expires_at)}`;
  return `24-hour window open until ${when} (${left})`;
}

// The words a preview line shows for a message (no icon).
export function summary(message) {
  if (!message) return "";
  if (message.revoked) return "This message was deleted";
  const edited = message.edited && message.edited.text;
  const text = edited || message.text || message.caption;
  if (text) return text;
  const kind = kindOf(message);
  if (kind === "template") {
    const name = (message.template && message.template.name) || "";
    return name ? `Template: ${name}` : "Template";
  }
  if (kind === "document" && message.media && message.media.filename) return message.media.filename;
  if (kind === "location" && message.location) {
    return message.location.name || message.location.address || "Location";
  }
  if (kind === "contacts" && Array.isArray(message.contacts) && message.contacts[0]) {
    const first = message.contacts[0].name || {};
    return first.formatted_name || first.first_name || "Contact";
  }
  return (KINDS[kind] || KINDS.unknown)[1];
}

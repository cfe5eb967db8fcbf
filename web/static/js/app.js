// The inbox page: wires the chat list, the thread, the composer and the live stream.
//
// The stream's frames carry their answer: an event that changes a chat comes with the
// chat row and the message row as the read API would return them, and the page applies
// them without a request. An event without them (an older server, CRM_STREAM_FRAMES=hints,
// a type the page does not know) is a hint: the page fetches that chat's row (and, when
// it is open, its newest messages) again. Either way a repeated or replayed event
// costs at most a request, never a wrong screen.

import { api, ApiError, randomKey } from "./api.js";
import { onTick } from "./clock.js";
import { Composer } from "./composer.js";
import { ChannelPanel } from "./channel.js";
import { CustomerPanel } from "./customer.js";
import { $ } from "./dom.js";
import { initials, showPhone, windowText } from "./format.js";
import { startNotifications } from "./notify.js";
import { startPresence } from "./presence.js";
import { MessageSearch } from "./search_results.js";
import { Sidebar } from "./sidebar.js";
import { Stream } from "./stream.js";
import { Thread } from "./thread.js";
import { ChatViews } from "./tabs.js";
import { Workflow } from "./workflow.js";
import { NoteComposer } from "./notes.js";
import { attachQuickReplies, QuickReplyManager } from "./quick_replies.js";
import { installInboxKeys } from "./inbox_keys.js";
import { NewChat } from "./new_chat.js";

const EVENT_TYPES = [
  "message.received", "message.status", "message.queued", "message.sent", "message.failed",
  "message.unknown", "message.retry", "chat.read", "customer.updated", "media.stored",
  "media.failed", "channel.health", "customer.linked", "message.echoed",
  "chat.status_changed", "chat.assigned", "chat.labels_changed", "note.added",
];
// Team changes that may bring a chat into the sidebar's view (or take it out).
const TEAM = new Set(["chat.status_changed", "chat.assigned", "chat.labels_changed"]);

const app = $("#app");
document.documentElement.classList.toggle("touch",
  navigator.maxTouchPoints > 0 || window.matchMedia("(hover: none)").matches);
const baseTitle = document.title;
let current = null; // the open chat's phone
let currentChat = null;
let openAt = null; // the message a search result opens the next chat at

const customer = new CustomerPanel();
const channelPanel = new ChannelPanel();
const lightbox = $("#lightbox");
const lightboxImage = $("#lightbox-image");
lightbox.addEventListener("click", (event) => {
  if (event.target === lightbox) lightbox.close();
});

const thread = new Thread({
  list: $("#messages"), scroll: $("#messages-scroll"), more: $("#messages-more"),
  newerMark: $("#messages-newer"),
  status: $("#messages-status"), announce: $("#thread-announce"),
  onReply: (message) => composer.replyTo(message),
  onRetry: (message, button) => retry(message, button),
  onEnlarge: (src, alt) => {
    lightboxImage.src = src;
    lightboxImage.alt = alt;
    lightbox.showModal();
  },
});

const composer = new Composer({
  root: $("#composer"), thread,
  onWindowClosed: (chat) => sidebar.refresh(chat.phone),
});

const sidebar = new Sidebar({
  list: $("#chat-list"), scroll: $("#chat-scroll"), more: $("#chat-more"),
  status: $("#chat-status"), search: $("#search"),
  onChat: (chat, asked) => {
    if (asked === current && chat.phone !== current) {
      // The open chat was merged into an older one of the same customer: follow it.
      location.hash = `#/chat/${encodeURIComponent(chat.phone)}`;
      return;
    }
    if (chat.phone !== current) return;
    // The chat now exists (a template started it): the thread loads it for real.
    const wasNew = !currentChat;
    showChat(chat);
    if (wasNew) thread.refresh();
  },
});

const me = app.dataset.agent;
// Below the chats matching by name or number: the messages, notes and customers found.
new MessageSearch({
  root: $("#search-results"), list: $("#search-list"), status: $("#search-status"),
  more: $("#search-more"), search: $("#search"),
  onOpen: (phone, id) => {
    if (phone !== current) {
      openAt = id;
      location.hash = `#/chat/${encodeURIComponent(phone)}`;
    } else if (id) {
      thread.open(phone, displayName(currentChat), { around: id });
    }
  },
});

const views = new ChatViews({ root: $("#team-filters"), me, onChange: () => sidebar.setView(views) });
sidebar.view = views;
const workflow = new Workflow({
  root: $("#team-bar"), me, admin: app.dataset.admin === "true",
  onChanged: (chat) => {
    sidebar.upsert(chat, { appear: true });
    if (chat.phone === current) currentChat = chat;
    views.changed();
  },
});
new NoteComposer({ root: $("#composer"), phone: () => current, onAdded: () => thread.refresh() });
attachQuickReplies({
  input: $("#text"), list: $("#suggest"), host: $("#composer"),
  context: () => ({
    name: currentChat && currentChat.name && currentChat.name !== currentChat.phone ? currentChat.name : "",
    phone: current ? showPhone(current) : "", agent: me,
  }),
});
new QuickReplyManager({ opener: $("#qr-manage") });
installInboxKeys({ sidebar, workflow, me, list: $("#chat-list") });
new NewChat({ opener: $("#new-chat"), open: (key) => { location.hash = `#/chat/${encodeURIComponent(key)}`; } });

function displayName(chat) {
  return chat.name && chat.name !== chat.phone ? chat.name : showPhone(chat.phone);
}

// A number WhatsApp could reach (a template may start a conversation with it).
const NEW_NUMBER = /^\d{8,15}$/;

// The header and the composer always show the same chat: everything here is set from
// one object, or reset together (null: nothing to send to).
function showHeader(phone, name, subline, username = null) {
  $("#thread-name").textContent = name;
  // The username, when the customer has one (text only: it is the customer's words).
  $("#thread-phone").textContent = username ? `@${username} · ${showPhone(phone)}` : showPhone(phone);
  $("#thread-window").textContent = subline;
  $("#thread-avatar").textContent = initials(name);
  thread.setName(name);
}

function showChat(chat) {
  currentChat = chat;
  showHeader(chat.phone, displayName(chat), windowText(chat), (chat.identifiers || {}).username);
  composer.setChat(chat);
  workflow.setChat(chat);
}

function showNoChat(phone, why) {
  currentChat = null;
  showHeader(phone, showPhone(phone), why);
  composer.setChat(null);
  workflow.setChat(null);
}

// One clock for every window display: header, composer and list change together.
onTick(() => {
  if (currentChat) $("#thread-window").textContent = windowText(currentChat);
  composer.updateWindow();
  sidebar.retime();
});

async function openChat(phone) {
  if (current === phone) return;
  current = phone;
  const around = openAt;
  openAt = null;
  customer.clear();
  app.dataset.view = "thread";
  sidebar.select(phone);
  $("#thread-empty").hidden = true;
  $("#thread-view").hidden = false;
  let chat = sidebar.chat(phone);
  if (!chat) {
    showNoChat(phone, "Loading…");
    thread.close();
    try {
      chat = (await api(`/api/chats/${encodeURIComponent(phone)}`)).chat;
    } catch (error) {
      if (current !== phone) return;
      if (error.status === 404 && NEW_NUMBER.test(phone)) {
        showNoChat(phone, "No conversation with this number yet");
        composer.setChat({ phone, name: null, window_expires_at: null, unread: 0, fresh: true });
        thread.openEmpty(phone, showPhone(phone), "No conversation yet: start one with a template below.");
        customer.show(phone);
      } else {
        showNoChat(phone, error.status === 404 ? "No conversation with this chat key" : error.message);
      }
      return;
    }
    if (current !== phone) return;
  }
  showChat(chat);
  presence.open(phone);
  notifier.opened(phone);
  customer.show(phone);
  const loaded = thread.open(phone, displayName(chat), { around });
  markRead(phone);
  if (window.matchMedia("(min-width: 768px)").matches || document.activeElement?.closest?.("#sidebar")) {
    composer.focus();
  }
  await loaded;
}

function closeChat() {
  presence.open(null);
  notifier.opened(null);
  current = null;
  currentChat = null;
  composer.setChat(null);
  app.dataset.view = "list";
  sidebar.select(null);
  customer.clear();
  thread.close();
  // Focus left in the hidden composer would take the next key (`/` to search, say)
  // until the browser's own focus fix-up, which runs later.
  if (document.activeElement && document.activeElement.closest("#thread-view")) document.activeElement.blur();
  $("#thread-view").hidden = true;
  $("#thread-empty").hidden = false;
}

// Unread goes to zero for every agent (the chat.read event tells the others).
function markRead(phone) {
  const chat = phone === current ? currentChat : sidebar.chat(phone);
  if (!chat || !chat.unread || document.hidden) return;
  sidebar.markRead(phone);
  currentChat = { ...chat, unread: 0 };
  api(`/api/chats/${encodeURIComponent(phone)}/read`, { method: "POST" }).catch((error) => {
    console.warn("could not mark the chat read", error);
  });
}

async function retry(message, button) {
  button.disabled = true;
  try {
    await api(`/api/messages/${encodeURIComponent(message.id)}/retry`, {
      method: "POST", headers: { "Idempotency-Key": randomKey() },
    });
    await thread.refresh();
  } catch (error) {
    button.disabled = false;
    button.title = error instanceof ApiError ? error.message : String(error);
    composer.showError(`Retry refused: ${button.title}`);
  }
}

function route() {
  const match = location.hash.match(/^#\/chat\/(.+)$/);
  if (match) {
    let phone;
    try {
      phone = decodeURIComponent(match[1]);
    } catch {
      phone = match[1];
    }
    openChat(phone);
  } else {
    closeChat();
  }
}

function phoneOf(event) {
  const data = event.data || {};
  if (typeof data.phone === "string" && data.phone) return data.phone;
  if (typeof event.stream === "string" && event.stream.startsWith("chat:")) return event.stream.slice(5);
  return null;
}

function showChannel(data) {
  const banner = $("#channel");
  if (data.ok) {
    banner.hidden = true;
    return;
  }
  const reason = [data.title, data.code ? `(code ${data.code})` : "", data.details].filter(Boolean).join(" ");
  banner.textContent = `WhatsApp is refusing our messages: ${reason || "account error"}. Replies stay queued or fail until an admin fixes the account.`;
  banner.hidden = false;
}

// Any identifier of the open chat's customer (an event may name them by another one).
function isCurrent(phone) {
  if (phone === current) return true;
  const known = (currentChat && currentChat.identifiers) || {};
  return Boolean(current) && Object.values(known).includes(phone);
}

function onEvent(event) {
  if (event.type === "channel.health") {
    showChannel(event.data || {});
    if (channelPanel.panel && channelPanel.panel.open) channelPanel.refresh();
    return;
  }
  let phone = phoneOf(event);
  if (!phone) return;
  if (isCurrent(phone)) phone = current;
  const moved = event.type === "message.received" || event.type === "message.queued";
  const appear = TEAM.has(event.type) || event.type === "message.received";
  if (appear || moved || event.type === "chat.read") views.changed();
  const wanted = { moved, appear, position: event.position };
  if (event.chat) {
    sidebar.apply(phone, event.chat, wanted);
    if (phone === current && event.type === "message.received") markRead(phone);
  } else {
    sidebar.refresh(phone, wanted).then(() => {
      if (phone === current && event.type === "message.received") markRead(phone);
    });
  }
  if (phone === current) {
    if (event.message) thread.receive(event.message);
    // No row: a hint, or a change of the whole thread (two chats became one).
    else if (!event.chat || event.type === "customer.linked") thread.refresh();
  }
  if (phone === current && event.type === "customer.updated") customer.show(phone);
  // The count in the title is the notifications' (notify.js).
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  if (current) markRead(current);
});

document.addEventListener("keydown", (event) => {
  const typing = event.target.closest("input, textarea, select, [contenteditable]");
  if (event.key === "/" && !typing) {
    event.preventDefault();
    $("#search").focus();
  } else if (event.key === "Escape" && current && !typing && !lightbox.open) {
    const row = document.querySelector(`#chat-list a[aria-current="true"]`);
    if (window.matchMedia("(max-width: 767px)").matches) location.hash = "";
    else if (row) row.focus();
  }
});

$("#thread-back").addEventListener("click", () => {
  location.hash = "";
});

const stream = new Stream({
  after: app.dataset.position, types: EVENT_TYPES, onEvent, indicator: $("#connection"),
});
const presence = startPresence(stream);
const notifier = startNotifications(stream, baseTitle);
window.addEventListener("hashchange", route);
sidebar.loadMore();
route();
stream.start();

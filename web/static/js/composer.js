// Writing to the customer: text (Enter sends, Shift+Enter is a new line), one image or
// document with a preview and an optional caption, a reply to a chosen message. When
// the 24-hour window is closed the text box gives way to the template picker.
//
// Each send carries an Idempotency-Key kept until it succeeds, so a retried click or a
// repeated request after a network error queues the message once, and the position
// of the newest message on screen (`seen`): a reply to a conversation that moved on
// meanwhile is refused and shown (stale.js) before the agent sends it anyway.

import { api, randomKey } from "./api.js";
import { $ } from "./dom.js";
import { fileSize, isWindowOpen, showPhone, summary, windowText } from "./format.js";
import { StaleNotice } from "./stale.js";
import { TemplatePicker } from "./templates.js";

// WhatsApp's size limits by kind (the server checks too).
const LIMITS = { image: 5, video: 16, audio: 16, document: 100 };
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/webp"]);

export function kindOfFile(file) {
  if (IMAGE_TYPES.has(file.type)) return "image";
  if (file.type.startsWith("video/")) return "video";
  if (file.type.startsWith("audio/")) return "audio";
  return "document";
}

export class Composer {
  constructor({ root, thread, onWindowClosed }) {
    this.root = root;
    this.thread = thread;
    this.onWindowClosed = onWindowClosed;
    this.chat = null; // the chat the header shows: the only one this composer sends to
    this.replyTarget = null;
    this.file = null;
    this.fileUrl = null;
    this.keys = new Map(); // phone -> Idempotency-Key of the send being tried
    this.inflight = new Set(); // phones with a send on its way
    this.drafts = new Map();
    this.errors = new Map(); // phone -> an error that came back after the agent left
    this.refused = new Map(); // phone -> the window_expires_at the server said was closed
    this.el = {
      form: $("#composer-form", root), text: $("#text", root), send: $("#send", root),
      attach: $("#attach", root), file: $("#file", root), error: $("#composer-error", root),
      replyBar: $("#reply-bar", root), replyWho: $("#reply-who", root), replyText: $("#reply-text", root),
      replyCancel: $("#reply-cancel", root), attachment: $("#attachment", root),
      image: $("#attachment-image", root), docIcon: $("#attachment-icon", root),
      name: $("#attachment-name", root), size: $("#attachment-size", root),
      remove: $("#attachment-remove", root), closed: $("#window-closed", root),
      closedNote: $("#window-closed-note", root),
    };
    this.stale = new StaleNotice({
      root,
      onForce: (phone) => { if (this.chat && this.chat.phone === phone) this.send({ force: true }); },
      onEdit: () => this.el.text.focus(),
    });
    this.templates = new TemplatePicker({
      root, send: (built) => this.sendTemplate(built), phone: () => (this.chat ? this.chat.phone : null),
    });
    const el = this.el;
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    el.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey) {
        event.preventDefault();
        this.send();
      } else if (event.key === "Escape") {
        if (this.replyTarget) this.cancelReply();
        else if (this.file) this.clearFile();
      }
    });
    el.text.addEventListener("input", () => {
      if (this.chat) this.keys.delete(this.chat.phone);
      this.autosize();
    });
    el.attach.addEventListener("click", () => el.file.click());
    // On a phone: the camera (the input's `capture`) beside the gallery and files.
    const camera = $("#camera", root);
    const cameraButton = $("#attach-camera", root);
    if (camera && cameraButton) cameraButton.addEventListener("click", () => camera.click());
    for (const input of [el.file, camera].filter(Boolean)) {
      input.addEventListener("change", () => {
        if (input.files && input.files[0]) this.setFile(input.files[0]);
        input.value = "";
      });
    }
    el.remove.addEventListener("click", () => this.clearFile());
    el.replyCancel.addEventListener("click", () => this.cancelReply());
    el.text.addEventListener("paste", (event) => {
      const item = [...(event.clipboardData ? event.clipboardData.files : [])][0];
      if (item) {
        event.preventDefault();
        this.setFile(item);
      }
    });
  }

  // A chat was opened (or its row changed), or none (null: the route names no chat):
  // keep the draft, follow its window. A chat {phone, fresh: true} is a number with no
  // conversation yet, which only a template can start.
  setChat(chat) {
    const phone = chat ? chat.phone : null;
    const switching = (this.chat ? this.chat.phone : null) !== phone;
    if (switching) {
      if (this.chat) this.drafts.set(this.chat.phone, this.el.text.value);
      this.el.text.value = (phone && this.drafts.get(phone)) || "";
      this.cancelReply();
      this.clearFile();
      this.stale.hide();
      this.showError((phone && this.errors.get(phone)) || "");
      if (phone) this.errors.delete(phone);
    }
    this.chat = chat;
    this.root.dataset.phone = phone || "";
    this.root.hidden = !chat;
    this.updateWindow();
    if (switching) this.autosize();
  }

  // Open by the server's clock, unless the server refused free text for this window.
  isOpen(chat = this.chat) {
    if (!chat || chat.fresh) return false;
    const refused = this.refused.get(chat.phone);
    if (refused !== undefined && refused === (chat.window_expires_at || null)) return false;
    return isWindowOpen(chat);
  }

  // Called on every clock tick (app.js) and whenever the chat changes.
  updateWindow() {
    const chat = this.chat;
    const open = this.isOpen();
    const state = !chat ? "none" : open ? "open" : "closed";
    this.el.send.disabled = !chat || this.inflight.has(chat.phone);
    if (this.root.dataset.window === state && this.shownFor === chat) return;
    this.root.dataset.window = state;
    this.shownFor = chat;
    this.el.form.hidden = !open;
    this.el.text.disabled = !open;
    this.el.closed.hidden = !chat || open;
    if (chat && !open) {
      this.cancelReply();
      this.clearFile();
      this.el.closedNote.textContent = chat.fresh
        ? `New conversation with ${showPhone(chat.phone)}: WhatsApp only lets a business start one with an approved template.`
        : `${windowText(chat)}. WhatsApp only lets you send an approved template until the customer writes again.`;
      this.templates.load();
    }
  }

  focus() {
    if (!this.chat) return;
    if (!this.el.form.hidden) this.el.text.focus();
    else this.templates.focus();
  }

  autosize() {
    const text = this.el.text;
    text.style.height = "auto";
    text.style.height = `${Math.min(text.scrollHeight, 160)}px`;
  }

  replyTo(message) {
    if (!this.chat || !this.isOpen() || message.phone !== this.chat.phone) return;
    this.replyTarget = message;
    this.el.replyWho.textContent = message.direction === "out" ? "your team" : this.thread.chatName;
    this.el.replyText.textContent = summary(message);
    this.el.replyBar.hidden = false;
    this.el.text.focus();
  }

  cancelReply() {
    this.replyTarget = null;
    this.el.replyBar.hidden = true;
  }

  setFile(file) {
    this.clearFile();
    const kind = kindOfFile(file);
    const limit = LIMITS[kind] * 1024 * 1024;
    if (file.size > limit) {
      this.showError(`${file.name} is ${fileSize(file.size)}: WhatsApp takes at most ${LIMITS[kind]} MB for ${kind === "document" ? "a document" : `an ${kind}`}.`);
      return;
    }
    this.file = file;
    if (this.chat) this.keys.delete(this.chat.phone);
    this.showError("");
    const el = this.el;
    el.name.textContent = file.name;
    el.size.textContent = `${fileSize(file.size)} · ${kind === "image" ? "image" : kind}`;
    if (kind === "image") {
      this.fileUrl = URL.createObjectURL(file);
      el.image.src = this.fileUrl;
      el.image.hidden = false;
      el.docIcon.toggleAttribute("hidden", true);
    } else {
      el.image.hidden = true;
      el.docIcon.toggleAttribute("hidden", false);
    }
    el.attachment.hidden = false;
    el.text.placeholder = "Add a caption (optional)";
    el.text.focus();
  }

  clearFile() {
    if (this.fileUrl) URL.revokeObjectURL(this.fileUrl);
    this.fileUrl = null;
    this.file = null;
    this.el.attachment.hidden = true;
    this.el.image.removeAttribute("src");
    this.el.text.placeholder = "Type a message";
  }

  showError(message) {
    this.el.error.textContent = message;
    this.el.error.classList.toggle("hidden", !message);
  }

  // `force`: the agent saw what changed and sends anyway.
  async send({ force = false } = {}) {
    const chat = this.chat; // fixed now: switching chats while this is sent changes nothing
    if (!chat || this.inflight.has(chat.phone)) return;
    if (!this.isOpen(chat)) {
      this.showError("The 24-hour window is closed: send a template instead.");
      this.updateWindow();
      return;
    }
    const text = this.el.text.value.trim();
    if (!text && !this.file) return;
    if (text.length > 4096 && !this.file) {
      this.showError(`The message is ${text.length} characters long; WhatsApp takes at most 4096.`);
      return;
    }
    const options = { method: "POST" };
    const seen = this.thread.phone === chat.phone ? this.thread.newestPosition() : null;
    if (this.file) {
      const form = new FormData();
      form.append("phone", chat.phone);
      form.append("file", this.file, this.file.name);
      if (text) form.append("caption", text);
      if (this.replyTarget) form.append("reply_to", this.replyTarget.id);
      if (seen !== null) form.append("seen", String(seen));
      if (force) form.append("force", "true");
      options.form = form;
    } else {
      options.json = { phone: chat.phone, text };
      if (this.replyTarget) options.json.reply_to = this.replyTarget.id;
      if (seen !== null) options.json.seen = seen;
      if (force) options.json.force = true;
    }
    const ok = await this.post(chat, options);
    if (!ok) return;
    this.drafts.delete(chat.phone);
    if (this.chat && this.chat.phone === chat.phone) {
      this.el.text.value = "";
      this.cancelReply();
      this.clearFile();
      this.autosize();
      this.el.text.focus();
    }
  }

  // {template, file?, mediaFrom?} from the picker: a media header's file goes with it.
  async sendTemplate({ template, file = null, mediaFrom = null }) {
    const chat = this.chat;
    if (!chat || this.inflight.has(chat.phone)) return false;
    if (file) {
      const form = new FormData();
      form.append("phone", chat.phone);
      form.append("template", JSON.stringify(template));
      form.append("file", file, file.name);
      return this.post(chat, { method: "POST", form });
    }
    const json = { phone: chat.phone, template };
    if (mediaFrom) json.header_media = { message_id: mediaFrom };
    return this.post(chat, { method: "POST", json });
  }

  // An error for `chat`: shown now if it is still open, else when the agent returns.
  errorFor(chat, message) {
    if (this.chat && this.chat.phone === chat.phone) this.showError(message);
    else this.errors.set(chat.phone, message);
  }

  async post(chat, options) {
    const phone = chat.phone;
    this.inflight.add(phone);
    this.updateWindow();
    const key = this.keys.get(phone) || randomKey();
    this.keys.set(phone, key);
    this.showError("");
    this.stale.hide();
    try {
      const answer = await api("/api/send", { ...options, headers: { "Idempotency-Key": key } });
      this.keys.delete(phone);
      if (answer && answer.message) this.thread.upsert(answer.message, { scroll: true });
      return true;
    } catch (error) {
      if (error.code === "window_closed") {
        // The server's word is final: templates only, until the customer writes again.
        this.refused.set(phone, chat.window_expires_at || null);
        this.errorFor(chat, "The 24-hour window has closed: WhatsApp only accepts a template now.");
        this.updateWindow();
        this.onWindowClosed(chat);
      } else if (error.code === "conversation_changed") {
        // The draft stays; the thread catches up and the notice says what changed.
        this.thread.refresh();
        if (this.chat && this.chat.phone === phone) this.stale.show(phone, error.details.messages || []);
        else this.errors.set(phone, "Not sent: the conversation changed meanwhile. Read it, then send again.");
      } else {
        this.errorFor(chat, `Not sent: ${error.message}`);
      }
      if (error.status >= 400 && error.status < 500) this.keys.delete(phone); // refused: a new try is a new request
      return false;
    } finally {
      this.inflight.delete(phone);
      this.updateWindow();
    }
  }
}

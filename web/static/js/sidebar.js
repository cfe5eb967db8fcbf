// The chat list: newest activity first, 50 at a time as the agent scrolls, searchable,
// and kept current from the stream (a chat with news moves to the top).
//
// Rows remember the log position of the last event that moved them; rows loaded from
// the API have none (0) and are older than anything the stream brings, so a moved row
// goes just above the first row with a smaller position, whatever order the refetches
// finish in.

import { api, Coalescer } from "./api.js";
import { h, srOnly } from "./dom.js";
import { isWindowOpen, KINDS, kindOf, listTime, showPhone, summary, windowLeft, windowText, initials } from "./format.js";
import { icon, hasIcon } from "./icons.js";
import { teamMarks, teamStamp } from "./row_team.js";
import { tick } from "./ticks.js";

const PAGE = 50;

export class Sidebar {
  constructor({ list, scroll, more, status, search, onChat }) {
    this.list = list;
    this.scroll = scroll;
    this.status = status;
    this.search = search;
    this.onChat = onChat || (() => {});
    this.rows = new Map(); // phone -> {el, chat, pos}
    this.query = "";
    // The team view (tabs.js): {params, matches(chat)}; null lists every chat.
    this.view = null;
    this.next = null;
    this.done = false;
    this.loading = false;
    this.generation = 0;
    this.selected = null;
    this.refresher = new Coalescer((phone) => this.fetchChat(phone));
    this.pending = new Map(); // phone -> {moved, position} awaiting its refetch
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadMore();
    }, { root: scroll, rootMargin: "600px" }).observe(more);
    let debounce = null;
    search.addEventListener("input", () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => this.setQuery(search.value), 200);
    });
    list.addEventListener("keydown", (event) => this.keyboard(event));
    search.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowDown") return;
      const first = this.list.querySelector("a.chat-row");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    });
  }

  chat(phone) {
    const row = this.rows.get(phone);
    return row ? row.chat : null;
  }

  setQuery(value) {
    const query = value.trim();
    if (query === this.query) return;
    this.query = query;
    this.reset();
    this.loadMore();
  }

  setView(view) {
    this.view = view;
    this.reset();
    this.loadMore();
  }

  reset() {
    this.generation += 1;
    this.rows.clear();
    this.list.replaceChildren();
    this.next = null;
    this.done = false;
    this.loading = false;
  }

  async loadMore() {
    if (this.loading || this.done) return;
    this.loading = true;
    const generation = this.generation;
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (this.next) params.set("before", this.next);
    if (this.query) params.set("q", this.query);
    for (const [key, value] of Object.entries(this.view ? this.view.params() : {})) {
      if (key !== "sort" || !this.query) params.set(key, value);
    }
    if (!this.rows.size) this.status.textContent = "Loading chats…";
    try {
      const page = await api(`/api/chats?${params}`);
      if (generation !== this.generation) return;
      const fragment = document.createDocumentFragment();
      for (const chat of page.chats) {
        if (this.rows.has(chat.phone)) continue; // moved to the top by the stream already
        fragment.append(this.makeRow(chat, 0).el);
      }
      this.list.append(fragment);
      this.next = page.next;
      this.done = !page.next;
      this.status.textContent = this.emptyText();
    } catch (error) {
      if (generation === this.generation) this.status.textContent = `Could not load chats: ${error.message}`;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
    // Still room on screen (a tall window, a short page): keep filling.
    if (generation === this.generation && !this.done &&
        this.scroll.scrollHeight <= this.scroll.clientHeight + 600) this.loadMore();
  }

  emptyText() {
    if (this.rows.size) return "";
    if (this.query) return `No chats match “${this.query}”.`;
    return this.view && this.view.filtered() ? "No chats in this view." : "No chats yet. Customers' messages appear here as they arrive.";
  }

  // The stream says something happened in this chat: refetch its row.
  // appear: a team change (assigned, reopened) may bring a chat into the view.
  refresh(phone, { moved = false, position = 0, appear = false } = {}) {
    const before = this.pending.get(phone) || { moved: false, position: 0, appear: false };
    this.pending.set(phone, { moved: before.moved || moved, position: Math.max(before.position, position),
                              appear: before.appear || appear });
    return this.refresher.run(phone);
  }

  async fetchChat(phone) {
    const wanted = this.pending.get(phone) || { moved: false, position: 0 };
    this.pending.delete(phone);
    const generation = this.generation;
    let answer;
    try {
      answer = await api(`/api/chats/${encodeURIComponent(phone)}`);
    } catch (error) {
      if (error.status === 404) return;
      throw error;
    }
    if (generation === this.generation) this.apply(phone, answer.chat, wanted);
    else this.onChat(answer.chat, phone);
  }

  // The chat row as the read API answers it (from a refetch, or carried by a stream
  // frame), for the chat the event named as `phone`.
  apply(phone, chat, wanted = {}) {
    // Asked by another identifier of the customer, or a chat merged into an older one:
    // the row under the old key goes, the chat's own row takes the news.
    if (chat.phone !== phone && this.rows.has(phone)) {
      this.rows.get(phone).el.remove();
      this.rows.delete(phone);
    }
    this.upsert(chat, wanted);
    this.onChat(chat, phone);
  }

  upsert(chat, { moved = false, position = 0, appear = false } = {}) {
    const row = this.rows.get(chat.phone);
    if (this.view && !this.view.matches(chat)) {
      if (row) {
        row.el.remove();
        this.rows.delete(chat.phone);
        this.status.textContent = this.emptyText();
      }
      return;
    }
    if (!row) {
      // Not on screen: during a search only chats already listed change; otherwise a
      // chat with news (or found deep in the list) appears at its place at the top.
      if (this.query || !(moved || appear)) return;
      const fresh = this.makeRow(chat, position);
      this.place(fresh, position);
      this.status.textContent = this.emptyText();
      return;
    }
    const el = this.renderRow(chat);
    swapRow(row.el, el);
    row.el = el;
    row.chat = chat;
    if (moved && position > row.pos) {
      row.pos = position;
      this.place(row, position);
    }
  }

  place(row, position) {
    let anchor = this.list.firstElementChild;
    while (anchor && anchor !== row.el && Number(anchor.dataset.pos || 0) > position) {
      anchor = anchor.nextElementSibling;
    }
    row.el.dataset.pos = String(position || 0);
    if (anchor === row.el) return;
    const had = row.el.contains(document.activeElement);
    this.list.insertBefore(row.el, anchor);
    if (had) row.el.querySelector("a").focus({ preventScroll: true });
  }

  makeRow(chat, position) {
    const row = { chat, pos: position || 0, el: this.renderRow(chat) };
    row.el.dataset.pos = String(row.pos);
    this.rows.set(chat.phone, row);
    return row;
  }

  markRead(phone) {
    const row = this.rows.get(phone);
    if (!row || !row.chat.unread) return;
    this.upsert({ ...row.chat, unread: 0 });
  }

  select(phone) {
    this.selected = phone;
    for (const el of this.list.querySelectorAll('[aria-current="true"]')) el.removeAttribute("aria-current");
    const row = phone && this.rows.get(phone);
    if (row) row.el.querySelector("a").setAttribute("aria-current", "true");
  }

  // On each clock tick (app.js): redraw the rows whose window or day name changed.
  retime() {
    for (const row of this.rows.values()) {
      if (row.el.dataset.stamp === this.stamp(row.chat)) continue;
      const el = this.renderRow(row.chat);
      swapRow(row.el, el);
      row.el = el;
    }
  }

  keyboard(event) {
    const links = [...this.list.querySelectorAll("a.chat-row")];
    const at = links.indexOf(document.activeElement);
    let target = null;
    if (event.key === "ArrowDown") target = links[Math.min(at + 1, links.length - 1)];
    else if (event.key === "ArrowUp") target = at <= 0 ? this.search : links[at - 1];
    else if (event.key === "Home") target = links[0];
    else if (event.key === "End") target = links[links.length - 1];
    if (target) {
      event.preventDefault();
      target.focus();
    }
  }

  stamp(chat) {
    return `${windowLeft(chat)}|${chat.last_message ? listTime(chat.last_message.timestamp) : ""}|${teamStamp(chat)}`;
  }

  renderRow(chat) {
    const last = chat.last_message;
    const kind = kindOf(last);
    const unread = chat.unread > 0;
    const open = isWindowOpen(chat);
    const name = chat.name && chat.name !== chat.phone ? chat.name : showPhone(chat.phone);
    const preview = h("span", { class: "flex min-w-0 items-center gap-1" });
    if (last && last.direction === "out") preview.append(tick(last.status, "size-4"));
    if (last && kind !== "text" && hasIcon(kind)) {
      preview.append(icon(kind, "size-4 text-slate-500"), srOnly(`${(KINDS[kind] || KINDS.unknown)[1]}: `));
    }
    preview.append(h("span", { class: "truncate", text: last ? summary(last) : "" }));
    const li = h("li", { dataset: { phone: chat.phone, pos: "0" } },
      h("a", {
        class: "chat-row flex items-center gap-3 px-3 py-3 hover:bg-slate-50 focus:bg-emerald-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-emerald-600",
        href: `#/chat/${encodeURIComponent(chat.phone)}`,
        "aria-current": chat.phone === this.selected ? "true" : null,
      },
        h("span", { class: "flex size-11 shrink-0 items-center justify-center rounded-full bg-emerald-100 text-sm font-semibold text-emerald-800", "aria-hidden": "true", text: initials(name) }),
        h("span", { class: "min-w-0 flex-1" },
          h("span", { class: "flex items-baseline gap-2" },
            h("span", { class: `chat-name truncate ${unread ? "font-semibold" : "font-medium"}`, text: name }),
            h("time", { class: `ml-auto shrink-0 text-xs ${unread ? "font-semibold text-emerald-700" : "text-slate-500"}`,
                        datetime: last ? last.timestamp : null, text: last ? listTime(last.timestamp) : "" })),
          h("span", { class: "mt-0.5 flex items-center gap-2 text-sm text-slate-600" },
            h("span", { class: "chat-preview min-w-0 flex-1" }, preview),
            // The 24-hour window (not a conversation status): a clock and the time left.
            h("span", {
              class: `window inline-flex shrink-0 items-center gap-0.5 whitespace-nowrap text-[11px] ${open ? "text-emerald-700" : "text-slate-400"}`,
              title: windowText(chat), dataset: { window: open ? "open" : "closed" },
            }, icon("clock", "size-3.5"), h("span", { "aria-hidden": "true", class: "window-left", text: windowLeft(chat) }),
            srOnly(windowText(chat))),
            unread ? h("span", {
              class: "unread min-w-5 shrink-0 rounded-full bg-emerald-600 px-1.5 text-center text-xs font-semibold text-white",
              "aria-label": `${chat.unread} unread`, text: String(chat.unread),
            }) : null),
          teamMarks(chat))));
    li.dataset.pos = String((this.rows.get(chat.phone) || {}).pos || 0);
    li.dataset.stamp = this.stamp(chat);
    return li;
  }
}

// A row drawn again (news, a tick of the clock) keeps the keyboard focus if it had it.
function swapRow(old, fresh) {
  const had = old.contains(document.activeElement);
  old.replaceWith(fresh);
  if (had) fresh.querySelector("a").focus({ preventScroll: true });
}

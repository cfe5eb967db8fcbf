// The Contacts page: everyone on the customer list and everyone who ever wrote
// (GET /api/customers), searchable and filtered by label and marketing opt-out; the
// chosen contact's panel edits the name and details in place (PATCH /api/customers/<key>:
// only what changed is sent); "Message" opens their chat in the inbox, or starts one
// with a template when there is none yet (#/chat/<number>).

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { fullTime, listTime, showPhone } from "./format.js";

const INPUT = "min-w-0 rounded border border-slate-300 px-2 py-1 text-sm focus:ring-2 focus:ring-emerald-600 focus:outline-none";
const el = {
  search: $("#contacts-search"), label: $("#contacts-label"), optedOut: $("#contacts-opted-out"),
  download: $("#contacts-download"), list: $("#contacts-list"), status: $("#contacts-status"),
  more: $("#contacts-more"), error: $("#contacts-error"), panel: $("#contact-panel"),
  name: $("#contact-name"), number: $("#contact-number"), facts: $("#contact-facts"),
  form: $("#contact-form"), editName: $("#contact-edit-name"), attributes: $("#contact-attributes"),
  add: $("#contact-add-attribute"), saved: $("#contact-saved"), failure: $("#contact-error"),
  save: $("#contact-save"), close: $("#contact-close"), message: $("#contact-message"),
};

let rows = []; // the contacts shown, in order
let next = null; // the cursor of the next page
let chosen = null; // the contact in the panel
let generation = 0; // a newer search makes an older answer stale

function filters() {
  const params = new URLSearchParams();
  const q = el.search.value.trim();
  if (q) params.set("q", q);
  if (el.label.value) params.set("label", el.label.value);
  if (el.optedOut.value) params.set("opted_out", el.optedOut.value);
  return params;
}

// A number or user id as agents read it.
function numberOf(contact) {
  if (contact.phone) return showPhone(contact.phone);
  return contact.username ? `@${contact.username} · ${contact.user_id || contact.key}` : contact.user_id || contact.key;
}

function chatText(contact) {
  if (!contact.chat) return "No chat yet";
  return [contact.status, contact.assignee ? `→ ${contact.assignee}` : ""].filter(Boolean).join(" ");
}

function row(contact) {
  const open = () => choose(contact);
  return h("tr", { dataset: { key: contact.key }, class: `cursor-pointer hover:bg-slate-50${chosen && chosen.key === contact.key ? " bg-emerald-50" : ""}`, onclick: open },
    h("td", { class: "px-3 py-2" },
      h("button", { type: "button", class: "contact-name text-left font-medium hover:underline focus:ring-2 focus:ring-emerald-600 focus:outline-none", text: contact.name, onclick: (event) => { event.stopPropagation(); open(); } }),
      contact.opted_out ? h("span", { class: "ml-2 rounded bg-amber-100 px-1 text-[11px] text-amber-900", text: "marketing stopped" }) : null),
    h("td", { class: "contact-number px-2 text-slate-600", text: numberOf(contact) }),
    h("td", { class: "hidden px-2 lg:table-cell" }, (contact.labels || []).map((name) => h("span", { class: "mr-1 rounded-full bg-slate-100 px-2 py-0.5 text-xs", text: name }))),
    h("td", { class: "px-2 text-xs text-slate-600", text: chatText(contact) }),
    h("td", { class: "hidden px-2 text-xs text-slate-500 sm:table-cell", text: contact.last_contact ? listTime(contact.last_contact) : "" }),
    h("td", { class: "px-2 text-right" }, h("button", {
      type: "button", "aria-label": `Message ${contact.name}`, text: "Message",
      class: "rounded px-2 py-0.5 text-xs text-emerald-800 ring-1 ring-emerald-200 hover:bg-emerald-50 focus:ring-2 focus:ring-emerald-600 focus:outline-none",
      onclick: (event) => { event.stopPropagation(); message(contact); },
    })));
}

function render() {
  el.list.replaceChildren(...rows.map(row));
  el.status.textContent = rows.length ? "" : "No contacts match.";
  el.more.hidden = !next;
}

async function load(more = false) {
  const mine = ++generation;
  const params = filters();
  el.download.href = `/api/customers/export?${new URLSearchParams([["format", "csv"], ...params])}`;
  params.set("limit", "100");
  if (more && next) params.set("before", next);
  if (!more) el.status.textContent = "Loading…";
  try {
    const answer = await api(`/api/customers?${params}`);
    if (mine !== generation) return;
    rows = more ? rows.concat(answer.customers) : answer.customers;
    next = answer.next;
    el.error.textContent = "";
    render();
  } catch (error) {
    if (mine !== generation) return;
    el.error.textContent = `Contacts could not be loaded: ${error.message}`;
    el.status.textContent = "";
  }
}

// -- the panel ---------------------------------------------------------------------------

function attributeRow(key = "", value = "") {
  const name = h("input", { class: `${INPUT} w-32 attribute-key`, value: key, "aria-label": "Detail name", maxlength: "100" });
  const text = h("input", { class: `${INPUT} flex-1 attribute-value`, value, "aria-label": key ? `${key}` : "Detail value", maxlength: "2000" });
  name.addEventListener("input", () => text.setAttribute("aria-label", name.value || "Detail value"));
  return h("div", { class: "attribute flex gap-1", dataset: { original: key } }, name, text,
    h("button", { type: "button", "aria-label": `Remove ${key || "this detail"}`, text: "✕",
      class: "rounded px-1 text-slate-500 hover:bg-slate-100 focus:ring-2 focus:ring-emerald-600 focus:outline-none",
      onclick: (event) => {
        const line = event.target.closest(".attribute");
        if (line.dataset.original) {
          line.hidden = true;
          line.dataset.removed = "true";
        } else line.remove();
      } }));
}

function fact(label, value) {
  return value ? [h("dt", { text: label }), h("dd", { class: "min-w-0 break-words text-slate-900", text: value })] : [];
}

function choose(contact) {
  chosen = contact;
  el.panel.hidden = false;
  el.name.textContent = contact.name;
  el.number.textContent = numberOf(contact);
  el.facts.replaceChildren(
    ...fact("Chat", chatText(contact)),
    ...fact("First contact", contact.first_contact ? fullTime(contact.first_contact) : ""),
    ...fact("Last contact", contact.last_contact ? fullTime(contact.last_contact) : ""),
    ...fact("Labels", (contact.labels || []).join(", ")),
    ...fact("Marketing", contact.opted_out ? "The customer stopped marketing messages" : ""),
    ...fact("From", contact.source || ""),
    ...fact("Edited", contact.edited_by ? `${contact.edited_by.replace(/^agent:/, "")}, ${fullTime(contact.edited_at)}` : ""));
  el.editName.value = contact.customer_name || "";
  el.editName.placeholder = contact.profile_name || "";
  el.attributes.replaceChildren(...Object.entries(contact.attributes || {}).map(([k, v]) => attributeRow(k, v)));
  el.saved.textContent = "";
  el.failure.textContent = "";
  render();
}

// Only what changed: a renamed detail is the old one removed and the new one set.
function changes(contact) {
  const body = {};
  const name = el.editName.value.trim();
  if (name !== (contact.customer_name || "")) body.name = name || null;
  const attributes = {};
  const before = contact.attributes || {};
  for (const line of el.attributes.querySelectorAll(".attribute")) {
    const original = line.dataset.original;
    const key = $(".attribute-key", line).value.trim();
    const value = $(".attribute-value", line).value.trim();
    if (line.dataset.removed || !key) {
      if (original) attributes[original] = null;
      continue;
    }
    if (original && original !== key) attributes[original] = null;
    if (before[key] !== value) attributes[key] = value || null;
  }
  if (Object.keys(attributes).length) body.attributes = attributes;
  return body;
}

el.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!chosen) return;
  const body = changes(chosen);
  if (!Object.keys(body).length) {
    el.saved.textContent = "Nothing changed.";
    return;
  }
  el.save.disabled = true;
  el.failure.textContent = "";
  try {
    const answer = await api(`/api/customers/${encodeURIComponent(chosen.key)}`, { method: "PATCH", json: body });
    const updated = answer.customer;
    rows = rows.map((c) => (c.key === chosen.key ? updated : c));
    choose(updated);
    el.saved.textContent = "Saved.";
  } catch (error) {
    el.failure.textContent = `Not saved: ${error.message}`;
  } finally {
    el.save.disabled = false;
  }
});

el.add.addEventListener("click", () => {
  const line = attributeRow();
  el.attributes.append(line);
  $(".attribute-key", line).focus();
});

el.close.addEventListener("click", () => {
  chosen = null;
  el.panel.hidden = true;
  render();
});

// Their chat in the inbox: it opens, or (a number with no chat) offers the templates.
function message(contact) {
  location.assign(`/#/chat/${encodeURIComponent(contact.chat || !contact.phone ? contact.key : contact.phone)}`);
}
el.message.addEventListener("click", () => chosen && message(chosen));

// -- filters -----------------------------------------------------------------------------

let typing = null;
el.search.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => load(), 200);
});
el.label.addEventListener("change", () => load());
el.optedOut.addEventListener("change", () => load());
$("#contacts-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
el.more.addEventListener("click", () => load(true));

// /contacts?q=... (the inbox's "Edit in Contacts") starts with that search, and opens
// the contact's panel when it finds exactly one.
el.search.value = new URLSearchParams(location.search).get("q") || "";
const linked = Boolean(el.search.value);

api("/api/labels").then((answer) => {
  for (const label of (answer && answer.labels) || []) el.label.append(h("option", { value: label.name, text: label.name }));
}).catch(() => {});
load().then(() => {
  if (linked && rows.length === 1) choose(rows[0]);
});

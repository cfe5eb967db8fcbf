// The Campaigns page: the list with each campaign's state and funnel, a form to create
// one (template, variables, audience by labels, attributes, phones or a CSV, schedule,
// rate, and a preview for the first recipient), and a campaign's own view at
// /campaigns#<id> with the live funnel and pause / resume / cancel. It stays live from
// the stream: any campaign or message event refetches what is shown (coalesced).

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { fileSize, fullTime } from "./format.js";
import { Funnel, funnelText } from "./funnel.js";
import { Stream } from "./stream.js";
import { componentOf, fill, PLACEHOLDER } from "./template_text.js";

const app = $("#campaigns-app");
const manage = app.dataset.manage === "true";
const failure = $("#campaigns-error");
const funnel = new Funnel($("#funnel-chart"), $("#funnel"));
const BUTTON = "rounded px-2 py-0.5 ring-1 ring-slate-300 hover:bg-slate-100 focus:ring-2 focus:outline-none";
const ACTIONS = { draft: ["start", "cancel"], scheduled: ["start", "cancel"], running: ["pause", "cancel"], paused: ["resume", "cancel"] };
const EVENT_TYPES = ["campaign.created", "campaign.started", "campaign.paused", "campaign.resumed", "campaign.cancelled", "campaign.finished", "campaign.skipped", "message.queued", "message.sent", "message.failed", "message.unknown", "message.status", "message.received"];

function fail(error) {
  failure.textContent = error ? error.message || String(error) : "";
}

function current() {
  return decodeURIComponent(location.hash.slice(1)) || null;
}

async function showList() {
  const { campaigns } = await api("/api/campaigns");
  $("#campaigns-list").replaceChildren(...campaigns.map((c) => {
    const counts = c.counts || {};
    const progress = h("progress", { max: String(Math.max(1, counts.audience || 0)), value: String((counts.sent || 0) + (counts.failed || 0) + (counts.skipped || 0)), class: "w-24" });
    return h("tr", { dataset: { campaign: c.id } },
      h("td", { class: "py-1" }, h("a", { href: `#${encodeURIComponent(c.id)}`, class: "text-emerald-800 hover:underline", text: c.name })),
      h("td", { class: "campaign-state", text: c.state }),
      h("td", { class: "campaign-funnel tabular-nums", text: funnelText(counts) }),
      h("td", {}, progress));
  }));
  if (!campaigns.length) $("#campaigns-list").append(h("tr", {}, h("td", { class: "py-1 text-slate-500", colspan: "4", text: "No campaigns yet." })));
}

function reasons(list, entries, name) {
  list.replaceChildren(...Object.entries(entries || {}).map(([reason, n]) => h("li", { text: `${name(reason)}: ${n}` })));
  if (!list.children.length) list.append(h("li", { class: "text-slate-400", text: "none" }));
}

async function showCampaign(id) {
  const { campaign } = await api(`/api/campaigns/${encodeURIComponent(id)}`);
  if (current() !== id) return;
  $("#campaign-detail").hidden = false;
  $("#campaign-title").textContent = campaign.name;
  $("#campaign-state").textContent = campaign.state;
  const when = [campaign.schedule_at && campaign.state === "scheduled" ? `starts ${fullTime(campaign.schedule_at)}` : "",
    campaign.started_at ? `started ${fullTime(campaign.started_at)}` : "", campaign.finished_at ? `ended ${fullTime(campaign.finished_at)}` : "",
    `template ${campaign.template.name} (${campaign.template.language})`, campaign.rate ? `${campaign.rate}/s` : ""].filter(Boolean);
  $("#campaign-meta").textContent = when.join(" · ");
  funnel.show(campaign.counts);
  reasons($("#campaign-failures"), campaign.failures, (code) => `Meta ${code}`);
  reasons($("#campaign-skipped"), campaign.skipped, (reason) => reason.replace(/_/g, " "));
  $("#campaign-actions").replaceChildren(...(manage ? ACTIONS[campaign.state] || [] : []).map((action) => h("button", {
    type: "button", class: BUTTON, text: action[0].toUpperCase() + action.slice(1),
    onclick: () => act(id, action),
  })));
}

async function act(id, action) {
  try {
    await api(`/api/campaigns/${encodeURIComponent(id)}/${action}`, { method: "POST" });
    fail(null);
    await refresh({ type: "campaign.changed" });
  } catch (error) {
    fail(error);
  }
}

// At most one refresh at a time, and one more after it if asked meanwhile. The list
// (every campaign's counts) is refetched at most every two seconds while messages flow,
// at once when a campaign itself changes.
const LIST_EVERY_MS = 2000;
let running = null;
let again = false;
let listDue = true;
let listedAt = 0;
let listTimer = null;
async function refresh(event) {
  if (!event || String(event.type || "").startsWith("campaign.")) listDue = true;
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      try {
        const id = current();
        if (id) await showCampaign(id);
        else $("#campaign-detail").hidden = true;
        if (listDue || Date.now() - listedAt > LIST_EVERY_MS) {
          listDue = false;
          listedAt = Date.now();
          await showList();
        } else if (!listTimer) {
          // Skipped for now: the last event's change still reaches the list.
          listTimer = setTimeout(() => {
            listTimer = null;
            refresh({ type: "campaign.list" });
          }, LIST_EVERY_MS);
        }
      } catch (error) {
        fail(error);
      }
      if (again) await new Promise((resolve) => setTimeout(resolve, 250));
    } while (again);
  })().finally(() => {
    running = null;
  });
  return running;
}

// -- the create form ------------------------------------------------------------------

let templates = [];
let csvId = null;

function lines(text) {
  return String(text || "").split(/\n|,/).map((s) => s.trim()).filter(Boolean);
}

function chosen() {
  const [name, language] = ($("#c-template").value || "|").split("|");
  return templates.find((t) => t.name === name && t.language === language) || null;
}

function placeholders(template) {
  const body = componentOf(template, "BODY");
  return [...new Set([...String((body && body.text) || "").matchAll(PLACEHOLDER)].map((m) => m[1]))];
}

function showVariables() {
  const template = chosen();
  const keys = template ? placeholders(template) : [];
  $("#c-variables").replaceChildren(...keys.map((key, i) => h("label", { class: "flex flex-col" },
    `Variable {{${key}}} ({{name}}, {{phone}} or {{attr:Column}})`,
    h("input", { "data-variable": key, value: i === 0 ? "{{name}}" : "", class: "rounded border border-slate-300 px-2 py-1" }))));
  preview();
}

function variables() {
  const found = {};
  for (const input of document.querySelectorAll("[data-variable]")) found[input.dataset.variable] = input.value;
  return found;
}

let previewCustomer = null;
async function preview() {
  const template = chosen();
  const out = $("#c-preview");
  if (!template) {
    out.textContent = "";
    return;
  }
  const first = lines($("#c-phones").value)[0];
  const key = first ? first.replace(/\D/g, "") : "";
  if (key && (!previewCustomer || previewCustomer.phone !== key)) {
    try {
      previewCustomer = (await api(`/api/customers/${encodeURIComponent(key)}`)).customer || { phone: key, name: null, attributes: {} };
    } catch {
      previewCustomer = { phone: key, name: null, attributes: {} };
    }
  }
  const customer = key ? previewCustomer : null;
  const filled = {};
  for (const [k, text] of Object.entries(variables())) {
    filled[k] = text.replace(/\{\{\s*(name|phone|attr:([^}]+?))\s*\}\}/g, (all, what, attr) => {
      if (!customer) return all;
      const value = what === "name" ? customer.name : what === "phone" ? customer.phone : (customer.attributes || {})[attr.trim()];
      return value ? String(value) : `[no ${attr ? attr.trim() : what}]`;
    });
  }
  const body = componentOf(template, "BODY");
  const params = placeholders(template).map((k) => ({ type: "text", text: filled[k] || `{{${k}}}` }));
  out.textContent = fill((body && body.text) || "", params);
}

async function uploadCsv(file) {
  const size = $("#c-csv-size");
  csvId = null;
  if (!file) {
    size.textContent = "";
    return;
  }
  const form = new FormData();
  form.append("file", file);
  size.textContent = `${fileSize(file.size)}: uploading…`;
  try {
    const answer = await api("/api/campaigns/csv", { method: "POST", form });
    csvId = answer.id;
    size.textContent = `${fileSize(answer.bytes)}, ${answer.phones.toLocaleString()} phones${answer.rejected.length ? `, ${answer.rejected.length} rows left out` : ""}`;
  } catch (error) {
    size.textContent = error.message;
  }
}

async function setUpForm() {
  const form = $("#create-campaign");
  if (!form) return;
  const answer = await api("/api/templates");
  templates = ((answer && answer.templates) || []).filter((t) => String(t.status || "").toUpperCase() === "APPROVED");
  $("#c-template").replaceChildren(...templates.map((t) => h("option", { value: `${t.name}|${t.language}`, text: `${t.name} (${t.language}, ${String(t.category || "").toLowerCase()})` })));
  $("#c-template").addEventListener("change", showVariables);
  form.addEventListener("input", (event) => {
    if (event.target.id !== "c-csv") preview();
  });
  $("#c-csv").addEventListener("change", (event) => uploadCsv(event.target.files[0]));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const template = chosen();
    const attributes = {};
    for (const line of String($("#c-attributes").value).split("\n")) {
      const [k, ...v] = line.split("=");
      if (k.trim() && v.length) attributes[k.trim()] = v.join("=").trim();
    }
    const schedule = $("#c-schedule").value;
    const rate = Number($("#c-rate").value);
    try {
      const made = await api("/api/campaigns", { method: "POST", json: {
        name: $("#c-name").value, template: { name: template.name, language: template.language },
        audience: { labels: lines($("#c-labels").value), attributes, phones: lines($("#c-phones").value), csv: csvId },
        variables: variables(), schedule_at: schedule ? new Date(schedule).toISOString() : null, rate: rate > 0 ? rate : null,
      } });
      fail(null);
      form.reset();
      csvId = null;
      $("#c-csv-size").textContent = "";
      location.hash = made.id;
    } catch (error) {
      fail(error);
    }
  });
  showVariables();
}

window.addEventListener("hashchange", () => refresh());
new Stream({ after: app.dataset.position, types: EVENT_TYPES, onEvent: (event) => refresh(event), indicator: $("#connection") }).start();
refresh();
setUpForm().catch(fail);

// The Automations page (admins): the rules (built-in ones off until enabled) with
// enable/disable and delete, a form for a keyword rule, and the holidays, over
// /api/automations and /api/holidays. Rule text only ever becomes DOM text.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { pageStatus } from "./page_status.js";

const BUTTON = "rounded px-2 py-0.5 ring-1 focus:ring-2 focus:outline-none";
const { fail, run } = pageStatus($("#automations-message"), $("#automations-error"), () => load());

export function describeWhen(when) {
  const minutes = when.minutes;
  switch (when.trigger) {
    case "message.received": return "A customer writes";
    case "chat.created": return "A new customer writes for the first time";
    case "chat.waiting": return `A chat waits ${minutes} min for a reply`;
    case "window.closing": return `The 24-hour window closes in ${minutes} min`;
    default: return when.trigger;
  }
}

function describeCondition(condition) {
  const [key, value] = Object.entries(condition)[0];
  if (key === "hours") return `${value} business hours`;
  if (key === "keywords") return `says ${value.join(" or ")}`;
  return `${key.replaceAll("_", " ")} ${typeof value === "object" ? JSON.stringify(value) : value}`;
}

function describeAction(action) {
  const [key, value] = Object.entries(action)[0];
  if (key === "reply") return value.text ? `reply "${value.text}"` : value.quick_reply ? `reply /${value.quick_reply}` : `template ${value.template.name}`;
  if (key === "add_labels") return `label ${value.join(", ")}`;
  if (key === "assign") return `assign to ${value}`;
  if (key === "set_status") return `set ${value}`;
  return `note "${value}"`;
}

function ruleRow(rule) {
  const when = [describeWhen(rule.when), ...rule.if.map(describeCondition)].join(", ");
  return h("tr", { dataset: { rule: rule.id } },
    h("td", { class: "py-1.5 font-medium" }, rule.name, rule.builtin ? h("span", { class: "ml-1 text-xs text-slate-500", text: "(built-in)" }) : null),
    h("td", { class: "text-slate-700", text: when }),
    h("td", { class: "text-slate-700", text: rule.then.map(describeAction).join("; ") }),
    h("td", { class: "state", text: rule.enabled ? "On" : "Off" }),
    h("td", { class: "flex flex-wrap justify-end gap-2 py-1.5" },
      h("button", {
        type: "button", class: `${BUTTON} ring-slate-300`,
        "aria-label": `${rule.enabled ? "Turn off" : "Turn on"} ${rule.name}`, text: rule.enabled ? "Turn off" : "Turn on",
        onclick: () => run(() => api(`/api/automations/${encodeURIComponent(rule.id)}`, { method: "PUT", json: { enabled: !rule.enabled } }),
          `${rule.name} is ${rule.enabled ? "off" : "on"}.`),
      }),
      rule.builtin ? null : h("button", {
        type: "button", class: `${BUTTON} text-red-700 ring-red-200`, "aria-label": `Delete ${rule.name}`, text: "Delete",
        onclick: () => {
          if (!confirm(`Delete the rule ${rule.name}?`)) return;
          run(() => api(`/api/automations/${encodeURIComponent(rule.id)}`, { method: "DELETE" }), `${rule.name} is deleted.`);
        },
      })));
}

function holidayRow(holiday) {
  return h("li", { class: "flex items-center justify-between py-1.5", dataset: { date: holiday.date } },
    h("span", { text: holiday.name ? `${holiday.date} · ${holiday.name}` : holiday.date }),
    h("button", {
      type: "button", class: `${BUTTON} text-red-700 ring-red-200`, "aria-label": `Remove ${holiday.date}`, text: "Remove",
      onclick: () => run(() => api(`/api/holidays/${encodeURIComponent(holiday.date)}`, { method: "DELETE" }), `${holiday.date} is removed.`),
    }));
}

async function load() {
  const [{ automations }, { holidays }] = await Promise.all([api("/api/automations"), api("/api/holidays")]);
  $("#rules-list").replaceChildren(...automations.map(ruleRow));
  $("#holidays-list").replaceChildren(...holidays.map(holidayRow));
}

$("#add-keyword-rule").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("#rule-name").value.trim();
  const keywords = $("#rule-keywords").value.split(/[,，、]/).map((k) => k.trim()).filter(Boolean);
  const conditions = [{ keywords }];
  if ($("#rule-hours").value) conditions.push({ hours: $("#rule-hours").value });
  const actions = [{ reply: { text: $("#rule-reply").value } }];
  const label = $("#rule-label").value.trim();
  if (label) actions.push({ add_labels: [label] });
  run(async () => {
    await api("/api/automations", { method: "POST", json: { name, enabled: true, when: "message.received", if: conditions, then: actions } });
    event.target.reset();
  }, `${name} is on.`);
});

$("#add-holiday").addEventListener("submit", (event) => {
  event.preventDefault();
  const date = $("#holiday-date").value;
  const name = $("#holiday-name").value.trim();
  run(async () => {
    await api("/api/holidays", { method: "POST", json: name ? { date, name } : { date } });
    event.target.reset();
  }, `${date} is a holiday.`);
});

load().catch(fail);

// A chat row's team marks: its assignee, a status other than open, its labels, and a
// red "waiting 23 min" when the customer has waited longer than CRM_SLA_MINUTES.

import { now } from "./clock.js";
import { h } from "./dom.js";
import { initials } from "./format.js";

const app = document.getElementById("app");
const SLA_MINUTES = Number(app && app.dataset.slaMinutes) || 15;

export function waitingMinutes(chat, at = now()) {
  if (!chat.waiting_since) return null;
  const since = Date.parse(chat.waiting_since);
  return Number.isNaN(since) ? null : Math.floor((at - since) / 60000);
}

function waitingText(minutes) {
  return minutes < 60 ? `waiting ${minutes} min` : `waiting ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// What the row shows of them, to redraw it when it changes (the clock moves it too).
export function teamStamp(chat) {
  const minutes = waitingMinutes(chat);
  return [chat.status, chat.assignee, (chat.labels || []).join(","),
    minutes !== null && minutes >= SLA_MINUTES ? minutes : ""].join("|");
}

export function teamMarks(chat) {
  const minutes = waitingMinutes(chat);
  const late = minutes !== null && minutes >= SLA_MINUTES;
  const status = chat.status || "open";
  const marks = [
    late ? h("span", { class: "sla shrink-0 rounded bg-red-600 px-1 text-[11px] font-semibold text-white", text: waitingText(minutes) }) : null,
    status !== "open" ? h("span", { class: "status shrink-0 rounded bg-slate-200 px-1 text-[11px] text-slate-700", text: status }) : null,
    ...(chat.labels || []).slice(0, 3).map((name) => h("span", { class: "label shrink-0 truncate rounded bg-sky-100 px-1 text-[11px] text-sky-900", text: name })),
    chat.assignee ? h("span", {
      class: "assignee ml-auto flex size-5 shrink-0 items-center justify-center rounded-full bg-slate-700 text-[10px] font-semibold text-white",
      title: `Assigned to ${chat.assignee}`, "aria-label": `Assigned to ${chat.assignee}`, text: initials(chat.assignee),
    }) : null,
  ].filter(Boolean);
  return marks.length ? h("span", { class: "team-marks mt-0.5 flex min-w-0 items-center gap-1", dataset: { assignee: chat.assignee || "" } }, marks) : null;
}

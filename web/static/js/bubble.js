// One message in the thread: its bubble (in on the left, out on the right), the quoted
// message it replies to, its time and ticks, the failure reason with a retry button,
// edit and forward marks, its details (what Meta bills for it), and its reactions
// underneath.

import { content } from "./content.js";
import { h, srOnly } from "./dom.js";
import { renderNote } from "./notes.js";
import { dayLabel, fullTime, summary, timeOfDay } from "./format.js";
import { icon } from "./icons.js";
import { tick } from "./ticks.js";

const BUTTON = "inline-flex items-center gap-1 rounded px-2 py-1 text-xs font-medium focus:ring-2 focus:ring-emerald-600 focus:outline-none";

function author(message, ctx) {
  if (!message) return "";
  if (message.direction === "out" && message.automation) return `the ${message.automation.name} rule`;
  if (message.direction === "out") return message.agent ? `${message.agent} (team)` : "You (team)";
  return ctx.chatName;
}

function quote(message, ctx) {
  const target = message.reply_to ? ctx.lookup(message.reply_to) : null;
  if (!target && !message.reply_to && !(message.context && message.context.id)) return null;
  const words = target ? summary(target) : "An earlier message";
  return h("button", {
    type: "button",
    class: "quote mb-1 block w-full min-w-48 rounded-md border-l-4 border-emerald-600 bg-black/5 px-2 py-1 text-left text-xs hover:bg-black/10 focus:ring-2 focus:ring-emerald-600 focus:outline-none",
    "aria-label": `Replying to ${target ? author(target, ctx) : "an earlier message"}: ${words}. Show it.`,
    onclick: () => target && ctx.onJump(target.id),
  },
    h("span", { class: "block font-semibold text-emerald-700", text: target ? author(target, ctx) : "Reply" }),
    h("span", { class: "block truncate text-slate-600", text: words }));
}

function failure(message, ctx) {
  if (message.status !== "failed" && message.status !== "unknown") return null;
  const error = message.error || {};
  const reason = message.status === "unknown"
    ? "The server stopped while sending this: it may or may not have reached the customer."
    : [error.title || error.message || "WhatsApp did not deliver this message.",
       error.code !== undefined && error.code !== null ? `(code ${error.code})` : "",
       error.details && error.details !== error.title ? `${error.details}` : ""].filter(Boolean).join(" ");
  return h("div", { class: "failure mt-1 flex flex-wrap items-center gap-2 rounded-md bg-red-50 px-2 py-1 text-xs text-red-700 ring-1 ring-red-200", role: "note" },
    icon("alert", "size-4"),
    h("span", { class: "min-w-0 flex-1", text: `Not delivered: ${reason}` }),
    h("button", { type: "button", class: `${BUTTON} bg-red-600 text-white hover:bg-red-700`,
                  onclick: (event) => ctx.onRetry(message, event.currentTarget) },
      icon("retry", "size-3.5"), "Retry"));
}

function marks(message) {
  const out = [];
  if (message.forwarded || message.frequently_forwarded) {
    out.push(h("p", { class: "mb-0.5 flex items-center gap-1 text-[11px] italic text-slate-500" }, icon("forward", "size-3"),
      message.frequently_forwarded ? "Forwarded many times" : "Forwarded"));
  }
  if (message.automation && message.automation.name) {
    // An automatic message says which rule sent it (and its version, for the audit).
    out.push(h("p", { class: "automatic mb-0.5 flex items-center gap-1 text-[11px] italic text-slate-500",
                      title: `Rule ${message.automation.rule_id}, version ${message.automation.version}` },
      `Automatic: sent by the ${message.automation.name} rule`));
  }
  if (message.imported) {
    out.push(h("p", { class: "mb-0.5 text-[11px] italic text-slate-500", text: "Imported from the WhatsApp Business app" }));
  }
  return out;
}

function edited(message) {
  if (!message.edited || message.revoked) return null;
  const original = message.text || message.caption || "";
  return h("details", { class: "edited mt-0.5 text-[11px] text-slate-500" },
    h("summary", { class: "cursor-pointer" }, "Edited · show the original"),
    h("p", { class: "bubble-text mt-0.5 text-slate-500", text: original }));
}

// What Meta bills for an outbound message (a status's `pricing`), as text.
export function pricingText(pricing) {
  if (!pricing || typeof pricing !== "object") return "";
  const text = (value) => (typeof value === "string" && value ? value : null);
  return [text(pricing.category) && `category ${pricing.category}`,
          text(pricing.type) && `type ${pricing.type}`,
          text(pricing.pricing_model) && `model ${pricing.pricing_model}`,
          typeof pricing.billable === "boolean" ? (pricing.billable ? "billable" : "not billable") : null]
    .filter(Boolean).join(" · ");
}

function details(message) {
  const pricing = pricingText(message.pricing);
  if (!pricing) return null;
  return h("details", { class: "message-details mt-0.5 text-[11px] text-slate-500" },
    h("summary", { class: "cursor-pointer" }, "Details"),
    h("p", { class: "pricing mt-0.5", text: `Meta pricing: ${pricing}` }));
}

function reactions(message) {
  const list = Array.isArray(message.reactions) ? message.reactions.filter((r) => r && r.emoji) : [];
  if (!list.length) return null;
  const counts = new Map();
  for (const r of list) counts.set(r.emoji, (counts.get(r.emoji) || 0) + 1);
  return h("ul", { class: "reactions -mt-1 flex gap-1", "aria-label": "Reactions" },
    [...counts].map(([emoji, count]) => h("li", {
      class: "rounded-full bg-white px-1.5 py-0.5 text-sm shadow ring-1 ring-slate-200", text: count > 1 ? `${emoji} ${count}` : emoji,
    })));
}

// A campaign's message names its campaign (the customer's reply comes right below it).
function campaignOf(message) {
  const campaign = message.campaign;
  if (!campaign || typeof campaign !== "object" || !campaign.id) return null;
  return h("a", { class: "campaign mb-0.5 block text-[11px] font-medium text-emerald-800 hover:underline", href: `/campaigns#${encodeURIComponent(campaign.id)}`, text: `Campaign: ${campaign.name || campaign.id}` });
}

export function renderMessage(message, ctx) {
  if (message.direction === "note") return renderNote(message);
  const out = message.direction === "out";
  const shown = message.edited && message.edited.text && !message.revoked
    ? { ...message, text: message.edited.text, caption: message.caption ? message.edited.text : null }
    : message;
  const system = message.type === "system" || message.type === "request_welcome";
  const bubble = h("div", {
    class: `bubble relative max-w-[85%] rounded-lg px-2.5 pb-1 pt-1.5 text-sm shadow-sm sm:max-w-[70%] ${
      system ? "bg-amber-50 text-center" : out ? "rounded-tr-none bg-bubble-out" : "rounded-tl-none bg-white"}`,
  },
    srOnly(`${out ? "Sent by" : "From"} ${author(message, ctx)}: `),
    campaignOf(message),
    marks(message),
    quote(message, ctx),
    content(shown, ctx),
    edited(message),
    h("p", { class: "meta mt-0.5 flex items-center justify-end gap-1 text-[11px] text-slate-500" },
      out && message.agent ? h("span", { class: "agent min-w-[3ch] truncate", text: message.agent }) : null,
      out && message.agent ? h("span", { "aria-hidden": "true", text: "·" }) : null,
      h("time", { class: "shrink-0 whitespace-nowrap", datetime: message.timestamp, title: fullTime(message.timestamp), text: timeOfDay(message.timestamp) }),
      out ? tick(message.status) : null),
    details(message),
    failure(message, ctx));
  const reply = h("button", {
    type: "button", "aria-label": "Reply to this message", title: "Reply",
    class: "reply self-center rounded-full p-1.5 text-slate-500 opacity-0 hover:bg-black/5 focus:opacity-100 focus:ring-2 focus:ring-emerald-600 focus:outline-none group-hover:opacity-100",
    onclick: () => ctx.onReply(message),
  }, icon("reply", "size-4"));
  // Full width, so the bubble's 85% is of the thread (not of itself: short bubbles
  // would squeeze their footer).
  const row = h("div", { class: `group flex w-full items-start gap-1 ${out ? "flex-row-reverse" : ""} ${system ? "justify-center" : ""}` },
    bubble, system ? null : reply);
  return h("li", {
    id: `m-${message.id}`,
    class: `msg flex flex-col ${out ? "items-end" : system ? "items-center" : "items-start"}`,
    dataset: { id: message.id, direction: message.direction, type: message.type, status: message.status || "" },
  },
    h("p", { class: "day my-2 self-center rounded-md bg-white/90 px-3 py-0.5 text-xs text-slate-600 shadow-sm", hidden: true,
             text: dayLabel(message.timestamp) }),
    row,
    reactions(message));
}

// What is inside a bubble, by message type. Every customer-supplied string (text,
// captions, file names, contact cards, place names) goes in as text, never as markup,
// and only our own paths or http(s) links become href/src.

import { h, safeUrl, sameOrigin, srOnly } from "./dom.js";
import { fileSize, KINDS, kindOf } from "./format.js";
import { icon } from "./icons.js";
import { findTemplate, rendered } from "./template_text.js";

// Where the browser fetches a message's file: our own /media/<sha256> copy, set once
// the file is kept (media.stored). Meta's links need our token and expire: never used.
export function mediaUrl(message) {
  const url = message.media && message.media.url;
  return sameOrigin(url) ? safeUrl(url) : null;
}

// Not kept (yet): say so instead of a broken player or link.
function missing(message, label) {
  const media = message.media || {};
  const words = media.error
    ? `${label} could not be kept: ${media.error}`
    : `${label}: downloading…`;
  return h("p", { class: `media-missing flex items-center gap-2 rounded-md bg-black/5 px-2 py-2 text-sm ${media.error ? "text-red-700" : "text-slate-500"}` },
    icon(media.error ? "alert" : "clock", "size-4"), words);
}

const text = (value, cls = "") => h("p", { class: `bubble-text ${cls}`, text: value });

function caption(message) {
  return message.caption ? text(message.caption, "mt-1") : null;
}

function image(message, ctx) {
  const src = mediaUrl(message);
  if (!src) return [missing(message, message.type === "sticker" ? "Sticker" : "Photo"), caption(message)];
  const alt = message.caption || (message.type === "sticker" ? "Sticker" : "Photo");
  const img = h("img", { src, alt, loading: "lazy", decoding: "async",
                         class: message.type === "sticker" ? "size-32 object-contain" : "max-h-72 max-w-full rounded-md object-cover" });
  img.addEventListener("load", () => ctx.onMediaLoaded());
  img.addEventListener("error", () => img.replaceWith(h("span", { class: "flex items-center gap-2 py-2 text-sm text-slate-500" },
    icon("camera", "size-5"), "The image could not be loaded.")), { once: true });
  const button = h("button", { type: "button", class: "block cursor-zoom-in rounded-md focus:ring-2 focus:ring-emerald-600 focus:outline-none",
                               "aria-label": `Enlarge: ${alt}`, onclick: () => ctx.onEnlarge(src, alt) }, img);
  return [button, caption(message)];
}

function video(message) {
  if (!mediaUrl(message)) return [missing(message, "Video"), caption(message)];
  return [h("video", { src: mediaUrl(message), controls: true, preload: "metadata", class: "max-h-72 max-w-full rounded-md",
                       "aria-label": message.caption || "Video" }), caption(message)];
}

function audio(message) {
  const voice = Boolean(message.media && message.media.voice);
  if (!mediaUrl(message)) return [missing(message, voice ? "Voice message" : "Audio"), caption(message)];
  return [h("p", { class: "mb-1 flex items-center gap-1 text-xs text-slate-500" }, icon(voice ? "voice" : "audio", "size-4"),
            voice ? "Voice message" : "Audio"),
          h("audio", { src: mediaUrl(message), controls: true, preload: "none", class: "w-64 max-w-full",
                       "aria-label": voice ? "Voice message" : "Audio" }), caption(message)];
}

function documentLink(message) {
  const media = message.media || {};
  const name = media.filename || "Document";
  const details = [fileSize(media.size), media.mime_type].filter(Boolean).join(" · ");
  const href = mediaUrl(message);
  if (!href) {
    return [h("p", { class: "flex items-center gap-3 rounded-md bg-black/5 p-2" }, icon("document", "size-8 text-slate-500"),
      h("span", { class: "min-w-0" }, h("span", { class: "doc-name block truncate font-medium", text: name }),
        h("span", { class: "block text-xs text-slate-500", text: details }))),
      missing(message, "The file"), caption(message)];
  }
  return [h("a", { href, download: name, class: "flex items-center gap-3 rounded-md bg-black/5 p-2 hover:bg-black/10 focus:ring-2 focus:ring-emerald-600 focus:outline-none" },
    icon("document", "size-8 text-slate-500"),
    h("span", { class: "min-w-0" },
      h("span", { class: "doc-name block truncate font-medium", text: name }),
      h("span", { class: "block text-xs text-slate-500", text: details || "Download" })),
    icon("download", "size-5 text-slate-500"), srOnly("(download)")), caption(message)];
}

function location(message) {
  const place = message.location || {};
  const lat = Number(place.latitude);
  const lon = Number(place.longitude);
  const title = place.name || place.address || "Location";
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    return [text(title)];
  }
  const href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`;
  return [h("a", { href, target: "_blank", rel: "noopener noreferrer", class: "flex items-start gap-2 rounded-md bg-black/5 p-2 hover:bg-black/10 focus:ring-2 focus:ring-emerald-600 focus:outline-none" },
    icon("location", "size-6 text-red-600"),
    h("span", { class: "min-w-0" },
      h("span", { class: "block font-medium", text: title }),
      place.address && place.name ? h("span", { class: "block text-xs text-slate-600", text: place.address }) : null,
      h("span", { class: "block text-xs text-slate-500", text: `${lat.toFixed(5)}, ${lon.toFixed(5)} · open the map` })),
    srOnly("(opens in a new tab)"))];
}

function contactCard(card) {
  const name = (card && card.name) || {};
  const title = name.formatted_name || [name.first_name, name.last_name].filter(Boolean).join(" ") || "Contact";
  const lines = [];
  for (const phone of (card && card.phones) || []) {
    if (phone && phone.phone) lines.push(`${phone.type ? phone.type + ": " : ""}${phone.phone}`);
  }
  for (const email of (card && card.emails) || []) if (email && email.email) lines.push(email.email);
  if (card && card.org && card.org.company) lines.push(card.org.company);
  const links = ((card && card.urls) || []).map((u) => safeUrl(u && u.url)).filter(Boolean);
  return h("div", { class: "contact-card flex gap-3 rounded-md bg-black/5 p-2" },
    h("span", { class: "flex size-9 shrink-0 items-center justify-center rounded-full bg-slate-300 text-slate-700" }, icon("contacts", "size-5")),
    h("div", { class: "min-w-0 text-sm" },
      h("p", { class: "font-medium", text: title }),
      lines.map((line) => h("p", { class: "text-slate-600", text: line })),
      links.map((href) => h("a", { href, target: "_blank", rel: "noopener noreferrer", class: "block truncate text-emerald-700 underline", text: href }))));
}

function contacts(message) {
  const cards = Array.isArray(message.contacts) ? message.contacts : [];
  if (!cards.length) return [text("Contact card")];
  return [h("p", { class: "mb-1 text-xs text-slate-500", text: cards.length > 1 ? `${cards.length} contacts` : "Contact" }),
          h("div", { class: "space-y-1" }, cards.map(contactCard))];
}

function labelled(label, iconName, value) {
  return [h("p", { class: "mb-0.5 flex items-center gap-1 text-xs text-slate-500" }, icon(iconName, "size-3.5"), label),
          text(value || "")];
}

// As the customer saw it: header, body, footer and buttons with the parameters put in,
// under a small label naming the template.
function template(message, ctx) {
  const tpl = message.template || {};
  const label = h("p", { class: "template-label mb-0.5 flex items-center gap-1 text-[11px] text-slate-500" },
    icon("template", "size-3.5"), srOnly("Template "), h("span", { class: "template-name", text: tpl.name || "template" }),
    tpl.language ? h("span", { class: "text-slate-400", text: tpl.language }) : null);
  const definition = tpl.name ? findTemplate(tpl.name, tpl.language, ctx && ctx.onTemplates) : null;
  if (!definition) {
    const params = [];
    for (const component of tpl.components || []) {
      for (const p of (component && component.parameters) || []) {
        if (p && typeof p.text === "string") params.push(p.text);
      }
    }
    return [label, message.text ? text(message.text) : null,
            params.length ? h("p", { class: "text-sm text-slate-600", text: params.join(" · ") }) : null];
  }
  const shown = rendered(definition, tpl);
  return [label, headerFile(shown.media, message, ctx),
    shown.header ? h("p", { class: "template-header font-semibold", text: shown.header }) : null,
    shown.body ? text(shown.body, "template-body") : null,
    shown.footer ? h("p", { class: "template-footer mt-0.5 text-xs text-slate-500", text: shown.footer }) : null,
    shown.buttons.length ? h("ul", { class: "template-buttons mt-1 flex flex-col gap-0.5", "aria-label": "Buttons" },
      shown.buttons.map((words) => h("li", { class: "rounded-md bg-white/70 py-1 text-center text-sm font-medium text-sky-700", text: words }))) : null];
}

// A media header: the file the agent sent with the template (the message's own file).
function headerFile(kind, message, ctx) {
  if (!kind || !message.media) return null;
  const shown = { ...message, caption: null };
  const nodes = kind === "image" ? image(shown, ctx) : kind === "video" ? video(shown) : documentLink(shown);
  return h("div", { class: "template-media mb-1" }, nodes);
}

function placeholder(message) {
  const declared = message.unknown_type || message.type;
  return [h("p", { class: "unsupported flex items-center gap-2 text-sm italic text-slate-500" }, icon("unknown", "size-4"),
    `Unsupported message${declared && declared !== "unknown" && declared !== "unsupported" ? ` (${declared})` : ""}: open WhatsApp on the phone to see it.`)];
}

// The body of one message, as a list of nodes.
export function content(message, ctx) {
  const kind = kindOf(message);
  if (message.revoked) {
    return [h("p", { class: "flex items-center gap-1 text-sm italic text-slate-500" }, icon("ban", "size-4"), "The customer deleted this message."),
            message.text || message.caption ? h("p", { class: "bubble-text text-slate-400 line-through", text: message.text || message.caption }) : null];
  }
  switch (kind) {
    case "text": return [text(message.text || "")];
    case "image": case "sticker": return image(message, ctx);
    case "video": return video(message);
    case "audio": case "voice": return audio(message);
    case "document": return documentLink(message);
    case "location": return location(message);
    case "contacts": return contacts(message);
    case "interactive": return labelled(interactiveLabel(message), "interactive", message.text || "Form answer");
    case "button": return labelled("Tapped a button", "button", message.text);
    case "order": return labelled("Order", "order", message.text || orderSummary(message));
    case "template": return template(message, ctx);
    case "system": return [text(message.text || "System notice", "italic text-slate-600")];
    case "request_welcome": return [h("p", { class: "text-sm italic text-slate-600", text: "The customer opened the chat." })];
    default:
      if (message.text) return [text(message.text)];
      return placeholder(message);
  }
}

function interactiveLabel(message) {
  const sub = message.interactive && message.interactive.type;
  if (sub === "list_reply") return "Chose from a list";
  if (sub === "nfm_reply") return "Answered a form";
  return "Tapped a reply button";
}

function orderSummary(message) {
  const items = (message.order && message.order.product_items) || [];
  return items.length ? `${items.length} item${items.length > 1 ? "s" : ""}` : "An order";
}

export const kindLabel = (message) => (KINDS[kindOf(message)] || KINDS.unknown)[1];

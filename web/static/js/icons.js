// Small line icons as inline SVG (no icon font, no emoji font needed on the agent's
// machine). Decorative: hidden from screen readers; callers add words beside them.

const SVG = "http://www.w3.org/2000/svg";

// 24x24 outlines, stroke = currentColor.
const PATHS = {
  camera: ["M4 8h3l2-3h6l2 3h3v11H4z", "M12 17a4 4 0 1 0 0-8 4 4 0 0 0 0 8z"],
  video: ["M3 7h12v10H3z", "M15 10l6-3v10l-6-3z"],
  audio: ["M9 18V5l11-2v13", "M6 21a3 3 0 1 0 0-6 3 3 0 0 0 0 6z", "M17 19a3 3 0 1 0 0-6 3 3 0 0 0 0 6z"],
  voice: ["M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z", "M5 11a7 7 0 0 0 14 0", "M12 18v3"],
  document: ["M14 3H6v18h12V7z", "M14 3v4h4", "M9 13h6", "M9 17h6"],
  sticker: ["M12 21a9 9 0 1 1 9-9", "M21 12l-9 9", "M9 10h.01", "M15 10h.01", "M8 15c2 2 5 2 7 0"],
  location: ["M12 21s-7-6.5-7-12a7 7 0 0 1 14 0c0 5.5-7 12-7 12z", "M12 11.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z"],
  contacts: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z", "M4 21a8 8 0 0 1 16 0"],
  interactive: ["M4 6h16v5H4z", "M4 14h16v5H4z"],
  button: ["M4 8h16v8H4z", "M9 12h6"],
  order: ["M3 4h2l3 11h10l3-8H7", "M9 20h.01", "M17 20h.01"],
  template: ["M5 4h14v16H5z", "M9 8h6", "M9 12h6", "M9 16h3"],
  system: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 11v5", "M12 8h.01"],
  unknown: ["M12 3l10 18H2z", "M12 10v4", "M12 17h.01"],
  request_welcome: ["M21 12a8 8 0 0 1-11.8 7L4 20l1.2-4.6A8 8 0 1 1 21 12z"],
  reaction: ["M12 20s-8-4.5-8-10a4.5 4.5 0 0 1 8-2.8A4.5 4.5 0 0 1 20 10c0 5.5-8 10-8 10z"],
  check: ["M5 12.5l4.5 4.5L19 7.5"],
  checks: ["M2 12.5L6.5 17 16 7.5", "M11.5 16l1 1L22 7.5"],
  clock: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 7v5l3 2"],
  alert: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 7v6", "M12 16.5h.01"],
  reply: ["M9 14L4 9l5-5", "M4 9h10a6 6 0 0 1 6 6v4"],
  retry: ["M4 4v6h6", "M20 20v-6h-6", "M20 10a8 8 0 0 0-14.6-3.6L4 10", "M4 14a8 8 0 0 0 14.6 3.6L20 14"],
  download: ["M12 4v11", "M7 10l5 5 5-5", "M5 20h14"],
  forward: ["M15 14l5-5-5-5", "M20 9H10a6 6 0 0 0-6 6v4"],
  ban: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M5.6 5.6l12.8 12.8"],
  pencil: ["M4 20h4L19 9l-4-4L4 16z"],
  external: ["M14 4h6v6", "M20 4l-9 9", "M18 14v6H4V6h6"],
};
PATHS.image = PATHS.camera;
PATHS.contact = PATHS.contacts;
PATHS.unsupported = PATHS.unknown;

export function icon(name, cls = "size-4") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `inline-block shrink-0 ${cls}`);
  for (const d of PATHS[name] || PATHS.unknown) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export const hasIcon = (name) => Object.prototype.hasOwnProperty.call(PATHS, name);

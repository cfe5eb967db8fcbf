// Delivery ticks of an outbound message: clock, one tick, two ticks, two blue ticks,
// or a red mark for failed. The word is there for screen readers and as a tooltip.

import { h, srOnly } from "./dom.js";
import { icon } from "./icons.js";

export const STATUS = {
  queued: { icon: "clock", label: "Sending", cls: "text-slate-400" },
  sent: { icon: "check", label: "Sent", cls: "text-slate-500" },
  delivered: { icon: "checks", label: "Delivered", cls: "text-slate-500" },
  read: { icon: "checks", label: "Read", cls: "text-sky-500" },
  played: { icon: "checks", label: "Played", cls: "text-sky-500" },
  failed: { icon: "alert", label: "Failed", cls: "text-red-600" },
  unknown: { icon: "alert", label: "Not known whether it was sent", cls: "text-amber-600" },
};

export function tick(status, size = "size-4") {
  const known = STATUS[status] || STATUS.queued;
  return h("span", { class: `status inline-flex items-center ${known.cls}`, title: known.label,
                     dataset: { status: status || "queued" } },
    icon(known.icon, size), srOnly(known.label));
}

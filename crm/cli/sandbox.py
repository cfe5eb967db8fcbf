"""``crm sandbox``: steer the sandbox that ``crm serve`` started, to try the failure flows.

    crm sandbox fail-next 131026          # the next send fails: recipient not on WhatsApp
    crm sandbox fail-next 130429 --times 3 --on messages
    crm sandbox fail-later 131047         # accepted, then a "failed" status webhook
    crm sandbox slow 5                    # the next send waits 5 s before Meta answers
    crm sandbox drop                      # the next send's connection closes unanswered
    crm sandbox statuses --delay 2 sent delivered
    crm sandbox auto-reply off
    crm sandbox clear                     # no more faults
    crm sandbox state

Each is one call to the sandbox's control API (found through ``CRM_DATA_DIR/sandbox.json``,
with the token of ``CRM_DATA_DIR/sandbox_control_token``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ENDPOINTS = ("messages", "media", "download", "templates", "read")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sandbox", help="make the local sandbox fail, slow down, ... "
                                            "(crm serve against the sandbox)")
    actions = parser.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")

    def targeted(name: str, help_text: str) -> argparse.ArgumentParser:
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--times", type=int, default=1,
                            help="how many requests in a row (default 1, -1: until clear)")
        action.add_argument("--on", choices=ENDPOINTS, default="messages",
                            help="which Graph call (default messages: sends)")
        return action

    fail = targeted("fail-next", "answer the next send with Meta's error CODE "
                                 "(131026 not on WhatsApp, 131047 window closed, 130429 "
                                 "throughput, 131000 unknown, 190 token expired, ...)")
    fail.add_argument("code", type=int)
    fail.set_defaults(run=lambda a: _behave({"fail": _spec(a, code=a.code)}))
    later = targeted("fail-later", "accept the next send, then post a failed status with CODE")
    later.add_argument("code", type=int)
    later.set_defaults(run=lambda a: _behave({"fail_async": _spec(a, code=a.code)}))
    slow = targeted("slow", "hold the next send SECONDS before answering")
    slow.add_argument("seconds", type=float)
    slow.set_defaults(run=lambda a: _behave({"slow": _spec(a, seconds=a.seconds)}))
    drop = targeted("drop", "close the next send's connection without an answer")
    drop.set_defaults(run=lambda a: _behave({"drop": _spec(a)}))

    statuses = actions.add_parser("statuses", help="which delivery statuses follow a send, "
                                                   "and how far apart")
    statuses.add_argument("status", nargs="*", choices=("sent", "delivered", "read"),
                          help="in order (none: no status at all)")
    statuses.add_argument("--delay", type=float, help="seconds between statuses")
    statuses.set_defaults(run=lambda a: _behave(
        {"statuses": a.status, **({"status_delay": a.delay} if a.delay is not None else {})}))
    reply = actions.add_parser("auto-reply", help="whether the sandbox customer answers "
                                                  "your first message")
    reply.add_argument("switch", choices=("on", "off"))
    reply.set_defaults(run=lambda a: _behave({"auto_reply": a.switch == "on"}))
    clear = actions.add_parser("clear", help="forget every fault not used yet")
    clear.set_defaults(run=lambda a: _behave({"clear_faults": True}))
    state = actions.add_parser("state", help="what the sandbox received and will do")
    state.set_defaults(run=run_state)


def _spec(args: argparse.Namespace, **fields: Any) -> dict[str, Any]:
    return {"times": args.times, "on": args.on, **fields}


def _control() -> tuple[str, dict[str, str]]:
    from crm.config import load_settings
    from crm.sandbox.launcher import control_headers, running_url

    settings = load_settings()
    url = running_url(settings.data_dir, "control")
    if url is None:
        raise SystemExit(f"crm: no sandbox is running on {settings.data_dir}: start crm serve "
                         "without any WHATSAPP_* setting (or with CRM_SANDBOX=on) first")
    return url, control_headers(settings.data_dir)


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    import httpx

    control, headers = _control()
    url = control + path
    try:
        answer = httpx.request(method, url, json=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise SystemExit(f"crm: could not reach the sandbox at {url}: {exc}") from None
    if answer.status_code != 200:
        raise SystemExit(f"crm: the sandbox refused: {answer.text[:300]}")
    return answer.json()


def _behave(body: dict[str, Any]) -> int:
    _call("POST", "/_sandbox/behaviour", body)
    print(f"crm: sandbox told {json.dumps(body)}", file=sys.stderr)
    return 0


def run_state(args: argparse.Namespace) -> int:
    print(json.dumps(_call("GET", "/_sandbox/state"), indent=2))
    return 0

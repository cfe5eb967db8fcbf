"""The rule format: checking what an admin sends, and the built-in rules.

``{"name", "enabled", "when": <trigger>, "if": [<conditions>], "then": [<actions>]}``
(the README's "Automation" section lists every trigger, condition and action). A rule
is checked whole before it is saved, so the worker never meets one it cannot run.
"""

from __future__ import annotations

import re
from typing import Any

from crm.events.team import STATUSES

TRIGGERS = ("message.received", "chat.created", "chat.waiting", "window.closing")
#: Triggers about one customer message (keywords and message types apply to it).
MESSAGE_TRIGGERS = ("message.received", "chat.created")
TIMED = ("chat.waiting", "window.closing")
MAX_NAME = 80
MAX_TEXT = 4096
MAX_PATTERN = 500
MAX_MINUTES = 24 * 60


class BadRule(ValueError):
    """A rule that cannot be saved; the message says what to change."""


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadRule(f"{what} must be text of 1 to {limit} characters")
    return value


def _names(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v.strip() for v in value)):
        raise BadRule(f"{what} must be a non-empty list of text")
    return [v.strip() for v in value]


def check_when(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"trigger": raw}
    if not isinstance(raw, dict) or raw.get("trigger") not in TRIGGERS:
        raise BadRule(f"when must be one of {', '.join(TRIGGERS)} "
                      '(as "message.received" or {"trigger": ..., "minutes": N})')
    trigger = raw["trigger"]
    if trigger not in TIMED:
        return {"trigger": trigger}
    minutes = raw.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not (
            1 <= minutes <= MAX_MINUTES):
        raise BadRule(f"{trigger} needs minutes: a whole number from 1 to {MAX_MINUTES}")
    return {"trigger": trigger, "minutes": minutes}


def _one(item: Any, what: str) -> tuple[str, Any]:
    if not isinstance(item, dict) or len(item) != 1:
        raise BadRule(f"each {what} is an object with one key, such as "
                      + ('{"keywords": ["price"]}' if what == "condition"
                         else '{"add_labels": ["VIP"]}'))
    return next(iter(item.items()))


def check_condition(item: Any, trigger: str) -> dict[str, Any]:
    key, value = _one(item, "condition")
    if key in ("keywords", "regex", "message_type") and trigger not in MESSAGE_TRIGGERS:
        raise BadRule(f"{key} is about a customer's message: use it with "
                      "message.received or chat.created")
    if key == "hours":
        if value not in ("inside", "outside"):
            raise BadRule('hours is "inside" or "outside" (business hours)')
        return {key: value}
    if key == "keywords":
        return {key: [_text(k, "a keyword", 100).strip() for k in _names(value, "keywords")]}
    if key == "regex":
        pattern = _text(value, "regex", MAX_PATTERN)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise BadRule(f"regex does not compile: {exc}") from None
        return {key: pattern}
    if key in ("has_label", "lacks_label"):
        return {key: _text(value, key, 40).strip()}
    if key in ("has_attribute", "lacks_attribute"):
        if not isinstance(value, dict) or set(value) - {"name", "value"}:
            raise BadRule(f'{key} is {{"name": "<column>", "value": "<text>"}} '
                          "(value left out: any value)")
        found = {"name": _text(value.get("name"), f"{key}.name", 100)}
        if value.get("value") is not None:
            found["value"] = _text(value["value"], f"{key}.value", 1000)
        return {key: found}
    if key == "assigned":
        if not isinstance(value, bool):
            raise BadRule("assigned is true (someone owns the chat) or false (nobody)")
        return {key: value}
    if key == "status":
        statuses = _names(value, "status")
        if any(s not in STATUSES for s in statuses):
            raise BadRule(f"status is one or more of {', '.join(STATUSES)}")
        return {key: statuses}
    if key == "message_type":
        return {key: _names(value, "message_type")}
    raise BadRule(f"unknown condition {key!r}: hours, keywords, regex, has_label, "
                  "lacks_label, has_attribute, lacks_attribute, assigned, status, "
                  "message_type")


def _reply(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) != 1:
        raise BadRule('reply is {"text": ...}, {"quick_reply": "<shortcut>"} or '
                      '{"template": {"name", "language", "variables"}}')
    kind, body = next(iter(value.items()))
    if kind == "text":
        return {"text": _text(body, "reply.text")}
    if kind == "quick_reply":
        return {"quick_reply": _text(body, "reply.quick_reply", 33).strip().lstrip("/")}
    if kind == "template":
        if not isinstance(body, dict):
            raise BadRule("reply.template is an object with name and language")
        name, language = body.get("name"), body.get("language")
        if not isinstance(name, str) or not re.match(r"^[a-z0-9_]{1,512}$", name):
            raise BadRule("reply.template.name is the template's name")
        if not isinstance(language, str) or not re.match(r"^[A-Za-z]{2,3}([_-]\w+)*$",
                                                         language):
            raise BadRule("reply.template.language is a code such as en_US")
        variables = body.get("variables") or {}
        if not isinstance(variables, dict) or not all(
                isinstance(k, str) and k.isdigit() and isinstance(v, str)
                for k, v in variables.items()):
            raise BadRule('reply.template.variables is {"1": "{{name}}", ...}')
        found: dict[str, Any] = {"name": name, "language": language}
        if variables:
            found["variables"] = variables
        return {"template": found}
    raise BadRule(f"unknown reply {kind!r}: text, quick_reply or template")


def check_action(item: Any) -> dict[str, Any]:
    key, value = _one(item, "action")
    if key == "reply":
        return {key: _reply(value)}
    if key == "assign":
        return {key: _text(value, "assign (an agent's name or round_robin)", 100).strip()}
    if key == "add_labels":
        return {key: _names(value, "add_labels")}
    if key == "set_status":
        if value not in STATUSES:
            raise BadRule(f"set_status is one of {', '.join(STATUSES)} "
                          "(snoozed: until business hours begin)")
        return {key: value}
    if key == "note":
        return {key: _text(value, "note")}
    raise BadRule(f"unknown action {key!r}: reply, assign, add_labels, set_status, note")


def check_rule(body: Any, *, partial_of: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rule as it will be saved. ``partial_of``: the rule being changed, whose
    fields stand for those the body leaves out (``{"enabled": true}`` alone enables)."""
    if not isinstance(body, dict):
        raise BadRule("send a rule: {name, enabled, when, if, then}")
    unknown = set(body) - {"name", "enabled", "when", "if", "then"}
    if unknown:
        raise BadRule(f"unknown field {sorted(unknown)[0]!r}: name, enabled, when, if, then")
    base = partial_of or {}
    merged = {key: body[key] if key in body else base.get(key)
              for key in ("name", "enabled", "when", "if", "then")}
    name = _text(merged["name"], "name", MAX_NAME).strip()
    enabled = merged["enabled"] if merged["enabled"] is not None else True
    if not isinstance(enabled, bool):
        raise BadRule("enabled is true or false")
    when = check_when(merged["when"])
    conditions = merged["if"] or []
    actions = merged["then"] or []
    if not isinstance(conditions, list) or not isinstance(actions, list):
        raise BadRule("if and then are lists")
    checked_if = [check_condition(c, when["trigger"]) for c in conditions]
    checked_then = [check_action(a) for a in actions]
    if not checked_then:
        raise BadRule("a rule needs at least one action in then")
    if sum(1 for a in checked_then if "reply" in a) > 1:
        raise BadRule("a rule sends at most one reply")
    return {"name": name, "enabled": enabled, "when": when, "if": checked_if,
            "then": checked_then}


#: The built-in rules, off until an admin enables them (their text may be changed).
BUILTINS: dict[str, dict[str, Any]] = {
    "builtin.away": {
        "name": "Away message", "enabled": False, "when": {"trigger": "message.received"},
        "if": [{"hours": "outside"}],
        "then": [{"reply": {"text": "Thank you for your message! We are closed right now "
                                    "and will answer as soon as we open."}}]},
    "builtin.welcome": {
        "name": "Welcome message", "enabled": False, "when": {"trigger": "chat.created"},
        "if": [],
        "then": [{"reply": {"text": "Welcome, and thank you for writing to us! "
                                    "How can we help?"}}]},
    "builtin.waiting": {
        "name": "We'll be right with you", "enabled": False,
        "when": {"trigger": "chat.waiting", "minutes": 10}, "if": [{"hours": "inside"}],
        "then": [{"reply": {"text": "Thanks for waiting: we'll be right with you."}}]},
}

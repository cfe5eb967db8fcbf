"""Whether a rule's conditions hold for a trigger: pure, given the facts and the time.

Business-hours conditions must hold both when the trigger happened (the customer's
message, or the moment a wait or a window became due) and now: after a restart the
worker does not tell a customer who wrote at 08:55 "we are closed" at 09:05.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crm.automation.facts import ChatFacts
from crm.automation.matching import fold, has_keyword, matches
from crm.hours import BusinessHours


@dataclass(frozen=True)
class Trigger:
    """One occasion for a rule: what, when (epoch s), and what it is about."""

    kind: str
    at: float
    #: The idempotency key's tail: the chat and the waiting period or window.
    key: str
    period: int | None = None
    #: The customer's message (``message.received`` data) and its position.
    message: dict[str, Any] | None = None
    position: int | None = None


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _text(message: dict[str, Any] | None) -> str | None:
    if not message:
        return None
    parts = [message.get("text"), message.get("caption")]
    button = message.get("button")
    if isinstance(button, dict):
        parts.append(button.get("text"))
    return " ".join(p for p in parts if isinstance(p, str)) or None


def holds(condition: dict[str, Any], trigger: Trigger, facts: ChatFacts,
          hours: BusinessHours, now: float) -> bool:
    key, value = next(iter(condition.items()))
    if key == "hours":
        inside = value == "inside"
        return (hours.is_open(moment(trigger.at)) == inside
                and hours.is_open(moment(now)) == inside)
    if key == "keywords":
        return has_keyword(_text(trigger.message), value)
    if key == "regex":
        return matches(_text(trigger.message), value)
    if key in ("has_label", "lacks_label"):
        present = fold(value) in {fold(name) for name in facts.labels}
        return present if key == "has_label" else not present
    if key in ("has_attribute", "lacks_attribute"):
        attributes = facts.customer.get("attributes") or {}
        found = attributes.get(value["name"])
        if "value" in value:
            present = found is not None and fold(str(found)) == fold(value["value"])
        else:
            present = found is not None and str(found).strip() != ""
        return present if key == "has_attribute" else not present
    if key == "assigned":
        return (facts.assignee is not None) == value
    if key == "status":
        return facts.status in value
    if key == "message_type":
        return bool(trigger.message) and trigger.message.get("message_type") in value  # type: ignore[union-attr]
    return False


def all_hold(rule: dict[str, Any], trigger: Trigger, facts: ChatFacts,
             hours: BusinessHours, now: float) -> bool:
    return all(holds(c, trigger, facts, hours, now) for c in rule["if"])

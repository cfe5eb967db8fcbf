"""The vocabulary of automation: rules, holidays, and what a rule did.

A rule's change is an event on the ``automations`` stream, carrying the whole rule and
its version (1, 2, ... per rule id). What a rule did is an ``automation.fired`` record
plus the action events themselves (``message.queued``, ``chat.assigned``, ...), all in
one batch with actor ``system:automation:<rule id>``; each carries the rule's id, name
and version under ``automation`` (``AutomationMark``).
"""

from __future__ import annotations

from typing import Any

from crm.events.model import Event

AUTOMATIONS_STREAM = "automations"
HOLIDAYS_STREAM = "holidays"
ACTOR_PREFIX = "system:automation:"


def automation_actor(rule_id: str) -> str:
    return f"{ACTOR_PREFIX}{rule_id}"


class AutomationRuleSaved(Event):
    """A rule, new or changed (built-in ones too, once an admin enables or edits one)."""

    type = "automation.rule_saved"
    rule_id: str
    version: int
    name: str
    enabled: bool
    when: dict[str, Any]
    conditions: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    builtin: str | None = None


class AutomationRuleDeleted(Event):
    type = "automation.rule_deleted"
    rule_id: str
    version: int


class AutomationFired(Event):
    """A rule's decision for one chat: the audit record beside its actions.

    ``trigger`` names what fired it; ``period`` the waiting period (the position of the
    customer message that began it) or the window it is about; ``skipped`` says why no
    action was taken (the daily cap, a missing template variable), if none was."""

    type = "automation.fired"
    rule_id: str
    version: int
    phone: str
    trigger: str
    event: int | None = None
    period: int | None = None
    actions: list[str] = []
    skipped: str | None = None


class HolidayAdded(Event):
    """A date (``YYYY-MM-DD`` in ``CRM_TIMEZONE``) on which the business is closed."""

    type = "holiday.added"
    date: str
    name: str | None = None


class HolidayRemoved(Event):
    type = "holiday.removed"
    date: str

"""A rule's actions as events: one batch, every event keyed, actor the rule.

The batch is ``automation.fired`` (the audit record: which rule, which version, what it
did or why not) followed by the actions. Its keys derive from the rule, the chat and the
waiting period (or window), so however many processes or restarts plan the same
firing, the log takes it once: the batch is atomic, and a key already there means it
happened. Planning reads (labels, agents, quick replies, the round-robin pick) on a
reader connection; the worker records the batch.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any

from crm.automation.conditions import Trigger, moment
from crm.automation.facts import ChatFacts, quick_reply_text
from crm.customers.variables import MissingAttribute, fill
from crm.events import Event, NewEvent, format_time
from crm.events.automation import AutomationFired, automation_actor
from crm.events.messages import MessageQueued, chat_stream
from crm.events.team import ChatAssigned, ChatLabelsChanged, ChatStatusChanged, NoteAdded
from crm.hours import BusinessHours
from crm.projections import agents, labels
from crm.team.assigner import pick
from crm.team.placeholders import expand

#: The name notes written by a rule carry as their author.
NOTE_AUTHOR = "automation"


@dataclass
class Limits:
    max_per_day: int
    capacity: int


@dataclass
class Plan:
    actions: list[Event] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def fired_key(rule: dict[str, Any], trigger: Trigger) -> str:
    return f"automation:{rule['id']}:{trigger.key}"


def _reply(db: sqlite3.Connection, mark: dict[str, Any], spec: dict[str, Any],
           facts: ChatFacts, now: float, limits: Limits, plan: Plan) -> None:
    if facts.sent_today >= limits.max_per_day:
        plan.skipped.append("daily_cap")
        return
    if "template" in spec:
        template = dict(spec["template"])
        variables = template.pop("variables", None)
        if variables:
            try:
                values = fill(variables, facts.customer)
            except MissingAttribute as exc:
                plan.skipped.append(f"missing_attribute:{exc.attribute}")
                return
            template["components"] = [{"type": "body", "parameters": [
                {"type": "text", "text": values[k]} for k in sorted(values, key=int)]}]
        plan.actions.append(MessageQueued(
            message_id=uuid.uuid4().hex, phone=facts.phone, message_type="template",
            template=template, automation=mark))
        plan.done.append("reply")
        return
    closes = facts.window_closes
    if closes is None or closes <= now:
        plan.skipped.append("window_closed")
        return
    text = spec.get("text")
    if text is None:
        text = quick_reply_text(db, spec["quick_reply"])
        if text is None:
            plan.skipped.append(f"unknown_quick_reply:{spec['quick_reply']}")
            return
    text = expand(text, name=facts.customer.get("name"), phone=facts.phone, agent="")
    plan.actions.append(MessageQueued(message_id=uuid.uuid4().hex, phone=facts.phone,
                                      message_type="text", text=text, automation=mark))
    plan.done.append("reply")


def _assign(db: sqlite3.Connection, mark: dict[str, Any], target: str, facts: ChatFacts,
            limits: Limits, plan: Plan) -> None:
    if target == "round_robin":
        if facts.assignee is not None:
            return
        chosen = pick(db, limits.capacity)
        if chosen is None:
            plan.skipped.append("nobody_to_assign")
            return
        plan.actions.append(ChatAssigned(phone=facts.phone, agent=chosen, by="round_robin",
                                         automation=mark))
    else:
        found = agents.get_agent(db, target)
        if found is None or found["disabled"]:
            plan.skipped.append(f"unknown_agent:{target}")
            return
        if facts.assignee == target:
            return
        plan.actions.append(ChatAssigned(phone=facts.phone, agent=target, automation=mark))
    plan.done.append("assign")


def _labels(db: sqlite3.Connection, mark: dict[str, Any], names: list[str],
            facts: ChatFacts, plan: Plan) -> None:
    known = labels.by_name(db, names)
    have = {labels.name_key(n) for n in facts.labels}
    add = [known[labels.name_key(n)] for n in names
           if labels.name_key(n) in known and labels.name_key(n) not in have]
    missing = [n for n in names if labels.name_key(n) not in known]
    if missing:
        plan.skipped.append(f"unknown_label:{missing[0]}")
    if add:
        plan.actions.append(ChatLabelsChanged(phone=facts.phone, add=add, automation=mark))
        plan.done.append("add_labels")


def _status(mark: dict[str, Any], status: str, facts: ChatFacts, hours: BusinessHours,
            now: float, plan: Plan) -> None:
    until = None
    if status == "snoozed":
        opening = hours.next_opening(moment(now))
        if opening is None or opening.timestamp() <= now:
            plan.skipped.append("open_now")  # snoozing until now would wake at once
            return
        until = format_time(opening)
    elif facts.status == status:
        return
    plan.actions.append(ChatStatusChanged(phone=facts.phone, status=status,
                                          until=until, automation=mark))
    plan.done.append("set_status")


def plan(db: sqlite3.Connection, rule: dict[str, Any], trigger: Trigger, facts: ChatFacts,
         hours: BusinessHours, now: float, limits: Limits) -> Plan:
    """The events a rule's actions make for this chat now (none may be possible)."""
    mark = {"rule_id": rule["id"], "name": rule["name"], "version": rule["version"]}
    found = Plan()
    for action in rule["then"]:
        key, value = next(iter(action.items()))
        if key == "reply":
            _reply(db, mark, value, facts, now, limits, found)
        elif key == "assign":
            _assign(db, mark, value, facts, limits, found)
        elif key == "add_labels":
            _labels(db, mark, value, facts, found)
        elif key == "set_status":
            _status(mark, value, facts, hours, now, found)
        elif key == "note":
            found.actions.append(NoteAdded(note_id=uuid.uuid4().hex, phone=facts.phone,
                                           text=value, agent=NOTE_AUTHOR, automation=mark))
            found.done.append("note")
    return found


def batch(rule: dict[str, Any], trigger: Trigger, facts: ChatFacts, planned: Plan,
          now: float) -> list[NewEvent]:
    """``automation.fired`` and the actions, keyed, at the worker's "now"."""
    key, actor, at = fired_key(rule, trigger), automation_actor(rule["id"]), moment(now)
    stream = chat_stream(facts.phone)
    fired = AutomationFired(
        rule_id=rule["id"], version=rule["version"], phone=facts.phone, trigger=trigger.kind,
        event=trigger.position, period=trigger.period, actions=planned.done,
        skipped=", ".join(planned.skipped) or None)
    return [fired.new(stream, actor=actor, occurred_at=at, idempotency_key=key),
            *(event.new(stream, actor=actor, occurred_at=at, idempotency_key=f"{key}:{i}")
              for i, event in enumerate(planned.actions, 1))]

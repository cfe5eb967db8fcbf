"""The automation worker: evaluates the rules, records what they do. A side effect,
like sending: it runs in the server only, never in ``crm replay``, and the
projections never evaluate a rule.

One per deployment: the process holding the ``automation`` lease (``crm.jobs.lease``)
does the work and keeps its own checkpoint. Each look it

* reads the customer messages recorded after its checkpoint (``message.received``,
  ``chat.created`` for a customer's first message ever), and
* checks the clock-driven triggers: chats waiting ``minutes`` (``chat.waiting``) and
  windows closing in ``minutes`` (``window.closing``), from ``automation_periods``.

What "still makes sense" is read at the log's head, not at the trigger: a message whose
waiting period an agent already ended (or that a newer period replaced) triggers
nothing; a window that closed gets no reminder; hours conditions must hold both at the
trigger and now. A rule applies only to what happened after it was saved. Never an
answer to a reaction, an edit, a status, a system notice, an imported message, a reply
quoting an automatic message, or an automatic message itself (those are
``message.queued``, which the worker does not read as a trigger). Every firing is keyed
by rule, chat and waiting period or window (``crm.automation.actions``), so two
processes or a restart record it once; a reply counts toward
``CRM_AUTOMATION_MAX_PER_DAY`` per chat and calendar day (``CRM_TIMEZONE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from crm.automation.actions import Limits, batch, fired_key, plan
from crm.automation.clock import Clock, clock_for
from crm.automation.conditions import Trigger, all_hold, moment
from crm.automation.facts import ChatFacts, is_automatic_wamid, read_facts
from crm.automation.rules import MESSAGE_TRIGGERS
from crm.config import Settings
from crm.events import Connection, Database, EventStore, RecordedEvent, epoch_seconds
from crm.hours import BusinessHours
from crm.jobs.lease import RENEW_EVERY, Lease
from crm.projections import automation_periods, automations
from crm.projections.automation_periods import NOT_WAKING
from crm.projections.chats import WINDOW

log = logging.getLogger("crm.automation")

LEASE = "automation"
POLL = 0.5
BATCH = 500
#: Keys known to be recorded, kept so a timed trigger is not looked up at every look.
REMEMBER = 20_000


def read_messages(conn: Connection, after: int, limit: int = BATCH
                  ) -> tuple[list[RecordedEvent], int]:
    """Customer messages after ``after`` and the position read up to."""
    store = EventStore.over(conn)
    upto = store.last_position()
    found = store.read_after(after, limit, types=("message.received",), upto=upto)
    return found, (found[-1].position if len(found) == limit else upto)


def _rules(conn: Connection) -> tuple[list[dict[str, Any]], list[Any]]:
    return automations.enabled_rules(conn), automations.holiday_dates(conn)


class AutomationWorker:
    def __init__(self, settings: Settings, db: Database, stopping: asyncio.Event,
                 clock: Clock) -> None:
        self.db = db
        self.stopping = stopping
        self.clock = clock
        self.base_hours = settings.hours()
        self.limits = Limits(settings.automation_max_per_day, settings.assignment_capacity)
        self.lease = Lease(db, name=LEASE)
        self.wake = asyncio.Event()
        self.after = 0
        self._saved = 0
        self._known: set[str] = set()

    # -- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        renewed = float("-inf")
        holding = False
        while not self.stopping.is_set():
            self.wake.clear()
            try:
                if time.monotonic() - renewed >= RENEW_EVERY:
                    holding = await self._keep(holding)
                    renewed = time.monotonic()
                if holding and self.lease.valid():
                    await self.step()
            except Exception:
                log.exception("automation worker: unexpected error")
            waits = [asyncio.ensure_future(self.stopping.wait()),
                     asyncio.ensure_future(self.wake.wait())]
            await asyncio.wait(waits, timeout=POLL, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
        if holding:
            await self.lease.release(self.after)

    async def _keep(self, holding: bool) -> bool:
        """Take or keep the lease; saves the checkpoint when it moved."""
        if not holding:
            if await self.lease.acquire():
                self.after = self._saved = await self.lease.checkpoint()
                self._known.clear()
                return True
            return False
        moved = self.after != self._saved
        held = await self.lease.renew(self.after if moved else None, idle=not moved)
        if held:
            self._saved = self.after
        return held

    async def step(self) -> None:
        """One look: new customer messages, then the clock's triggers."""
        rules, holidays = await self.db.read(_rules)
        if not rules:  # nothing to do, nor to remember: enabling a rule moves ``after``
            return
        hours = self.base_hours.with_holidays(holidays)
        # Nothing before the oldest enabled rule's save can trigger anything.
        self.after = max(self.after, min(r["saved_pos"] for r in rules))
        while self.lease.valid():
            found, upto = await self.db.read(read_messages, self.after)
            for event in found:
                if not self.lease.valid():
                    return  # not past what was not looked at: the next holder does it
                try:
                    await self.on_message(event, rules, hours)
                except Exception:  # one bad event must not stop every later one
                    log.exception("automation: could not evaluate the rules for event %d",
                                  event.position)
                self.after = event.position
            self.after = upto
            if len(found) < BATCH:
                break
        if self.lease.valid():
            try:
                await self.timed(rules, hours)
            except Exception:
                log.exception("automation: could not evaluate the timed rules")

    # -- triggers ---------------------------------------------------------------------

    async def _facts(self, phone: str, hours: BusinessHours, now: float) -> ChatFacts:
        start, _ = hours.day_bounds(moment(now))
        return await self.db.read(read_facts, phone, int(start.timestamp() * 1000))

    async def on_message(self, event: RecordedEvent, rules: list[dict[str, Any]],
                         hours: BusinessHours) -> None:
        data = event.data
        if data.get("imported") or data.get("message_type", "unknown") in NOT_WAKING:
            return
        wanted = [r for r in rules if r["when"]["trigger"] in MESSAGE_TRIGGERS
                  and event.position > r["saved_pos"]]
        if not wanted:
            return
        now = self.clock()
        facts = await self._facts(data["phone"], hours, now)
        period = facts.period.get("period_pos")
        if period is None or period > event.position:
            return  # answered meanwhile (or a newer waiting period began)
        if await self.db.read(is_automatic_wamid, data.get("reply_to_wamid")):
            return  # a reply to one of our automatic messages
        created = facts.period.get("first_in_pos") == event.position
        at = epoch_seconds(event.occurred_at)
        for rule in wanted:
            kind = rule["when"]["trigger"]
            if kind == "chat.created" and not created:
                continue
            tail = "created" if kind == "chat.created" else str(period)
            trigger = Trigger(kind, at, f"{facts.phone}:{tail}", period, data, event.position)
            if await self._fire(rule, trigger, facts, hours, now):
                facts = await self._facts(facts.phone, hours, now)

    async def timed(self, rules: list[dict[str, Any]], hours: BusinessHours) -> None:
        now = self.clock()
        for rule in rules:
            kind, minutes = rule["when"]["trigger"], rule["when"].get("minutes", 0)
            if kind == "chat.waiting":
                chats = await self.db.read(automation_periods.waiting, now - minutes * 60,
                                           rule["saved_pos"])
                for chat in chats:
                    await self._timed(rule, Trigger(
                        kind, chat["period_ts"] + minutes * 60,
                        f"{chat['phone']}:{chat['period_pos']}", chat["period_pos"]),
                        chat["phone"], hours, now)
            elif kind == "window.closing":
                window = WINDOW.total_seconds()
                chats = await self.db.read(automation_periods.windows_between, now - window,
                                           now - window + minutes * 60, rule["saved_pos"])
                for chat in chats:
                    closes = chat["last_in_ts"] + window
                    if closes <= now:
                        continue
                    await self._timed(rule, Trigger(
                        kind, closes - minutes * 60,
                        f"{chat['phone']}:window:{chat['last_in_pos']}",
                        chat["period_pos"], position=chat["last_in_pos"]),
                        chat["phone"], hours, now)

    async def _timed(self, rule: dict[str, Any], trigger: Trigger, phone: str,
                     hours: BusinessHours, now: float) -> None:
        key = fired_key(rule, trigger)
        if key in self._known:
            return
        facts = await self._facts(phone, hours, now)
        await self._fire(rule, trigger, facts, hours, now)

    async def _fire(self, rule: dict[str, Any], trigger: Trigger, facts: ChatFacts,
                    hours: BusinessHours, now: float) -> bool:
        """Record the rule's actions for this trigger, once; True if this call did."""
        key = fired_key(rule, trigger)
        if key in self._known:
            return False
        if await self.db.find_by_key(key) is not None:
            self._remember(key)
            return False
        if not all_hold(rule, trigger, facts, hours, now):
            return False
        if not self.lease.valid():
            return False
        planned = await self.db.read(plan, rule, trigger, facts, hours, now, self.limits)
        result = await self.db.record(batch(rule, trigger, facts, planned, now))
        self._remember(key)
        if result.new[0]:
            log.info("rule %s (%s) fired for %s: %s%s", rule["id"], trigger.kind, facts.phone,
                     ", ".join(planned.done) or "nothing",
                     f" (skipped: {', '.join(planned.skipped)})" if planned.skipped else "")
        return bool(result.new[0])

    def _remember(self, key: str) -> None:
        if len(self._known) >= REMEMBER:
            self._known.clear()
        self._known.add(key)


@dataclass
class AutomationRunner:
    worker: AutomationWorker
    task: asyncio.Task[None]


async def start(settings: Settings, db: Database, stopping: asyncio.Event,
                clock: Clock | None = None) -> AutomationRunner:
    """Called from ``before_serving``; ``clock``: tests' own (else ``clock_for``)."""
    worker = AutomationWorker(settings, db, stopping, clock or clock_for(settings))
    loop = asyncio.get_running_loop()

    def wake(_position: int) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(worker.wake.set)

    db.writer.add_listener(wake)
    return AutomationRunner(worker, asyncio.create_task(worker.run(), name="crm-automation"))


async def stop(runner: AutomationRunner) -> None:
    runner.worker.stopping.set()
    try:
        await asyncio.wait_for(asyncio.shield(runner.task), 5)
    except (TimeoutError, asyncio.CancelledError):
        runner.task.cancel()

"""The pure parts of automation: business hours, keyword matching, the rule format,
template variables, conditions at two moments, and the waiting-period projection
(folded live and rebuilt by replay to the same rows)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from crm.automation.conditions import Trigger, holds
from crm.automation.facts import ChatFacts
from crm.automation.matching import has_keyword, matches
from crm.automation.rules import BUILTINS, BadRule, check_rule
from crm.customers.variables import MissingAttribute, fill
from crm.events import EventStore
from crm.events.team import ChatStatusChanged
from crm.hours import BadHours, BusinessHours
from crm.projections import automation_periods, default_projector
from crm.projections.replay import check
from tests.factories import queued, received

UTC_HOURS = BusinessHours.parse("Mon-Fri 09:00-18:00, Sat 10:00-14:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("moment", "open_"), [
    ("2026-12-07T08:59", False), ("2026-12-07T09:00", True), ("2026-12-07T17:59", True),
    ("2026-12-07T18:00", False), ("2026-12-12T10:30", True), ("2026-12-12T14:00", False),
    ("2026-12-13T12:00", False),  # Sunday
])
def test_business_hours(moment: str, open_: bool) -> None:
    assert UTC_HOURS.is_open(at(moment)) is open_


def test_next_opening_skips_the_weekend_and_holidays_in_the_business_zone() -> None:
    berlin = BusinessHours.parse("Mon-Fri 09:00-18:00", "Europe/Berlin",
                                 holidays=[date(2026, 12, 14)])
    opening = berlin.next_opening(at("2026-12-11T18:30"))  # Friday 19:30 in Berlin
    assert opening is not None
    assert opening.isoformat() == "2026-12-15T09:00:00+01:00"  # Monday is a holiday
    assert not berlin.is_open(at("2026-12-14T10:00"))
    assert berlin.next_opening(at("2026-12-15T09:30")) == at("2026-12-15T09:30")
    start, end = berlin.day_bounds(at("2026-12-15T23:30"))  # already the 16th in Berlin
    assert start.isoformat() == "2026-12-16T00:00:00+01:00" and (end - start).days == 1


def test_days_wrap_and_empty_means_always_open() -> None:
    late = BusinessHours.parse("Fri-Mon 20:00-24:00")
    assert late.is_open(at("2026-12-13T23:59")) and late.is_open(at("2026-12-07T20:00"))
    assert not late.is_open(at("2026-12-08T21:00"))  # Tuesday
    assert BusinessHours.parse("").is_open(at("2026-12-13T03:00"))
    closed_today = BusinessHours.parse("", holidays=[date(2026, 12, 25)])
    assert not closed_today.is_open(at("2026-12-25T12:00"))


@pytest.mark.parametrize("text", ["Mon 9-5", "09:00-18:00", "Mon-Fri 18:00-09:00",
                                  "Funday 09:00-10:00", "Mon-Fri", "Mon 09:60-10:00"])
def test_bad_business_hours_are_refused(text: str) -> None:
    with pytest.raises(BadHours):
        BusinessHours.parse(text)
    with pytest.raises(BadHours):
        BusinessHours.parse("", "Mars/Olympus")


def test_keywords_are_whole_words_without_case_or_accents_in_any_script() -> None:
    assert has_keyword("What's the PRICE?", ["price"])
    assert not has_keyword("priceless", ["price"])
    assert has_keyword("Quanto é o preço?", ["PRECO"])
    assert has_keyword("请问价格多少？", ["价格"])
    assert has_keyword("ราคาเท่าไหร่", ["ราคา"])  # Thai, no spaces either
    assert has_keyword("opening   hours?", ["opening hours"])
    assert has_keyword("ＰＲＩＣＥ", ["price"])  # full-width letters
    assert not has_keyword("", ["price"]) and not has_keyword("hello", [])
    assert matches("Order #12345", r"#\d{5}") and not matches("Order", r"#\d")


def test_rules_are_checked_whole() -> None:
    rule = check_rule({"name": " Prices ", "when": "message.received",
                       "if": [{"keywords": "price"}, {"status": "open"}],
                       "then": [{"reply": {"quick_reply": "/prices"}}]})
    assert rule == {"name": "Prices", "enabled": True, "when": {"trigger": "message.received"},
                    "if": [{"keywords": ["price"]}, {"status": ["open"]}],
                    "then": [{"reply": {"quick_reply": "prices"}}]}
    enabled = check_rule({"enabled": True}, partial_of=BUILTINS["builtin.waiting"])
    assert enabled["enabled"] is True and enabled["when"] == {"trigger": "chat.waiting",
                                                              "minutes": 10}
    for bad in (
        {"name": "x", "when": "chat.waiting", "then": [{"note": "n"}]},  # no minutes
        {"name": "x", "when": {"trigger": "window.closing", "minutes": 60},
         "if": [{"keywords": ["a"]}], "then": [{"note": "n"}]},  # no message to read
        {"name": "x", "when": "message.received", "then": []},
        {"name": "x", "when": "message.received",
         "then": [{"reply": {"text": "a"}}, {"reply": {"text": "b"}}]},
        {"name": "x", "when": "message.received", "then": [{"set_status": "gone"}]},
        {"name": "x", "when": "message.received", "then": [{"note": "n", "assign": "a"}]},
        {"name": "x", "when": "message.received", "if": [{"regex": "(("}],
         "then": [{"note": "n"}]},
        {"name": "x", "when": "message.received", "then": [{"note": "n"}], "extra": 1},
    ):
        with pytest.raises(BadRule):
            check_rule(bad)


def test_template_variables_from_a_customer() -> None:
    customer = {"name": "Ana", "phone": "85291234567", "attributes": {"Season": "Winter"}}
    assert fill({"1": "{{name}}", "2": "{{attr:Season}} sale", "3": "{{ phone }}"},
                customer) == {"1": "Ana", "2": "Winter sale", "3": "85291234567"}
    with pytest.raises(MissingAttribute) as missing:
        fill({"1": "{{attr:Size}}"}, customer)
    assert missing.value.attribute == "Size"
    with pytest.raises(MissingAttribute):
        fill({"1": "{{name}}"}, {"phone": "1", "name": ""})


def test_hours_conditions_hold_at_the_trigger_and_now() -> None:
    facts = ChatFacts(phone="1")
    night = at("2026-12-07T08:55").timestamp()
    trigger = Trigger("message.received", night, "1:1")
    outside = {"hours": "outside"}
    assert holds(outside, trigger, facts, UTC_HOURS, night + 60)
    assert not holds(outside, trigger, facts, UTC_HOURS, night + 600)  # 09:05: open now
    labelled = ChatFacts(phone="1", labels=["VIP"], assignee="ana",
                         customer={"attributes": {"Season": "Winter"}})
    assert holds({"has_label": "vip"}, trigger, labelled, UTC_HOURS, night)
    assert holds({"lacks_label": "Sales"}, trigger, labelled, UTC_HOURS, night)
    assert holds({"assigned": True}, trigger, labelled, UTC_HOURS, night)
    assert holds({"has_attribute": {"name": "Season", "value": "winter"}}, trigger,
                 labelled, UTC_HOURS, night)
    assert holds({"lacks_attribute": {"name": "Size"}}, trigger, labelled, UTC_HOURS, night)


def test_waiting_periods_end_with_an_agent_not_with_a_rule(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    projector = default_projector()
    store = EventStore(db, projector)
    try:
        projector.create_schema(store.conn)
        first = store.record([received("111", "hi", at=at("2026-12-07T20:00"))])[0]
        automatic = queued("auto1", "111", "We are closed", agent="ana")
        automatic.data.pop("agent")
        automatic.data["automation"] = {"rule_id": "builtin.away", "name": "Away", "version": 1}
        store.record([automatic, received("111", "hello?", at=at("2026-12-07T20:05"))])
        row = automation_periods.chat(store.conn, "111")
        assert row is not None
        assert (row["first_in_pos"], row["period_pos"], row["last_kind"]) == (first, first, "in")
        store.record([queued("agent1", "111", "Can I have your order number?")])
        row = automation_periods.chat(store.conn, "111")
        assert row is not None and row["period_pos"] is None and row["last_kind"] == "question"
        again = store.record([received("111", "1234", at=at("2026-12-08T08:00"))])[0]
        row = automation_periods.chat(store.conn, "111")
        assert row is not None and row["period_pos"] == again and row["first_in_pos"] == first
        store.record([ChatStatusChanged(phone="111", status="resolved").new("chat:111")])
        row = automation_periods.chat(store.conn, "111")
        assert row is not None and row["period_pos"] is None
    finally:
        store.close()
    assert check(db, projector).identical


def test_the_test_clock_is_refused_unless_the_graph_api_is_local(tmp_path: Path) -> None:
    from crm.automation.clock import FileClock, UnsafeTestClock, clock_for
    from crm.config import Settings

    now = tmp_path / "now"
    now.write_text("1800000000.5")
    with pytest.raises(UnsafeTestClock):
        clock_for(Settings(data_dir=tmp_path, test_clock_file=now))  # Meta's URL
    local = clock_for(Settings(data_dir=tmp_path, test_clock_file=now,
                               whatsapp_graph_url="http://127.0.0.1:9/v25.0"))
    assert isinstance(local, FileClock) and local() == 1800000000.5
    now.write_text("")  # a test rewriting it: the last reading stands
    assert local() == 1800000000.5

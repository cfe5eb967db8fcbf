"""The pure parts of campaigns: variables, opt-out keywords, pacing, drafts, CSVs."""

from __future__ import annotations

import pytest

from crm.campaigns import audience, batch, draft
from crm.campaigns.keywords import keyword_events
from crm.campaigns.pacing import Pace
from crm.customers.variables import MissingAttribute, fill
from crm.events.messages import MessageReceived, chat_stream

ANA = {"phone": "85291234567", "name": "Ana", "attributes": {"Season": "winter", "Club": ""}}
KEYWORDS = "STOP,UNSUBSCRIBE,取消訂閱"


def test_variables_come_from_the_customer_and_a_missing_one_names_itself() -> None:
    assert fill({"1": "{{name}}", "2": "the {{ attr:Season }} prices", "3": "{{phone}}"},
                ANA) == {"1": "Ana", "2": "the winter prices", "3": "85291234567"}
    for variables, missing in (({"1": "{{attr:Club}}"}, "Club"), ({"1": "{{attr:City}}"}, "City"),
                               ({"1": "{{name}}"}, "name")):
        with pytest.raises(MissingAttribute) as raised:
            fill(variables, {**ANA, "name": None})
        assert raised.value.attribute == missing
    [body] = batch.body_parameters({"2": "b", "1": "a", "10": "j"})
    assert [p["text"] for p in body["parameters"]] == ["a", "b", "j"]


def received(text: str, imported: bool = False) -> object:
    return MessageReceived(phone=ANA["phone"], wamid=f"wamid.{text}", message_type="text",
                           text=text, imported=imported or None).new(chat_stream(ANA["phone"]))


def test_only_a_whole_keyword_message_opts_out_and_start_opts_in() -> None:
    events = [received(t) for t in (" stop ", "Stop please", "取消訂閱", "START", "unsubscribe")]
    events.append(received("STOP", imported=True))  # history: not a request of today
    found = keyword_events(events, KEYWORDS)  # type: ignore[arg-type]
    assert [(e.type, e.data["keyword"]) for e in found] == [
        ("customer.opted_out", "STOP"), ("customer.opted_out", "取消訂閱"),
        ("customer.opted_in", "START"), ("customer.opted_out", "UNSUBSCRIBE")]
    assert {e.idempotency_key for e in found} == {"opt:wamid. stop ", "opt:wamid.取消訂閱",
                                                  "opt:wamid.START", "opt:wamid.unsubscribe"}


def test_a_throughput_error_pauses_and_halves_the_rate_then_it_recovers() -> None:
    pace = Pace(100.0, at=0.0)
    assert pace.take(1.0, 1000) == 25  # a burst is at most a quarter second's worth
    pace.observe(1, 1.0)
    assert pace.take(1.2, 1000) == 0  # paused
    assert pace.effective_rate == 50.0
    assert pace.take(1.6, 1000) > 0
    pace.take(30.0, 1000)
    assert pace.effective_rate == 100.0


def test_a_draft_is_checked_before_anything_is_recorded() -> None:
    good = {"name": "x", "template": {"name": "t", "language": "en"}, "audience": {"phones": ["1"]}}
    assert draft.parse(good).rate is None
    for bad in ({**good, "name": " "}, {**good, "template": {"name": "t"}},
                {**good, "rate": 0}, {**good, "rate": True}, {**good, "schedule_at": "soon"},
                {**good, "audience": {"labels": "vip"}}, {**good, "variables": {"1": 2}}):
        with pytest.raises(draft.BadDraft):
            draft.parse(bad)
    templates = [{"name": "t", "language": "en", "status": "PENDING"}]
    with pytest.raises(draft.TemplateNotApproved):
        draft.approved(templates, {"name": "t", "language": "en"})
    with pytest.raises(draft.TemplateNotApproved):
        draft.approved(templates, {"name": "u", "language": "en"})


def test_a_csv_gives_its_phones_and_says_which_rows_are_not_numbers() -> None:
    found = audience.csv_phones("\ufeffName;Phone\nAna;+852 9123 4567\nBo;call me\n".encode(),
                                "Phone", None)
    assert found.phones == ["85291234567"] and found.rejected[0].startswith("row 3")
    assert audience.csv_phones(b"Tel\n91234567\n", "Phone", "852").phones == ["85291234567"]

"""Random interleavings of linking, messages and statuses (issue #21): every message
lands in exactly one conversation, one per customer once their identifiers are linked
(two before, if they wrote both ways), never shared by two customers; outbound
statuses naming the customer either way reach their message; and a replay rebuilds
exactly what the live projections built, merges included."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.events import EventStore
from crm.projections import default_projector, identities
from crm.projections.replay import check
from crm.whatsapp import parse_webhook
from tests.factories import queued, sent
from tests.meta_payloads import BASE_TS, body_of, contact, envelope, messages_change, text

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PEOPLE = 3


def phone(person: int) -> str:
    return f"8529300000{person}"


def bsuid(person: int) -> str:
    return f"HK.30000000000000000{person}"


HOWS = ("phone", "bsuid", "both")
operation = st.one_of(
    st.tuples(st.just("message"), st.integers(0, PEOPLE - 1), st.sampled_from(HOWS)),
    st.tuples(st.just("link"), st.integers(0, PEOPLE - 1), st.just("both")),
    st.tuples(st.just("reply"), st.integers(0, PEOPLE - 1),
              st.sampled_from(("phone", "bsuid"))),
)


def inbound(wamid: str, person: int, how: str, ts: int) -> dict:
    if how == "phone":
        return messages_change([text(wamid, phone(person), wamid, ts)],
                               contacts=[contact(phone(person), f"P{person}")])
    found = text(wamid, phone(person), wamid, ts, from_user_id=bsuid(person))
    if how == "bsuid":
        del found["from"]
    return messages_change([found], contacts=[contact(
        phone(person) if how == "both" else None, f"P{person}", bsuid(person))])


def status_change(wamid: str, person: int, how: str, state: str, ts: int) -> dict:
    found = {"id": wamid, "status": state, "timestamp": str(ts)}
    if how in ("phone", "both"):
        found["recipient_id"] = phone(person)
    if how in ("bsuid", "both"):
        found["recipient_user_id"] = bsuid(person)
    return messages_change(statuses=[found])


def play(store: EventStore, operations: list[tuple[str, int, str]]) -> dict:
    """Deliver the operations as Meta would; returns what the test expects."""
    expected: dict = {"inbound": {}, "replies": {}, "linked": set(), "ways": {}}
    for step, (kind, person, how) in enumerate(operations):
        ts = BASE_TS + step * 7
        if kind == "message":
            wamid = f"wamid.in.{step}"
            store.record(parse_webhook(body_of(envelope(inbound(wamid, person, how, ts))),
                                       NOW))
            expected["inbound"][wamid] = person
            expected["ways"].setdefault(person, set()).add(how)
            if how == "both":
                expected["linked"].add(person)
        elif kind == "link":  # a status of a message sent from elsewhere names both
            store.record(parse_webhook(body_of(envelope(status_change(
                f"wamid.other.{step}", person, "both", "read", ts))), NOW))
            expected["linked"].add(person)
        else:  # an agent replies in the chat the customer's identifier names
            key = identities.resolve(store.conn, phone(person) if how == "phone"
                                     else bsuid(person))
            message_id, wamid = f"out-{step}", f"wamid.out.{step}"
            store.record([queued(message_id, key), sent(message_id, wamid, key)])
            store.record(parse_webhook(body_of(envelope(status_change(
                wamid, person, how, "delivered", ts))), NOW))
            expected["replies"][message_id] = person
    return expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=14))
def test_every_message_lands_in_one_conversation_and_live_equals_replay(
        operations: list[tuple[str, int, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "crm.db"
        projector = default_projector()
        store = EventStore(db, projector)
        try:
            projector.create_schema(store.conn)
            expected = play(store, operations)
            conn = store.conn
            rows = conn.execute("SELECT wamid, id, phone, direction, status FROM messages"
                                ).fetchall()
            by_wamid = {r[0]: r for r in rows if r[3] == "in"}
            assert len(by_wamid) == len([r for r in rows if r[3] == "in"])
            assert set(by_wamid) == set(expected["inbound"])  # each once, none lost
            chats_of: dict[int, set[str]] = {}
            for wamid, person in expected["inbound"].items():
                chats_of.setdefault(person, set()).add(by_wamid[wamid][2])
            for person, found in chats_of.items():
                # Linked: one chat. Not yet: one per way they wrote (phone, BSUID).
                ways = expected["ways"][person]
                wanted = 1 if person in expected["linked"] else len(ways)
                assert len(found) == wanted, (person, found, ways)
            owners: dict[str, int] = {}
            for person, found in chats_of.items():
                for key in found:
                    assert owners.setdefault(key, person) == person  # never shared
            replies = {r[1]: r for r in rows if r[3] == "out"}
            for message_id, person in expected["replies"].items():
                assert replies[message_id][4] == "delivered"
                linked = person in expected["linked"]
                if linked and person in chats_of:
                    assert {replies[message_id][2]} == chats_of[person]
            chat_keys = {k for (k,) in conn.execute("SELECT phone FROM chats")}
            assert {r[2] for r in rows} == chat_keys  # one row per conversation
            unread = conn.execute("SELECT coalesce(sum(unread), 0) FROM chats").fetchone()[0]
            assert unread == len(expected["inbound"])
        finally:
            store.close()
        result = check(db, projector)
        assert result.identical, result.differences

"""Projections: chat list, threads, statuses in any order, and replay equivalence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.projections import default_projector
from crm.projections.chats import get_chat, list_chats
from crm.projections.messages import get_message, list_messages
from crm.projections.replay import check, rebuild
from tests.factories import BASE_TIME, failed, queued, read, received, sent, status
from tests.test_event_store import open_store

PHONE = "85291234567"


def test_status_read_before_delivered_and_late_sent(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received(), queued("m1"), sent("m1", "wamid.out1")])
    store.record([status("wamid.out1", "read")])
    store.record([status("wamid.out1", "delivered")])
    store.record([status("wamid.out1", "sent")])
    assert get_message(store.conn, "m1")["status"] == "read"


def test_status_before_its_message_is_not_lost(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([queued("m1")])
    store.record([status("wamid.early", "delivered")])  # beats the send's answer
    assert get_message(store.conn, "m1")["status"] == "queued"
    store.record([sent("m1", "wamid.early")])
    assert get_message(store.conn, "m1")["status"] == "delivered"
    assert store.conn.execute("SELECT count(*) FROM pending_by_wamid").fetchone()[0] == 0


def test_failed_is_final(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([queued("m1"), sent("m1", "w1"), failed("m1")])
    store.record([status("w1", "read")])
    message = get_message(store.conn, "m1")
    assert message["status"] == "failed"
    assert message["error"]["code"] == 131047


def test_unread_window_and_reactions(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([
        received(text="one", wamid="w1", name="Ana"),
        received(text="two", wamid="w2", at=BASE_TIME + timedelta(hours=1)),
        received(kind="reaction", wamid="w3", reaction={"message_id": "w1", "emoji": "👍"}),
    ])
    chat = get_chat(store.conn, PHONE)
    assert chat["name"] == "Ana"
    assert chat["unread"] == 2  # the reaction does not count
    assert chat["last_message"]["text"] == "two"
    assert chat["last_inbound_at"] == "2026-11-24T10:00:00Z"
    assert chat["window_expires_at"] == "2026-11-25T10:00:00Z"
    first = list_messages(store.conn, PHONE)[0][0]
    assert first["reactions"] == [{"emoji": "👍", "from": PHONE}]
    store.record([received(kind="reaction", wamid="w4", reaction={"message_id": "w1"})])
    assert list_messages(store.conn, PHONE)[0][0]["reactions"] == []
    store.record([read()])
    assert get_chat(store.conn, PHONE)["unread"] == 0


def test_edit_and_revoke_keep_the_original(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([
        received(text="original", wamid="w1"),
        received(kind="edit", wamid="w2", edit={
            "original_message_id": "w1",
            "message": {"type": "text", "text": {"body": "edited"}}}),
        received(kind="revoke", wamid="w3", revoke={"original_message_id": "w1"}),
    ])
    (message,), _ = list_messages(store.conn, PHONE)
    assert message["text"] == "original"
    assert message["edited"]["text"] == "edited"
    assert "revoked" in message


def test_chat_list_pages_newest_first(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received(phone=f"1000{i}", text=f"m{i}") for i in range(7)])
    page, cursor = list_chats(store.conn, limit=3)
    assert [c["phone"] for c in page] == ["10006", "10005", "10004"]
    page2, cursor2 = list_chats(store.conn, limit=3, before=cursor)
    assert [c["phone"] for c in page2] == ["10003", "10002", "10001"]
    page3, cursor3 = list_chats(store.conn, limit=3, before=cursor2)
    assert [c["phone"] for c in page3] == ["10000"] and cursor3 is None
    found, _ = list_chats(store.conn, q="m5")
    assert [c["phone"] for c in found] == ["10005"]


def test_search_finds_a_number_however_it_is_typed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received(phone="85298765432", text="hi", name="Ben"),
                  received(phone="85291234567", text="call me at 9876", name="Ann")])
    for typed in ("+852 9876 5432", "00852 9876-5432", "(852) 9876.5432", "98765432",
                  "+85298765432"):
        found, _ = list_chats(store.conn, q=typed)
        assert [c["phone"] for c in found] == ["85298765432"], typed
    found, _ = list_chats(store.conn, q="9876")  # a number in a message matches too
    assert sorted(c["phone"] for c in found) == ["85291234567", "85298765432"]


def test_thread_pages_back_in_time(tmp_path: Path) -> None:
    store = open_store(tmp_path / "crm.db")
    store.record([received(text=f"t{i}", at=BASE_TIME + timedelta(seconds=i)) for i in range(5)])
    page, cursor = list_messages(store.conn, PHONE, limit=2)
    assert [m["text"] for m in page] == ["t3", "t4"]
    page, cursor = list_messages(store.conn, PHONE, limit=2, before=cursor)
    assert [m["text"] for m in page] == ["t1", "t2"]
    page, cursor = list_messages(store.conn, PHONE, limit=2, before=cursor)
    assert [m["text"] for m in page] == ["t0"] and cursor is None


# -- live projections equal replayed ones, for random event sequences -------------------

phones = st.sampled_from(["111", "222", "333"])
wamids = st.sampled_from([f"w{i}" for i in range(6)])


@st.composite
def event_sequences(draw):
    events = []
    for n in range(draw(st.integers(1, 30))):
        choice = draw(st.integers(0, 6))
        phone = draw(phones)
        if choice == 0:
            events.append(received(phone=phone, wamid=draw(wamids),
                                   at=BASE_TIME + timedelta(minutes=draw(st.integers(0, 2000)))))
        elif choice == 1:
            events.append(status(draw(wamids), draw(st.sampled_from(
                ["sent", "delivered", "read", "played", "failed", "deleted"])), phone))
        elif choice == 2:
            events.append(queued(f"m{draw(st.integers(0, 4))}", phone))
        elif choice == 3:
            events.append(sent(f"m{draw(st.integers(0, 4))}", draw(wamids), phone))
        elif choice == 4:
            events.append(read(phone))
        elif choice == 5:
            events.append(received(phone=phone, kind="reaction", wamid=f"r{n}",
                                   reaction={"message_id": draw(wamids),
                                             "emoji": draw(st.sampled_from(["", "👍", "❤"]))}))
        else:
            events.append(failed(f"m{draw(st.integers(0, 4))}", phone))
    splits = draw(st.lists(st.integers(1, 5), min_size=len(events), max_size=len(events)))
    return events, splits


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(event_sequences())
def test_live_projections_equal_replay(tmp_path_factory, sequence) -> None:
    events, splits = sequence
    db = tmp_path_factory.mktemp("prop") / "crm.db"
    store = open_store(db)
    i = 0
    for size in splits:  # live: in randomly sized batches
        if i >= len(events):
            break
        store.record(events[i:i + size])
        i += size
    store.close()
    projector = default_projector()
    result = check(db, projector)
    assert result.identical, result.differences
    rebuild(db, projector)
    assert check(db, projector).identical


def test_parallel_replay_builds_the_same_tables(tmp_path: Path) -> None:
    """Replay groups folded in processes of their own (forced on a small log)."""
    db = tmp_path / "crm.db"
    store = open_store(db)
    store.record([received(phone=f"3000{i % 7}", wamid=f"p{i}", name=f"P{i % 7}",
                           at=BASE_TIME + timedelta(minutes=i)) for i in range(60)])
    store.record([queued("m1", phone="30001"), sent("m1", "w.m1", phone="30001"),
                  status("w.m1", "read", phone="30001"), read(phone="30002")])
    before = {t: sorted(store.conn.execute(f"SELECT * FROM {t}").fetchall())
              for t in ("chats", "messages")}
    store.close()
    projector = default_projector()
    assert rebuild(db, projector, parallel_from=0) == 64
    assert check(db, projector).identical
    store = open_store(db)
    after = {t: sorted(store.conn.execute(f"SELECT * FROM {t}").fetchall())
             for t in ("chats", "messages")}
    assert after == before and len(after["messages"]) == 61
    assert not list(tmp_path.glob("*.replay-*"))  # scratch files are gone

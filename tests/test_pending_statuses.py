"""Statuses for messages crm does not know (sent from another app on the same number)
wait in ``pending_by_wamid`` for at most ``CRM_PENDING_STATUS_DAYS``, counted in event
time, so the table stays bounded and replay (in worker processes too) reaches the
same rows. And a status's ``pricing`` is kept on its message."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from crm.config import load_settings
from crm.events import EventStore
from crm.events.messages import MessageStatus, chat_stream
from crm.projections import FoldOptions, Projector, default_projector
from crm.projections.messages import get_message
from crm.projections.replay import check, rebuild
from tests.factories import BASE_TIME, queued, received, sent

PHONE = "85291234567"


def status_at(wamid: str, value: str, at: datetime, **raw) -> object:
    return MessageStatus(phone=PHONE, wamid=wamid, status=value,
                         raw={"id": wamid, "status": value, **raw}).new(
        chat_stream(PHONE), actor="meta", occurred_at=at,
        idempotency_key=f"wa:{wamid}:{value}")


def pending(store: EventStore) -> list[str]:
    return [w for (w,) in store.conn.execute(
        "SELECT wamid FROM pending_by_wamid ORDER BY position").fetchall()]


def open_with(path: Path, projector: Projector) -> EventStore:
    store = EventStore(path, projector)
    projector.create_schema(store.conn)
    return store


def test_pending_statuses_expire_after_the_default_thirty_days(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    store = open_with(db, default_projector())
    store.record([status_at("w.other1", "delivered", BASE_TIME)])
    store.record([status_at("w.other2", "read", BASE_TIME + timedelta(days=29))])
    assert pending(store) == ["w.other1", "w.other2"]
    # 30 days and a second after the first: it goes, the 29-day-old one stays.
    store.record([status_at("w.other3", "sent", BASE_TIME + timedelta(days=30, seconds=1))])
    assert pending(store) == ["w.other2", "w.other3"]
    # A message folded later (event time) expires rows too; its own status applies.
    store.record([status_at("w.in", "read", BASE_TIME + timedelta(days=61))])
    store.record([received(wamid="w.in", at=BASE_TIME + timedelta(days=61, seconds=1))])
    assert pending(store) == []
    store.close()
    assert check(db, default_projector()).identical


def test_the_setting_reaches_live_catch_up_and_parallel_replay(tmp_path: Path,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("CRM_PENDING_STATUS_DAYS", "2")
    settings = load_settings(data_dir=tmp_path)
    projector = default_projector(settings)
    assert projector.options == FoldOptions(pending_status_days=2)
    db = tmp_path / "crm.db"
    store = open_with(db, projector)
    store.record([queued("m1"), status_at("w.early", "delivered", BASE_TIME)])
    store.record([status_at("w.x", "sent", BASE_TIME + timedelta(days=1))])
    assert pending(store) == ["w.early", "w.x"]
    store.record([status_at("w.y", "sent", BASE_TIME + timedelta(days=2, hours=1))])
    assert pending(store) == ["w.x", "w.y"]
    store.record([sent("m1", "w.early")])  # too late: the early status expired
    assert get_message(store.conn, "m1")["status"] == "sent"
    store.close()

    assert check(db, projector).identical
    # With the default (30 days) the rows differ: the setting changes what is folded.
    assert not check(db, default_projector()).identical
    assert rebuild(db, projector, parallel_from=0) > 0  # replay groups in processes
    assert check(db, projector).identical
    store = EventStore(db)
    assert pending(store) == ["w.x", "w.y"]
    store.close()


def test_pricing_is_kept_on_the_message_from_whichever_status_carries_it(
        tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    store = open_with(db, default_projector())
    pricing = {"billable": True, "pricing_model": "PMP", "type": "regular",
               "category": "service", "surprise": {"x": 1}}
    # The priced status beats the send's answer: it waits, then applies.
    store.record([queued("m1"), status_at("w.p", "delivered", BASE_TIME, pricing=pricing)])
    store.record([sent("m1", "w.p"), status_at("w.p", "read", BASE_TIME)])
    message = get_message(store.conn, "m1")
    assert message["status"] == "read"
    assert message["pricing"] == {"billable": True, "pricing_model": "PMP",
                                  "type": "regular", "category": "service"}
    store.close()
    assert check(db, default_projector()).identical

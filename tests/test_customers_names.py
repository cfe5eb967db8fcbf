"""The sheet's name in the chat list, whichever comes first, the customer or the chat;
and the customer's row for the thread, served by a real server that syncs the sheet
on its own."""

from __future__ import annotations

from pathlib import Path

import httpx

from crm.events import EventStore
from crm.events.customers import CustomerUpdated, customer_stream
from crm.jobs import ticks
from crm.projections import default_projector
from crm.projections.chats import get_chat
from crm.projections.replay import check, rebuild
from tests.conftest import admin_headers, crm_env, start_server, wait_until
from tests.factories import queued, received
from tests.fake_google import FakeGoogle
from tests.google_support import PROXY_VARIABLES, google_env, write_service_account


def customer(phone: str, name: str | None, **attributes: str):
    return CustomerUpdated(phone=phone, name=name, attributes=attributes,
                           source="csv:test.csv").new(customer_stream(phone))


def open_store(path: Path) -> EventStore:
    projector = default_projector()
    store = EventStore(path, projector)
    projector.create_schema(store.conn)
    return store


def name_of(store: EventStore, phone: str) -> str:
    return get_chat(store.conn, phone)["name"]


def test_name_comes_from_the_sheet_whichever_arrives_first(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    store = open_store(db)
    store.record([customer("85211111111", "Ana Lima", City="Hong Kong")])
    store.record([received("85211111111", name="ana 🌸")])        # customer first
    store.record([received("85222222222", name="Bo")])               # chat first
    assert (name_of(store, "85211111111"), name_of(store, "85222222222")) == ("Ana Lima", "Bo")
    store.record([customer("85222222222", "Bo Chan")])
    assert name_of(store, "85222222222") == "Bo Chan"
    store.record([customer("85211111111", "Ana Lima-Sousa")])           # renamed in the sheet
    store.record([received("85211111111", name="ana 🌸")])
    assert name_of(store, "85211111111") == "Ana Lima-Sousa"
    assert get_chat(store.conn, "85211111111")["profile_name"] == "ana 🌸"
    store.record([customer("85222222222", None, Note="name cleared")])  # back to WhatsApp's
    assert name_of(store, "85222222222") == "Bo"
    store.record([customer("85233333333", "Cy"), queued("m1", phone="85233333333")])
    assert name_of(store, "85233333333") == "Cy"                      # we wrote first
    store.record([queued("m2", phone="85244444444")])
    assert name_of(store, "85244444444") == "85244444444"             # nobody named it
    store.close()

    assert check(db, default_projector()).identical
    before = _rows(db)
    rebuild(db, default_projector())
    assert _rows(db) == before


def test_a_profile_name_that_is_only_the_number_never_replaces_a_name(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    store = open_store(db)
    store.record([received("85255555555", name="Ben Wong")])
    for nameless in ("85255555555", "+852 5555 5555", "", None):
        store.record([received("85255555555", name=nameless)])
        assert name_of(store, "85255555555") == "Ben Wong", nameless
    assert get_chat(store.conn, "85255555555")["profile_name"] == "Ben Wong"
    store.record([received("85255555555", name="Ben W.")])     # a real new name still wins
    assert name_of(store, "85255555555") == "Ben W."
    store.record([received("85266666666", name="85266666666")])  # never named: the number
    assert name_of(store, "85266666666") == "85266666666"
    assert get_chat(store.conn, "85266666666")["profile_name"] is None
    store.record([customer("85255555555", "Benjamin Wong"),
                  received("85255555555", name="85255555555")])
    assert name_of(store, "85255555555") == "Benjamin Wong"   # the sheet wins over both
    store.close()
    assert check(db, default_projector()).identical


def _rows(db: Path) -> list[tuple]:
    store = EventStore(db)
    try:
        return store.conn.execute(
            "SELECT c.phone, c.customer_name, c.profile_name, u.name, u.attributes "
            "FROM chats c LEFT JOIN customers u USING (phone) ORDER BY c.phone").fetchall()
    finally:
        store.close()


def test_only_one_process_claims_each_tick(tmp_path: Path) -> None:
    store_a, store_b = EventStore(tmp_path / "x.db"), EventStore(tmp_path / "x.db")
    ticks.create_schema(store_a.conn)
    a, b = store_a.conn, store_b.conn
    assert ticks.claim_tick(a, "sync", 60, now=1000)
    assert not ticks.claim_tick(b, "sync", 60, now=1001)
    assert not ticks.claim_tick(a, "sync", 60, now=1059)
    assert ticks.claim_tick(b, "sync", 60, now=1060)
    assert ticks.claim_tick(a, "sync", 10, now=1061)   # the interval was shortened
    assert not ticks.claim_tick(b, "sync", 10, now=1070)
    store_a.close()
    store_b.close()


def test_server_syncs_the_sheet_and_shows_names_and_attributes(tmp_path: Path,
                                                               data_dir: Path) -> None:
    with FakeGoogle() as fake:
        fake.add_sheet("S1", "Customer List", [["Phone", "Name", "Boat"],
                                               ["+852 9123 4567", "Ana Lima", "Kayak"]])
        key = write_service_account(tmp_path / "sa.json", fake.url + "/token")
        env = crm_env(data_dir, **google_env(fake.url, key, GOOGLE_SHEET_ID="S1",
                                             CRM_CUSTOMERS_SYNC_INTERVAL="0.5"))
        for name in PROXY_VARIABLES:
            env.pop(name, None)
        server = start_server(data_dir, env=env)
        try:
            store = open_store(server.db_path)
            store.record([received("85291234567", name="ana"), received("85260000000",
                                                                       name="Zed")])
            store.close()
            with server.client(headers=admin_headers(server)) as http:
                def named() -> dict | None:
                    chats = {c["phone"]: c for c in http.get("/api/chats").json()["chats"]}
                    chat = chats["85291234567"]
                    return chats if chat["name"] == "Ana Lima" else None

                chats = wait_until(named, 15, message="the sheet's name in the chat list")
                assert chats["85260000000"]["name"] == "Zed"
                assert chats["85291234567"]["profile_name"] == "ana"
                found = http.get("/api/customers/85291234567")
                assert found.status_code == 200
                assert found.json()["customer"] == {
                    "phone": "85291234567", "name": "Ana Lima", "attributes": {"Boat": "Kayak"},
                    "source": "sheet:S1", "updated_at": found.json()["customer"]["updated_at"]}
                # Not on the list: an empty answer, not an error the console logs.
                missing = http.get("/api/customers/85260000000")
                assert missing.status_code == 200
                assert missing.json() == {"customer": None}
                # A change in the sheet reaches the inbox at a later tick, by itself.
                fake.add_sheet("S1", "Customer List", [["Phone", "Name", "Boat"],
                                                       ["+852 9123 4567", "Ana L.", "SUP"]])
                wait_until(lambda: http.get("/api/chats/85291234567").json()["chat"]["name"]
                           == "Ana L.", 15, message="the renamed customer")
            assert httpx.get(server.url + "/api/customers/85291234567").status_code == 401
        finally:
            server.stop()

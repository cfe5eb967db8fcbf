"""The contact list (issue #16): everyone on the sheet and everyone who ever wrote,
agents' corrections that a later sheet sync keeps unless the sheet changed the same
field, and the CSV export with the audit export's formula guard.

One real server for the module, Google's Sheets API faked over HTTP
(``tests/fake_google.py``) and synced with the code ``crm customers sync`` runs,
Meta's webhooks signed and posted to the server.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm.config import Settings
from crm.customers.sources import read_sheet
from crm.customers.sync import Report, sync_store
from crm.events import EventStore
from crm.projections import default_projector
from crm.projections.replay import check
from tests.conftest import LiveServer, admin_headers, start_server
from tests.fake_google import FakeGoogle
from tests.google_support import PROXY_VARIABLES, write_service_account
from tests.meta_payloads import (
    body_of,
    contact,
    envelope,
    message,
    messages_change,
    post,
    text,
)
from tests.sandbox_support import SECRET, events
from tests.team_support import agent_headers, refused

SHEET_ID = "1ContactsSheet"
ANA, BO, KAI_ID = "85290000001", "85290000002", "HK.200000000000000007"


@pytest.fixture(scope="module")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeGoogle, Settings]]:
    folder = tmp_path_factory.mktemp("contacts")
    with FakeGoogle() as fake, pytest.MonkeyPatch.context() as patch:
        for name in PROXY_VARIABLES:  # the fake is on 127.0.0.1
            patch.delenv(name, raising=False)
        key = write_service_account(folder / "sa.json", fake.url + "/token")
        data = folder / "data"
        data.mkdir()
        settings = Settings(data_dir=data, google_application_credentials=key,
                            google_api_url=fake.url, google_sheet_id=SHEET_ID,
                            default_country_code="852")
        yield fake, settings


@pytest.fixture(scope="module")
def live(google: tuple[FakeGoogle, Settings]) -> Iterator[LiveServer]:
    server = start_server(google[1].data_dir, WHATSAPP_APP_SECRET=SECRET,
                          WHATSAPP_VERIFY_TOKEN="verify", CRM_DEFAULT_COUNTRY_CODE="852")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client(headers=admin_headers(live)) as client:
        yield client


def sync(google: tuple[FakeGoogle, Settings], rows: list[list[str]]) -> Report:
    """The sheet now holds ``rows``; sync it as ``crm customers sync`` does."""
    fake, settings = google
    fake.add_sheet(SHEET_ID, settings.google_sheet_worksheet, rows)
    store = EventStore(settings.db_path, default_projector(settings))
    try:
        return sync_store(store, read_sheet(settings), settings)
    finally:
        store.close()


def deliver(http: httpx.Client, payload: dict[str, Any]) -> None:
    answer = post(http, body_of(payload), secret=SECRET)
    assert answer.status_code == 200, answer.text


def contacts(http: httpx.Client, **params: str) -> list[dict[str, Any]]:
    answer = http.get("/api/customers", params={"limit": 200, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["customers"]


def one(http: httpx.Client, key: str) -> dict[str, Any]:
    [found] = [c for c in contacts(http) if c["key"] == key]
    return found


HEADER = ["Phone", "Name", "City", "Tier"]


def test_an_agents_edit_survives_a_sync_unless_the_sheet_changed_that_field(
        google: tuple[FakeGoogle, Settings], live: LiveServer, http: httpx.Client) -> None:
    rows = [HEADER, ["+852 9000 0001", "Ana", "Porto", "gold"], ["9000 0002", "Bo", "", ""]]
    assert sync(google, rows).appended == 2
    deliver(http, envelope(messages_change(  # Ana writes: she has a chat too
        [text("wamid.ana1", ANA, "hello")], contacts=[contact(ANA, "Ana WA")])))

    carla = agent_headers(live, "carla")
    edited = http.patch(f"/api/customers/{ANA}", headers=carla,
                        json={"name": "Ana Silva", "attributes": {"City": "Braga"}})
    assert edited.status_code == 200, edited.text
    assert edited.json()["changed"] == ["name", "attributes.City"]
    [event] = events(live, "customer.updated")[-1:]
    assert event["actor"] == "agent:carla"
    assert event["data"]["fields"] == ["name", "attributes.City"]
    assert event["data"]["source"] == "agent"
    assert http.get(f"/api/chats/{ANA}").json()["chat"]["name"] == "Ana Silva"

    # Nothing changed in the sheet: no event at all (the edit is not "a difference").
    assert sync(google, rows).appended == 0
    # The sheet changes Ana's tier, not her name or city: the agent's values stay.
    rows[1][3] = "platinum"
    assert sync(google, rows).appended == 1
    ana = one(http, ANA)
    assert ana["name"] == "Ana Silva"
    assert ana["attributes"] == {"City": "Braga", "Tier": "platinum"}
    assert ana["edited"] == ["attributes.City", "name"]
    assert http.get(f"/api/chats/{ANA}").json()["chat"]["name"] == "Ana Silva"
    assert http.get(f"/api/customers/{ANA}").json()["customer"]["name"] == "Ana Silva"

    # The sheet changes the city: the sheet wins for that field only.
    rows[1][2] = "Faro"
    assert sync(google, rows).appended == 1
    ana = one(http, ANA)
    assert (ana["name"], ana["attributes"]["City"]) == ("Ana Silva", "Faro")
    assert ana["edited"] == ["name"]
    # And then the name.
    rows[1][1] = "Ana Costa"
    assert sync(google, rows).appended == 1
    assert one(http, ANA)["name"] == "Ana Costa"
    assert http.get(f"/api/chats/{ANA}").json()["chat"]["name"] == "Ana Costa"

    # Removing an attribute, refusals, and an edit that changes nothing records nothing.
    removed = http.patch(f"/api/customers/{ANA}", json={"attributes": {"Tier": None}})
    assert removed.json()["customer"]["attributes"] == {"City": "Faro"}
    before = len(events(live, "customer.updated"))
    same = http.patch(f"/api/customers/{ANA}", json={"name": "Ana Costa"})
    assert same.status_code == 200 and same.json()["changed"] == []
    assert len(events(live, "customer.updated")) == before
    refused(http.patch(f"/api/customers/{ANA}", json={"phone": "1"}), 400, "bad_customer")
    refused(http.patch(f"/api/customers/{ANA}", json={"name": 5}), 400, "bad_customer")
    refused(http.patch("/api/customers/not-a-key", json={"name": "x"}), 400, "bad_key")
    refused(http.patch("/api/customers/HK.999", json={"name": "x"}), 404, "unknown_customer")

    result = check(live.db_path, default_projector())
    assert result.identical, result.differences


def test_everyone_is_listed_a_username_only_customer_too(live: LiveServer,
                                                          http: httpx.Client) -> None:
    kai = contact(None, "Kai", KAI_ID)
    kai["profile"]["username"] = "kai.k"
    deliver(http, envelope(messages_change(
        [message("wamid.kai1", None, "text", {"body": "hi from kai"}, from_user_id=KAI_ID)],
        contacts=[kai])))
    found = contacts(http, q="kai.k")
    assert [c["key"] for c in found] == [KAI_ID]
    assert found[0]["user_id"] == KAI_ID and found[0]["phone"] is None
    assert found[0]["username"] == "kai.k" and found[0]["chat"] is True
    assert found[0]["first_contact"] and found[0]["last_contact"]
    assert found[0]["status"] == "open"
    # Agents name a username customer the same way.
    named = http.patch(f"/api/customers/{KAI_ID}", json={"name": "Kai Tam",
                                                           "attributes": {"City": "Macau"}})
    assert named.status_code == 200, named.text
    assert named.json()["customer"]["name"] == "Kai Tam"
    assert [c["key"] for c in contacts(http, q="Macau")] == [KAI_ID]

    # Bo is on the sheet and never wrote: listed, without a chat, after the chats.
    listed = contacts(http)
    keys = [c["key"] for c in listed]
    assert keys.index(BO) > max(keys.index(KAI_ID), keys.index(ANA))
    bo = listed[keys.index(BO)]
    assert (bo["chat"], bo["status"], bo["first_contact"]) == (False, None, None)
    # Paging one by one walks both parts and ends.
    seen, cursor = [], None
    while True:
        page = http.get("/api/customers", params={"limit": 1, **(
            {"before": cursor} if cursor else {})}).json()
        seen += [c["key"] for c in page["customers"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == keys

    # Opt-out: Meta's user_preferences webhook says Bo stopped marketing messages.
    deliver(http, envelope({"field": "user_preferences", "value": {
        "messaging_product": "whatsapp", "contacts": [{"wa_id": BO}],
        "user_preferences": [{"wa_id": BO, "category": "marketing_messages",
                              "value": "stop", "timestamp": 1764000000}]}}))
    assert [c["key"] for c in contacts(http, opted_out="true")] == [BO]
    assert BO not in [c["key"] for c in contacts(http, opted_out="false")]
    # Labels live on chats: a label filter lists the chats that carry it.
    assert http.post("/api/labels", json={"name": "VIP"}).status_code == 201
    assert http.post(f"/api/chats/{KAI_ID}/labels", json={"add": ["VIP"]}).status_code == 200
    assert [(c["key"], c["labels"]) for c in contacts(http, label="vip")] == [
        (KAI_ID, ["VIP"])]
    refused(http.get("/api/customers", params={"before": "x1"}), 400, "bad_parameter")
    refused(http.get("/api/customers", params={"opted_out": "maybe"}), 400, "bad_parameter")

    # A number as an agent types it, for a new conversation.
    assert http.get("/api/numbers", params={"number": "9000 0002"}).json()["phone"] == BO
    assert http.get("/api/numbers", params={"number": "+852 9000-0002"}).json()[
        "contact"]["key"] == BO
    refused(http.get("/api/numbers", params={"number": "call me"}), 400, "bad_phone")


FORMULAS = {"name": '=HYPERLINK("http://evil.example","click")',
            "attributes": {"Notes": "+1 call back", "=cmd|' /C calc'!A0": "@SUM(A1:A9)",
                           "Tier": "gold;=1+1"}}


def test_the_csv_export_neutralises_formulas(live: LiveServer, http: httpx.Client,
                                             tmp_path: Path) -> None:
    assert http.patch(f"/api/customers/{BO}", json=FORMULAS).status_code == 200
    answer = http.get("/api/customers/export", params={"format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text.removeprefix("\ufeff"))))
    header = rows[0]
    assert header[:5] == ["key", "phone", "user_id", "username", "name"]
    assert "'=cmd|' /C calc'!A0" in header  # a column named like a formula is text too
    bo = dict(zip(header, next(r for r in rows if r[0] == BO), strict=True))
    assert bo["name"] == "'" + FORMULAS["name"]
    assert bo["Notes"] == "'+1 call back"
    assert bo["'=cmd|' /C calc'!A0"] == "'@SUM(A1:A9)"
    assert bo["Tier"] == "gold;'=1+1"
    assert bo["opted_out"] == "yes"
    assert {r[0] for r in rows[1:]} >= {ANA, BO, KAI_ID}
    refused(http.get("/api/customers/export", params={"format": "xlsx"}), 400,
            "bad_parameter")

    # The command line writes the same file, private to its owner.
    out = tmp_path / "contacts.csv"
    done = subprocess.run([sys.executable, "-m", "crm.cli", "customers", "export",
                           "--format", "csv", "--output", str(out)],
                          env=live.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().decode("utf-8") == answer.text
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_two_agents_editing_different_fields_at_once_both_keep_their_edit(
        live: LiveServer) -> None:
    """Each edit records only its own fields, so neither undoes the other, whichever
    request read the customer first."""
    start = threading.Barrier(2)
    edits = [{"attributes": {"Shoe": "42"}}, {"attributes": {"Lunch": "vegan"}}]

    def edit(body: dict[str, Any]) -> int:
        with live.client(headers=admin_headers(live)) as own:
            start.wait(timeout=10)
            return own.patch(f"/api/customers/{ANA}", json=body).status_code

    for _ in range(3):
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(edit, edits)) == [200, 200]
        with live.client(headers=admin_headers(live)) as http:
            attributes = one(http, ANA)["attributes"]
        assert (attributes["Shoe"], attributes["Lunch"]) == ("42", "vegan")
        with live.client(headers=admin_headers(live)) as http:
            cleared = http.patch(f"/api/customers/{ANA}",
                                 json={"attributes": {"Shoe": None, "Lunch": None}})
            assert cleared.status_code == 200

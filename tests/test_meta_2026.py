"""Meta's 2026 changes, end to end through signed webhooks on a real server: the Graph
API version, statuses' ``pricing`` on the message, ``user_preferences`` (marketing
opt-out / resume) per customer, and account updates in the admins' channel panel."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from crm.auth.local import create_token
from crm.config import Settings, load_settings
from crm.events import EventStore
from crm.projections import default_projector
from crm.projections.replay import check
from crm.sandbox.launcher import API_VERSION
from tests.conftest import LiveServer, admin_headers
from tests.factories import queued, sent
from tests.meta_payloads import (
    PYWA,
    body_of,
    contact,
    envelope,
    messages_change,
    post,
    status,
    webhook_server,
)

CUSTOMER = "85291234567"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with webhook_server(tmp_path_factory, "meta-2026") as server:
        yield server


def test_the_default_graph_api_version_is_v26_and_v25_stays_valid(tmp_path) -> None:
    assert Settings(data_dir=tmp_path).whatsapp_graph_url == "https://graph.facebook.com/v26.0"
    assert API_VERSION == "v26.0"  # the sandbox speaks the same version
    older = load_settings(data_dir=tmp_path,
                          WHATSAPP_GRAPH_URL="https://graph.facebook.com/v25.0")
    assert older.whatsapp_graph_url.endswith("/v25.0")


def test_pricing_of_a_status_is_shown_on_the_message(live: LiveServer) -> None:
    store = EventStore(live.db_path, default_projector())
    try:
        store.record([queued("p1", phone=CUSTOMER), sent("p1", "wamid.priced", phone=CUSTOMER)])
    finally:
        store.close()
    pricing = {"billable": True, "pricing_model": "PMP", "type": "regular",
               "category": "service"}
    with live.client() as client:
        body = body_of(envelope(messages_change(statuses=[
            status("wamid.priced", CUSTOMER, "delivered", pricing=pricing,
                   conversation={"id": "c1", "origin": {"type": "service"}})])))
        assert post(client, body).status_code == 200
    thread = httpx.get(live.url + "/api/messages", params={"phone": CUSTOMER},
                       headers=admin_headers(live), timeout=10).json()["messages"]
    [message] = [m for m in thread if m["id"] == "p1"]
    assert message["status"] == "delivered" and message["pricing"] == pricing


def preferences_of(live: LiveServer, phone: str) -> dict:
    return httpx.get(f"{live.url}/api/customers/{phone}/preferences",
                     headers=admin_headers(live), timeout=10).json()


def preferences_change(wa_id: str, value: str, ts: int) -> dict:
    return {"field": "user_preferences", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID1"},
        "contacts": [contact(wa_id, "Ana")],
        "user_preferences": [{"wa_id": wa_id, "detail": f"User requested to {value}",
                              "category": "marketing_messages", "value": value,
                              "timestamp": ts}]}}


def test_marketing_opt_out_and_resume_are_kept_per_customer(live: LiveServer) -> None:
    with live.client() as client:
        assert post(client, body_of(envelope(
            preferences_change(CUSTOMER, "stop", 1764000000)))).status_code == 200
        # An older "resume" delivered late does not undo the newer stop.
        assert post(client, body_of(envelope(
            preferences_change(CUSTOMER, "resume", 1763000000)))).status_code == 200
    customer = httpx.get(f"{live.url}/api/customers/{CUSTOMER}", headers=admin_headers(live),
                         timeout=10).json()
    assert customer == {"customer": None}  # not on the customer list, still has preferences
    answer = preferences_of(live, CUSTOMER)
    assert answer["preferences"] == [{"category": "marketing_messages", "value": "stop",
                                      "detail": "User requested to stop",
                                      "at": "2025-11-24T16:00:00Z"}]
    with live.client() as client:
        assert post(client, body_of(envelope(
            preferences_change(CUSTOMER, "resume", 1765000000)))).status_code == 200
    answer = preferences_of(live, CUSTOMER)
    assert [p["value"] for p in answer["preferences"]] == ["resume"]


def test_metas_own_preference_samples_are_understood(live: LiveServer) -> None:
    if not PYWA.is_dir():
        pytest.skip("Meta's sample payloads (../shared) are not beside this checkout")
    samples = json.loads((PYWA / "user_marketing_preferences.json").read_text())
    with live.client() as client:
        assert post(client, body_of(samples["signup"])).status_code == 200
    answer = preferences_of(live, "16505551234")
    assert [(p["value"], p["detail"]) for p in answer["preferences"]] == [
        ("signup", "User signed up via signup link")]


def test_account_updates_are_shown_to_admins_only(live: LiveServer) -> None:
    restriction = {"object": "whatsapp_business_account", "entry": [{
        "id": "WABA1", "time": 1764000000, "changes": [
            {"field": "account_update", "value": {
                "event": "ACCOUNT_RESTRICTION", "restriction_info": [
                    {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                     "expiration": 1764600000}]}},
            {"field": "business_capability_update", "value": {
                "max_daily_conversations_per_business": 2000,
                "max_phone_numbers_per_business": 2}}]}]}
    with live.client() as client:
        assert post(client, body_of(restriction)).status_code == 200
    panel = httpx.get(live.url + "/api/channel", headers=admin_headers(live), timeout=10)
    assert panel.status_code == 200
    channel = panel.json()["channel"]
    assert channel["health"]["ok"] is True
    kinds = {u["kind"]: u for u in channel["updates"]}
    assert kinds["account_update:ACCOUNT_RESTRICTION"]["value"]["restriction_info"][0][
        "restriction_type"] == "RESTRICTED_BIZ_INITIATED_MESSAGING"
    assert kinds["business_capability_update:"]["value"][
        "max_daily_conversations_per_business"] == 2000
    assert kinds["account_update:ACCOUNT_RESTRICTION"]["at"] == "2025-11-24T16:00:00Z"

    with live.client(headers=admin_headers(live)) as http:
        made = http.post("/api/agents", json={"name": "bea", "password": "bea-password-1",
                                              "admin": False})
    assert made.status_code == 201, made.text
    token, _ = create_token(Settings(data_dir=live.data_dir), "bea", "tests")
    refused = httpx.get(live.url + "/api/channel",
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert refused.status_code == 403 and "error" in refused.json()
    assert httpx.get(live.url + "/api/channel", timeout=10).status_code == 401
    assert check(live.db_path, default_projector()).identical

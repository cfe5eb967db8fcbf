"""Helpers of the campaign tests: templates at the sandbox, customers, campaigns."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from crm.sandbox import PHONE_NUMBER_ID
from tests.conftest import LiveServer, wait_until
from tests.meta_payloads import body_of, contact, envelope, post
from tests.sandbox_support import SECRET, GraphSandbox

SEASON = {"name": "season_prices", "language": "en", "status": "APPROVED",
          "category": "MARKETING", "id": "900000000000101", "components": [
              {"type": "BODY", "text": "Hi {{1}}, the {{2}} prices are out. Reply STOP to "
                                       "opt out.", "example": {"body_text": [["Ana", "winter"]]}}]}
NOTICE = {"name": "opening_hours", "language": "en", "status": "APPROVED",
          "category": "UTILITY", "id": "900000000000102", "components": [
              {"type": "BODY", "text": "Hello {{1}}, we open at 9 tomorrow."}]}
PENDING = {"name": "new_kayaks", "language": "en", "status": "PENDING",
           "category": "MARKETING", "id": "900000000000103", "components": [
               {"type": "BODY", "text": "New kayaks!"}]}


def add_templates(sandbox: GraphSandbox, http: httpx.Client) -> None:
    sandbox.state.extra_templates = [SEASON, NOTICE, PENDING]
    assert http.post("/api/templates/refresh").status_code == 200


def import_customers(server: LiveServer, tmp: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """``(phone, name, season, club)`` rows through ``crm customers import``."""
    sheet = tmp / f"customers-{time.monotonic_ns()}.csv"
    sheet.write_text("Phone,Name,Season,Club\n" + "".join(
        f"+{p},{n},{s},{c}\n" for p, n, s, c in rows))
    done = subprocess.run([sys.executable, "-m", "crm.cli", "customers", "import", str(sheet)],
                          env=server.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def campaign_body(name: str, template: dict[str, Any] = SEASON, **fields: Any) -> dict[str, Any]:
    return {"name": name, "template": {"name": template["name"],
                                       "language": template["language"]},
            "variables": {"1": "{{name}}", "2": "{{attr:Season}}"}, **fields}


def create(http: httpx.Client, name: str, **fields: Any) -> str:
    made = http.post("/api/campaigns", json=campaign_body(name, **fields))
    assert made.status_code == 201, made.text
    return made.json()["id"]


def campaign(http: httpx.Client, cid: str) -> dict[str, Any]:
    answer = http.get(f"/api/campaigns/{cid}")
    assert answer.status_code == 200, answer.text
    return answer.json()["campaign"]


def wait_for(http: httpx.Client, cid: str, test: Any, timeout: float = 30.0,
             message: str = "") -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = campaign(http, cid)
        return found if test(found) else None
    return wait_until(check, timeout, interval=0.05, message=message or f"campaign {cid}")


def sent_to(sandbox: GraphSandbox, phones: set[str]) -> Counter[str]:
    """How many messages Meta accepted for each of ``phones``."""
    with sandbox.state.lock:
        return Counter(m["to"] for m in sandbox.state.messages if m["to"] in phones)


def recipients(http: httpx.Client, cid: str, **params: Any) -> list[dict[str, Any]]:
    answer = http.get(f"/api/campaigns/{cid}/recipients", params={"limit": 1000, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["recipients"]


def accepted_per_recipient(sandbox: GraphSandbox, http: httpx.Client, cid: str) -> Counter[str]:
    """How many messages of campaign ``cid`` Meta accepted, per recipient. (The log
    takes one message per recipient and campaign, so a duplicate at Meta would be the
    same message sent twice: counted here.)"""
    ours = {r["message_id"]: r["phone"] for r in recipients(http, cid) if r["message_id"]}
    with sandbox.state.lock:
        return Counter(ours[m["message_id"]] for m in sandbox.state.messages
                       if m["message_id"] in ours)


def requests_to(sandbox: GraphSandbox, message_ids: set[str]) -> list[dict[str, Any]]:
    with sandbox.state.lock:
        return [r for r in sandbox.state.requests if r.get("message_id") in message_ids]


def preferences_webhook(http: httpx.Client, wa_id: str, value: str) -> None:
    change = {"field": "user_preferences", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [contact(wa_id, "Ana")],
        "user_preferences": [{"wa_id": wa_id, "detail": f"User requested to {value}",
                              "category": "marketing_messages", "value": value,
                              "timestamp": int(time.time())}]}}
    assert post(http, body_of(envelope(change)), secret=SECRET).status_code == 200

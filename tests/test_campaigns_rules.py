"""Who a campaign skips and who may run one: opt-outs (a keyword, Meta's
``user_preferences``, 131050), START and an admin opting back in, 131049 counted apart,
a missing attribute, templates that are not approved, the ``campaigns`` permission."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.campaign_support import (
    NOTICE,
    PENDING,
    accepted_per_recipient,
    add_templates,
    campaign_body,
    create,
    import_customers,
    preferences_webhook,
    recipients,
    requests_to,
    wait_for,
)
from tests.conftest import LiveServer, admin_headers, wait_until
from tests.sandbox_support import GraphSandbox, customer_writes, start_crm
from tests.team_support import agent_headers, refused

KEYWORD, PREFERENCES, META, RESTARTED, CAPPED, NO_SEASON, PLAIN, DROPPED = (
    f"8526300000{i}" for i in range(8))
CUSTOMERS = [(KEYWORD, "Kim", "winter", "x"), (PREFERENCES, "Pat", "winter", "x"),
             (META, "Mo", "winter", "x"), (RESTARTED, "Ray", "winter", "x"),
             (CAPPED, "Cat", "winter", "x"), (NO_SEASON, "Nia", "", "x"),
             (PLAIN, "Pia", "winter", "x"), (DROPPED, "Dan", "winter", "x")]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox(status_delay=0.01)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def live(sandbox: GraphSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("campaign-rules") / "data"
    data.mkdir()
    server = start_crm(data, sandbox)
    with server.client(headers=admin_headers(server)) as http:
        add_templates(sandbox, http)
    import_customers(server, data.parent, CUSTOMERS)
    yield server
    server.stop()


@pytest.fixture()
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client(headers=admin_headers(live)) as client:
        yield client


def opt_out(http: httpx.Client, phone: str) -> dict:
    answer = http.get(f"/api/customers/{phone}/opt-out")
    assert answer.status_code == 200, answer.text
    return answer.json()["opt_out"]


def test_opted_out_customers_are_skipped_and_131049_is_counted_apart(
        live: LiveServer, sandbox: GraphSandbox, http: httpx.Client) -> None:
    customer_writes(sandbox, live, KEYWORD, "  stop ")
    customer_writes(sandbox, live, RESTARTED, "取消訂閱")
    customer_writes(sandbox, live, RESTARTED, "Start")
    preferences_webhook(http, PREFERENCES, "stop")
    # Meta's 131050 on an earlier message opts the customer out too.
    sandbox.behave(fail_async={"code": 131050, "to": META})
    notice = create(http, "notice", template=NOTICE, audience={"phones": [META]},
                    variables={"1": "{{name}}"})
    http.post(f"/api/campaigns/{notice}/start")
    wait_until(lambda: opt_out(http, META)["opted_out"], message="131050 to opt out")
    assert opt_out(http, KEYWORD) | {"at": None} == {
        "opted_out": True, "source": "keyword", "detail": "STOP", "at": None}
    assert opt_out(http, PREFERENCES)["source"] == "user_preferences"
    assert opt_out(http, RESTARTED)["opted_out"] is False

    sandbox.behave(fail={"code": 131049, "to": CAPPED})
    # The connection drops after Meta got the request (a timeout looks the same): it
    # may have been delivered, so it is not sent again; its fate is unknown.
    sandbox.behave(drop={"to": DROPPED})
    phones = [p for p, *_ in CUSTOMERS]
    cid = create(http, "winter", audience={"phones": phones})
    http.post(f"/api/campaigns/{cid}/start")
    done = wait_for(http, cid, lambda c: c["state"] == "done" and c["counts"]["read"] == 2)
    assert done["counts"] | {"in_flight": 0, "pending": 0} == {
        "audience": 8, "queued": 4, "sent": 2, "delivered": 2, "read": 2, "replied": 0,
        "failed": 1, "skipped": 4, "unknown": 1, "in_flight": 0, "pending": 0}
    assert done["failures"] == {"131049": 1}
    assert done["skipped"] == {"missing_attribute": 1, "opted_out": 3}
    found = {r["phone"]: r for r in recipients(http, cid)}
    assert {p for p, r in found.items() if r["code"] == "opted_out"} == {KEYWORD, PREFERENCES,
                                                                         META}
    assert (found[NO_SEASON]["status"], found[NO_SEASON]["error"]) == ("skipped", "Season")
    assert found[CAPPED]["error"]["code"] == 131049
    # Not retried: one request for the capped recipient.
    assert len(requests_to(sandbox, {found[CAPPED]["message_id"]})) == 1
    assert found[DROPPED]["status"] == "unknown"
    assert [r["outcome"] for r in requests_to(sandbox, {found[DROPPED]["message_id"]})] == [
        "dropped"]
    assert accepted_per_recipient(sandbox, http, cid) == {RESTARTED: 1, PLAIN: 1}
    failed = http.get(f"/api/campaigns/{cid}/recipients", params={"status": "failed"}).json()
    assert [r["phone"] for r in failed["recipients"]] == [CAPPED]

    # An admin opts a customer back in; an agent may not.
    agent = agent_headers(live, "olga")
    refused(httpx.post(f"{live.url}/api/customers/{KEYWORD}/opt-out", headers=agent,
                       json={"opted_out": False}), 403, "forbidden")
    back = http.post(f"/api/customers/{KEYWORD}/opt-out", json={"opted_out": False})
    assert back.json()["opt_out"]["opted_out"] is False
    assert back.json()["opt_out"]["source"] == "admin"


def test_templates_permissions_and_schedules(live: LiveServer, http: httpx.Client) -> None:
    refused(http.post("/api/campaigns", json=campaign_body("pending", template=PENDING,
                                                           audience={"phones": [PLAIN]})),
            409, "template_not_approved")
    refused(http.post("/api/campaigns", json=campaign_body("none", audience={})),
            400, "empty_audience")
    agent = agent_headers(live, "carla")
    body = campaign_body("by carla", audience={"phones": [PLAIN]})
    refused(httpx.post(f"{live.url}/api/campaigns", headers=agent, json=body), 403,
            "forbidden")
    granted = http.put("/api/agents/carla/permissions", json={"permissions": ["campaigns"]})
    assert granted.json() == {"permissions": ["campaigns"]}
    made = httpx.post(f"{live.url}/api/campaigns", headers=agent, json=body)
    assert made.status_code == 201 and made.json()["audience"] == 1, made.text

    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    made = http.post("/api/campaigns", json=campaign_body(
        "scheduled", audience={"phones": [PLAIN]}, schedule_at=soon))
    assert made.json()["campaign"]["state"] == "scheduled", made.text
    cid = made.json()["id"]
    done = wait_for(http, cid, lambda c: c["state"] == "done", 10, "the schedule to start it")
    assert done["started_at"] >= soon[:19]
    refused(http.post(f"/api/campaigns/{cid}/pause"), 409, "bad_state")


def test_the_cli_and_a_csv_upload(live: LiveServer, sandbox: GraphSandbox, http: httpx.Client,
                                  tmp_path: Path) -> None:
    sheet = tmp_path / "to.csv"
    sheet.write_text(f"Name,Phone\nPia,+{PLAIN}\nnobody,not a phone\n")
    uploaded = http.post("/api/campaigns/csv", files={"file": ("to.csv", sheet.read_bytes())})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["phones"] == 1 and uploaded.json()["bytes"] == sheet.stat().st_size
    made = http.post("/api/campaigns", json=campaign_body(
        "from csv", audience={"csv": uploaded.json()["id"]}))
    assert made.json()["audience"] == 1, made.text

    def crm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "crm.cli", "campaigns", *args],
                              env=live.env, capture_output=True, text=True, timeout=60)

    created = crm("create", "cli", "--template", "season_prices", "--language", "en",
                  "--to", str(sheet), "--phone", f"+{RESTARTED}", "--var", "1={{name}}",
                  "--var", "2={{attr:Season}}")
    assert created.returncode == 0, created.stderr
    cid = created.stdout.strip()
    started = crm("start", cid)  # follows the campaign until it ends
    assert started.returncode == 0, started.stderr
    result = json.loads(started.stdout)
    assert result["state"] == "done" and result["counts"]["queued"] == 2
    assert accepted_per_recipient(sandbox, http, cid) == {PLAIN: 1, RESTARTED: 1}
    shown = json.loads(crm("show", cid).stdout)
    assert shown["name"] == "cli" and shown["agent"] is None
    assert crm("pause", cid).returncode == 1  # it is done

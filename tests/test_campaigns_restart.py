"""A server killed (SIGKILL) in the middle of a campaign: after the restart no recipient
gets a second message, the message in flight at the kill is counted as unknown and
not resent, the rest is sent, and a campaign scheduled meanwhile starts on time."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.campaign_support import (
    accepted_per_recipient,
    add_templates,
    create,
    import_customers,
    recipients,
    requests_to,
    wait_for,
)
from tests.conftest import admin_headers, wait_until
from tests.sandbox_support import GraphSandbox, events, start_crm

ROWS = [(f"8526400{i:04d}", f"Guest {i}", "spring", "kayak") for i in range(400)]


def test_sigkill_mid_campaign_then_restart_sends_the_rest_once(tmp_path: Path) -> None:
    sandbox = GraphSandbox(status_delay=0.01)
    data = tmp_path / "data"
    data.mkdir()
    server = start_crm(data, sandbox, CRM_SEND_RATE="100")
    try:
        with server.client(headers=admin_headers(server)) as http:
            add_templates(sandbox, http)
            import_customers(server, tmp_path, ROWS)
            cid = create(http, "spring", audience={"attributes": {"Club": "kayak"}})
            later = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
            scheduled = create(http, "later", audience={"phones": [ROWS[0][0]]},
                               schedule_at=later)
            assert http.post(f"/api/campaigns/{cid}/start").status_code == 200
            wait_for(http, cid, lambda c: c["counts"]["sent"] >= 80)
        # One send is held at Meta's end when the server dies: its fate is unknown.
        sandbox.behave(slow={"seconds": 2.0})
        wait_until(lambda: sandbox.state.holding, 5, message="a send to be in flight")
        [held] = sandbox.state.holding
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)

        server = start_crm(data, sandbox, CRM_SEND_RATE="100")
        with server.client(headers=admin_headers(server)) as http:
            wait_for(http, cid, lambda c: c["state"] == "done"
                     and c["counts"]["sent"] + c["counts"]["unknown"] == 400, 30)
            # The held send's answer never reached the dead server: its fate became
            # unknown (sent after all once Meta's statuses for it came), never resent.
            assert events(server, "message.unknown", message_id=held)
            assert len(requests_to(sandbox, {held})) == 1
            accepted = accepted_per_recipient(sandbox, http, cid)
            assert set(accepted.values()) == {1}, "a recipient got two messages"
            unknown = {r["phone"] for r in recipients(http, cid, status="unknown")}
            assert set(accepted) | unknown == {p for p, *_ in ROWS}
            started = wait_for(http, scheduled, lambda c: c["state"] == "done", 15)
            assert started["started_at"] >= later[:19]
        server.stop()
        # Replay rebuilds the same campaign rows and sends nothing.
        before = len(sandbox.state.requests)
        check = subprocess.run([sys.executable, "-m", "crm.cli", "replay", "--check"],
                               env=server.env, capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr
        assert len(sandbox.state.requests) == before
    finally:
        server.stop()
        sandbox.close()

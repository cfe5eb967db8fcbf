"""The read API and /healthz against a real crm server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from crm.events import EventStore
from crm.projections import default_projector
from tests.conftest import LiveServer, admin_headers, crm_env
from tests.factories import queued, received

PHONE = "85291234567"


def fill(server: LiveServer) -> None:
    """Append from another process, as a CLI command beside the server would."""
    projector = default_projector()
    store = EventStore(server.db_path, projector)
    store.record([received(phone=f"2000{i}", text=f"hi {i}", name=f"C{i}") for i in range(5)])
    store.record([received(text="<b>hello</b>", wamid="w.main"), queued("m1", text="answer")])
    store.close()


def test_healthz_reports_positions(server: LiveServer) -> None:
    with server.client(headers=admin_headers(server)) as http:
        before = http.get("/healthz").json()["position"]
        fill(server)
        body = http.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["position"] == before + 7
    checkpoints = {name: s["checkpoint"] for name, s in body["projections"].items()}
    assert checkpoints["chats"] == before + 7
    assert checkpoints["messages"] == before + 7
    assert set(checkpoints.values()) == {before + 7}
    assert {"open_streams", "unparsed_webhooks", "channel"} <= set(body)


def test_healthz_tells_anonymous_callers_only_that_it_is_up(server: LiveServer) -> None:
    fill(server)
    for headers in ({}, {"Authorization": "Bearer not-a-token"},
                    {"Cookie": "crm_session=forged.value"}):
        with server.client(headers=headers) as http:
            answer = http.get("/healthz")
            assert answer.status_code == 200
            assert answer.json() == {"status": "ok"}


def test_chats_messages_and_events_shapes(server: LiveServer) -> None:
    with server.client(headers=admin_headers(server)) as http:
        base = http.get("/healthz").json()["position"]
        fill(server)
        chats = http.get("/api/chats", params={"limit": 2}).json()
        assert [c["phone"] for c in chats["chats"]] == [PHONE, "20004"]
        chat = chats["chats"][0]
        assert set(chat) >= {"phone", "name", "last_message", "unread", "last_inbound_at",
                             "window_expires_at"}
        assert chat["unread"] == 1 and chat["last_message"]["text"] == "answer"
        assert chats["next"] is not None
        rest = http.get("/api/chats", params={"before": chats["next"], "limit": 500}).json()
        assert len(rest["chats"]) == 4 and rest["next"] is None

        thread = http.get("/api/messages", params={"phone": PHONE}).json()
        assert [m["text"] for m in thread["messages"]] == ["<b>hello</b>", "answer"]
        message = thread["messages"][1]
        assert set(message) >= {"id", "wamid", "phone", "direction", "type", "text", "caption",
                                "media", "timestamp", "status", "error", "reply_to",
                                "reactions", "agent"}
        assert message["direction"] == "out" and message["status"] == "queued"
        assert message["agent"] == "ana"

        events = http.get("/api/events", params={"after": base + 5, "limit": 1}).json()
        assert [e["position"] for e in events["events"]] == [base + 6]
        assert events["next"] == base + 6
        assert set(events["events"][0]) == {"position", "id", "type", "stream", "occurred_at",
                                            "recorded_at", "actor", "idempotency_key", "data",
                                            "prev_hash", "hash"}
        last = http.get("/api/events", params={"after": base + 6}).json()
        assert [e["position"] for e in last["events"]] == [base + 7]
        assert last["next"] is None


def test_bad_parameters_are_clear_errors(server: LiveServer) -> None:
    with server.client(headers=admin_headers(server)) as http:
        bad = http.get("/api/chats", params={"limit": "many"})
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "bad_parameter"
        assert http.get("/api/chats", params={"limit": 100000}).status_code == 200
        assert http.get("/api/events", params={"after": "x"}).status_code == 400
        unknown = http.get("/api/messages", params={"phone": "999"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "unknown_chat"
        assert http.get("/api/messages").status_code == 400
        assert http.get("/api/messages", params={"phone": PHONE, "before": "x"}).status_code == 400


HUGE = (str(2**63), str(2**64), "9" * 25, "9" * 5000, "\u0661\u0662", "1_0", "-" + "9" * 20)


def test_positions_and_cursors_beyond_64_bits_are_400_not_500(server: LiveServer) -> None:
    fill(server)
    with server.client(headers=admin_headers(server)) as http:
        asked = []
        for huge in HUGE:
            asked += [http.get("/api/events", params={"after": huge}),
                      http.get("/api/chats", params={"before": huge}),
                      http.get("/api/messages", params={"phone": PHONE, "before": f"{huge}:1"}),
                      http.get("/api/messages", params={"phone": PHONE, "before": f"1:{huge}"}),
                      http.get("/api/stream", params={"after": huge}),
                      http.get("/api/stream", headers={"Last-Event-ID": huge.encode()})]
        assert [(a.request.url, a.status_code) for a in asked if a.status_code != 400] == []
        for cursor in ("w1..2:3", "w1e999:3", "w+:3", f"w1:{2**64}"):  # sort=waiting's
            asked.append(http.get("/api/chats", params={"sort": "waiting", "before": cursor}))
        assert [(a.request.url, a.status_code) for a in asked if a.status_code != 400] == []
        assert {a.json()["error"]["code"] for a in asked} == {"bad_parameter"}
        # The largest 64-bit position is a position: nothing after it, not an error.
        top = http.get("/api/events", params={"after": str(2**63 - 1)})
        assert top.status_code == 200 and top.json()["events"] == []
        assert http.get("/api/chats", params={"before": str(2**63 - 1)}).status_code == 200


def test_bad_setting_stops_the_server_naming_the_variable(tmp_path: Path) -> None:
    env = crm_env(tmp_path / "data", CRM_PORT="not-a-port")
    result = subprocess.run([sys.executable, "-m", "crm.cli", "serve"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "CRM_PORT" in result.stderr


def test_replay_cli_rebuilds_and_checks(server: LiveServer) -> None:
    fill(server)
    env = server.env
    run = [sys.executable, "-m", "crm.cli", "replay"]
    assert subprocess.run(run, env=env, capture_output=True, timeout=60).returncode == 0
    checked = subprocess.run([*run, "--check"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0, checked.stdout
    # The server keeps serving from the swapped-in tables.
    with server.client(headers=admin_headers(server)) as http:
        assert len(http.get("/api/chats").json()["chats"]) == 6

    raw = sqlite3.connect(server.db_path)
    raw.execute("UPDATE chats SET unread = 42")
    raw.commit()
    raw.close()
    broken = subprocess.run([*run, "--check"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert broken.returncode == 1
    assert "chats" in broken.stdout


def test_password_hashes_are_hidden_from_every_reader(server: LiveServer) -> None:
    from tests.auth_support import bearer, create_agent, create_token

    admin = admin_headers(server)
    create_agent(server, admin, "ana", "a-long-password")
    ana = bearer(create_token(server, admin, "ana")[0])
    with server.client() as http:
        as_admin = http.get("/api/events", params={"limit": 200}, headers=admin).json()
        as_agent = http.get("/api/events", params={"limit": 200}, headers=ana).json()
    created = [e for e in as_admin["events"] if e["type"] == "agent.created"]
    assert len(created) == 2
    assert all(e["data"]["password_hash"] == "[redacted]" for e in created)
    # A non-admin sees no agent's or token's event at all (issue #13, 6).
    assert not [e for e in as_agent["events"] if e["stream"].startswith("agent:")]
    assert "$argon2" not in json.dumps(as_agent)
    raw = sqlite3.connect(server.db_path).execute(
        "SELECT data FROM events WHERE type = 'agent.created'").fetchall()
    assert all("$argon2" in data for (data,) in raw)  # the log itself keeps them

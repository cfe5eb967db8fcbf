"""Team workflow through a real ``crm serve`` and the fake Graph API: states and their
transitions (snoozes waking by themselves, also across a restart), assignment, filters
and counts, labels, quick replies, notes that never reach Meta, notifications, and the
stale-reply guard with two agents racing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import LiveServer, admin_headers, wait_until
from tests.sandbox_support import GraphSandbox, customer_writes, events, send_text, start_crm
from tests.team_support import agent_headers, chat, phones, refused

A, B, C, D = "85292000001", "85292000002", "85292000003", "85292000004"


def iso(delta: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta)).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[GraphSandbox]:
    fake = GraphSandbox()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def server(sandbox: GraphSandbox, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("team-api") / "data"
    data_dir.mkdir()
    live = start_crm(data_dir, sandbox)
    for phone in (A, B, C):
        customer_writes(sandbox, live, phone, f"hello from {phone}")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def bob(server: LiveServer) -> dict[str, str]:
    return agent_headers(server, "bob")


def test_states_move_as_the_contract_says(server: LiveServer, sandbox: GraphSandbox,
                                          bob: dict[str, str]) -> None:
    with server.client(headers=admin_headers(server)) as http:
        first = chat(http, A)
        assert first["status"] == "open" and first["assignee"] is None
        assert first["labels"] == [] and first["snoozed_until"] is None
        assert first["waiting_since"] is not None

        status = f"/api/chats/{A}/status"
        refused(http.post(status, json={"status": "closed"}), 400, "bad_status")
        refused(http.post(status, json={"status": "snoozed"}), 400, "missing_until")
        refused(http.post(status, json={"status": "snoozed", "until": iso(-60)}), 400,
                "until_in_past")
        refused(http.post(status, json={"status": "snoozed", "until": "tomorrow"}), 400,
                "bad_until")
        refused(http.post(status, json={"status": "snoozed", "until": "2999-01-01T09:00:00"}),
                400, "bad_until")
        refused(http.post(status, json={"status": "open", "until": iso(60)}), 400, "bad_until")
        refused(http.post("/api/chats/85299999999/status", json={"status": "open"}), 404,
                "unknown_chat")

        answer = http.post(status, json={"status": "pending"})
        assert answer.status_code == 200 and answer.json()["chat"]["status"] == "pending"
        assigned = http.post(f"/api/chats/{A}/assign", json={"agent": "bob"}).json()["chat"]
        assert assigned["assignee"] == "bob"
        resolved = http.post(status, json={"status": "resolved"}).json()["chat"]
        assert resolved["status"] == "resolved" and resolved["waiting_since"] is None

        # The customer writes again: open, still bob's, waiting again.
        customer_writes(sandbox, server, A, "one more thing")
        again = chat(http, A)
        assert again["status"] == "open" and again["assignee"] == "bob"
        assert again["waiting_since"] is not None
        # An answer ends the wait.
        assert send_text(http, A, "sure").status_code == 202
        assert chat(http, A)["waiting_since"] is None

        until = iso(3600)
        snoozed = http.post(status, json={"status": "snoozed", "until": until}).json()["chat"]
        assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"] is not None
        customer_writes(sandbox, server, A, "are you there?")
        woken = chat(http, A)
        assert woken["status"] == "open" and woken["snoozed_until"] is None
        assert woken["assignee"] == "bob"
    changes = events(server, "chat.status_changed")
    assert {e["actor"] for e in changes} == {"agent:admin"}


def test_a_snooze_ends_by_itself_even_across_a_restart(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("team-snooze") / "data"
    data_dir.mkdir()
    sandbox = GraphSandbox()
    live = start_crm(data_dir, sandbox)
    try:
        customer_writes(sandbox, live, D, "hi")
        with live.client(headers=admin_headers(live)) as http:
            answer = http.post(f"/api/chats/{D}/status",
                               json={"status": "snoozed", "until": iso(1.5)})
            assert answer.json()["chat"]["status"] == "snoozed"
            wait_until(lambda: chat(http, D)["status"] == "open", 10,
                       message="the snooze to end by itself")
            ending = http.post(f"/api/chats/{D}/status",
                               json={"status": "snoozed", "until": iso(2.0)}).json()
            assert ending["chat"]["status"] == "snoozed"
    finally:
        live.stop()
    ends = datetime.now(UTC) + timedelta(seconds=2.5)
    wait_until(lambda: datetime.now(UTC) > ends, 10, message="the snooze's end to pass")
    woke_before = len([e for e in events(live, "chat.status_changed") if "woke" in e["data"]])
    live = start_crm(data_dir, sandbox, port=live.port)  # type: ignore[arg-type]
    try:
        with live.client(headers=admin_headers(live)) as http:
            wait_until(lambda: chat(http, D)["status"] == "open", 10,
                       message="the snooze that ended while down to end on start")
    finally:
        live.stop()
        sandbox.close()
    wakes = [e for e in events(live, "chat.status_changed") if "woke" in e["data"]]
    assert len(wakes) == woke_before + 1 == 2
    assert {e["actor"] for e in wakes} == {"system"}


def test_assignment_refuses_unknown_and_disabled_agents(server: LiveServer,
                                                        bob: dict[str, str]) -> None:
    agent_headers(server, "gone")
    with server.client(headers=admin_headers(server)) as http:
        assert http.post("/api/agents/gone/disable").status_code == 200
        assign = f"/api/chats/{B}/assign"
        refused(http.post(assign, json={"agent": "nobody"}), 400, "unknown_agent")
        refused(http.post(assign, json={"agent": "gone"}), 400, "agent_disabled")
        refused(http.post(assign, json={"agent": 3}), 400, "bad_agent")
        refused(http.post(assign, json={}), 400, "bad_agent")
        assert http.post(assign, json={"agent": "bob"}).json()["chat"]["assignee"] == "bob"
        assert http.post(assign, json={"agent": None}).json()["chat"]["assignee"] is None
        assert http.post(assign, json={"agent": "bob"}).json()["chat"]["assignee"] == "bob"
    with server.client(headers=bob) as http:
        found = http.get("/api/notifications").json()
        assigned = [n for n in found["notifications"] if n["kind"] == "assigned"]
        assert {n["phone"] for n in assigned} >= {B}
        assert found["unread"] >= len(assigned)
        refused(http.post("/api/notifications/read", json={}), 400, "bad_ids")
        newest = found["notifications"][0]["id"]
        after = http.post("/api/notifications/read", json={"upto": newest}).json()
        assert after["unread"] == 0 and all(n["read"] for n in after["notifications"])
    assert events(server, "notifications.read")[-1]["actor"] == "agent:bob"
    with server.client(headers=bob) as http:
        # The pickers' list, for any agent: enabled names only, nothing an admin keeps.
        names = http.get("/api/team/agents").json()["agents"]
        assert {"name": "bob"} in names and {"name": "admin"} in names
        assert {"name": "gone"} not in names
        refused(http.get("/api/agents"), 403, "forbidden")


def test_filters_combine_and_counts_add_up(server: LiveServer, sandbox: GraphSandbox,
                                           bob: dict[str, str]) -> None:
    with server.client(headers=admin_headers(server)) as http:
        http.post(f"/api/chats/{C}/assign", json={"agent": "admin"})
        http.post(f"/api/chats/{C}/status", json={"status": "pending"})
        everything = phones(http)
        assert set(everything) >= {A, B, C}
        assert phones(http, status="pending") == [C]
        assert set(phones(http, status="open,pending")) >= {A, B, C}
        assert C in phones(http, assignee="me") and B not in phones(http, assignee="me")
        assert set(phones(http, assignee="bob")) >= {A, B}
        assert C not in phones(http, assignee="none")
        assert phones(http, assignee="bob", status="pending") == []
        refused(http.get("/api/chats", params={"status": "later"}), 400, "bad_status")
        refused(http.get("/api/chats", params={"unread": "maybe"}), 400, "bad_parameter")
        refused(http.get("/api/chats", params={"sort": "name"}), 400, "bad_parameter")

        unread = phones(http, unread="true")
        assert all(chat(http, p)["unread"] > 0 for p in unread)
        waiting = phones(http, waiting="true")
        assert all(chat(http, p)["waiting_since"] is not None for p in waiting)
        assert A not in waiting or chat(http, A)["waiting_since"] is not None

        # Paging keeps working under a filter.
        first = http.get("/api/chats", params={"assignee": "bob", "limit": 1}).json()
        rest = http.get("/api/chats", params={"assignee": "bob", "limit": 200,
                                              "before": first["next"]}).json()
        assert [c["phone"] for c in first["chats"] + rest["chats"]] == phones(http,
                                                                              assignee="bob")

        # Longest waiting first, then the rest by activity.
        by_wait = http.get("/api/chats", params={"sort": "waiting", "limit": 200}).json()
        keys = [c["waiting_since"] for c in by_wait["chats"]]
        waited = [k for k in keys if k is not None]
        assert waited == sorted(waited) and keys[:len(waited)] == waited
        page = http.get("/api/chats", params={"sort": "waiting", "limit": 1}).json()
        assert page["chats"][0]["phone"] == by_wait["chats"][0]["phone"]
        more = http.get("/api/chats", params={"sort": "waiting", "limit": 200,
                                              "before": page["next"]}).json()
        assert [c["phone"] for c in page["chats"] + more["chats"]] == [
            c["phone"] for c in by_wait["chats"]]

        counts = http.get("/api/chats/counts").json()
        listed = {p: chat(http, p) for p in everything}
        open_ = [c for c in listed.values() if c["status"] == "open"]
        assert counts == {
            "mine": sum(1 for c in open_ if c["assignee"] == "admin"),
            "unassigned": sum(1 for c in open_ if c["assignee"] is None),
            "all": len(open_),
            "unread": sum(1 for c in open_ if c["unread"] > 0),
            "pending": sum(1 for c in listed.values() if c["status"] == "pending"),
            "snoozed": sum(1 for c in listed.values() if c["status"] == "snoozed"),
            "resolved": sum(1 for c in listed.values() if c["status"] == "resolved"),
        }
    with server.client(headers=bob) as http:
        mine = http.get("/api/chats/counts").json()["mine"]
        assert mine == len(phones(http, assignee="me", status="open"))


def test_labels_are_admins_to_make_and_anyones_to_apply(server: LiveServer,
                                                        bob: dict[str, str]) -> None:
    with server.client(headers=bob) as http:
        refused(http.post("/api/labels", json={"name": "VIP"}), 403, "forbidden")
    with server.client(headers=admin_headers(server)) as http:
        refused(http.post("/api/labels", json={"name": "  "}), 400, "bad_name")
        refused(http.post("/api/labels", json={"name": "a,b"}), 400, "bad_name")
        refused(http.post("/api/labels", json={"name": "VIP", "color": "red"}), 400,
                "bad_color")
        made = http.post("/api/labels", json={"name": "VIP", "color": "#FF0000"})
        assert made.status_code == 201, made.text
        vip = made.json()["label"]
        assert vip["name"] == "VIP" and vip["color"] == "#ff0000"
        refused(http.post("/api/labels", json={"name": "vip"}), 409, "label_exists")
        other = http.post("/api/labels", json={"name": "Refund"}).json()["label"]
        refused(http.put(f"/api/labels/{other['id']}", json={"name": "VIP"}), 409,
                "label_exists")
        refused(http.put("/api/labels/nope", json={"name": "X"}), 404, "unknown_label")
        renamed = http.put(f"/api/labels/{other['id']}", json={"name": "Refunds"}).json()
        assert renamed["label"]["name"] == "Refunds"
        assert [label["name"] for label in http.get("/api/labels").json()["labels"]] == [
            "Refunds", "VIP"]
    with server.client(headers=bob) as http:
        change = f"/api/chats/{B}/labels"
        refused(http.post(change, json={"add": ["Nope"]}), 400, "unknown_label")
        refused(http.post(change, json={"add": "VIP"}), 400, "bad_labels")
        labelled = http.post(change, json={"add": ["vip", "Refunds"]}).json()["chat"]
        assert labelled["labels"] == ["Refunds", "VIP"]
        assert phones(http, label="VIP") == [B]
        assert phones(http, label="vip", assignee="bob") == [B]
        after = http.post(change, json={"remove": ["Refunds"]}).json()["chat"]
        assert after["labels"] == ["VIP"]
        assert phones(http, label="Refunds") == []


def test_quick_replies_crud_and_bad_input(server: LiveServer, bob: dict[str, str]) -> None:
    with server.client(headers=bob) as http:
        path = "/api/quick-replies"
        refused(http.post(path, json={"shortcut": "two words", "text": "x"}), 400,
                "bad_shortcut")
        refused(http.post(path, json={"shortcut": "prices", "text": " "}), 400, "empty_text")
        refused(http.post(path, json={"shortcut": "prices", "text": "x" * 5000}), 400,
                "text_too_long")
        made = http.post(path, json={"shortcut": "/prices",
                                     "text": "Hi {{name}}, a single kayak is 40"})
        assert made.status_code == 201, made.text
        reply = made.json()["quick_reply"]
        assert reply["shortcut"] == "prices" and "{{name}}" in reply["text"]
        refused(http.post(path, json={"shortcut": "PRICES", "text": "again"}), 409,
                "shortcut_exists")
        changed = http.put(f"{path}/{reply['id']}", json={"shortcut": "prices",
                                                           "text": "Hi {{name}}: 45"})
        assert changed.json()["quick_reply"]["text"] == "Hi {{name}}: 45"
        refused(http.put(f"{path}/nope", json={"shortcut": "x", "text": "y"}), 404,
                "unknown_quick_reply")
        assert [r["id"] for r in http.get(path).json()["quick_replies"]] == [reply["id"]]
        assert http.delete(f"{path}/{reply['id']}").status_code == 200
        refused(http.delete(f"{path}/{reply['id']}"), 404, "unknown_quick_reply")
        assert http.get(path).json()["quick_replies"] == []


def test_notes_stay_inside(server: LiveServer, sandbox: GraphSandbox,
                           bob: dict[str, str]) -> None:
    with server.client(headers=admin_headers(server)) as http:
        http.post(f"/api/chats/{C}/status", json={"status": "resolved"})
        before = chat(http, C)
        requests = len(sandbox.requests())
        refused(http.post(f"/api/chats/{C}/notes", json={"text": " "}), 400, "empty_text")
        refused(http.post("/api/chats/85299999999/notes", json={"text": "x"}), 404,
                "unknown_chat")
        made = http.post(f"/api/chats/{C}/notes",
                         json={"text": "@bob can you call them? cc @nobody, mail a@bob"})
        assert made.status_code == 201, made.text
        note = made.json()["note"]
        assert note["direction"] == "note" and note["type"] == "note"
        assert note["agent"] == "admin" and note["mentions"] == ["bob"]
        thread = http.get("/api/messages", params={"phone": C}).json()["messages"]
        assert thread[-1]["id"] == note["id"] and thread[-1]["text"].startswith("@bob")
        assert [m["position"] for m in thread] == sorted(m["position"] for m in thread)
        after = chat(http, C)
        assert after["unread"] == before["unread"] and after["status"] == "resolved"
        assert after["waiting_since"] == before["waiting_since"]
        assert after["last_message"] == before["last_message"]
    assert len(sandbox.requests()) == requests
    assert not [r for r in sandbox.requests() if "call them" in str(r)]
    with server.client(headers=bob) as http:
        mentions = [n for n in http.get("/api/notifications").json()["notifications"]
                    if n["kind"] == "mention"]
        assert [(n["phone"], n["actor"]) for n in mentions] == [(C, "agent:admin")]


def test_two_agents_racing_on_one_chat_send_once(server: LiveServer, sandbox: GraphSandbox,
                                                 bob: dict[str, str]) -> None:
    customer_writes(sandbox, server, B, "which of you answers?")
    with server.client(headers=admin_headers(server)) as admin, \
            server.client(headers=bob) as other:
        thread = admin.get("/api/messages", params={"phone": B}).json()["messages"]
        seen = thread[-1]["position"]
        start = threading.Barrier(2)
        answers: dict[str, object] = {}

        def reply(name: str, http) -> None:
            start.wait()
            answers[name] = http.post("/api/send", json={"phone": B, "text": f"{name} here",
                                                         "seen": seen})

        racers = [threading.Thread(target=reply, args=("admin", admin)),
                  threading.Thread(target=reply, args=("bob", other))]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        codes = sorted(a.status_code for a in answers.values())  # type: ignore[attr-defined]
        assert codes == [202, 409], {k: a.text for k, a in answers.items()}  # type: ignore
        winner = next(k for k, a in answers.items() if a.status_code == 202)  # type: ignore
        loser = next(k for k in answers if k != winner)
        error = answers[loser].json()["error"]  # type: ignore[attr-defined]
        assert error["code"] == "conversation_changed"
        assert [m["text"] for m in error["messages"]] == [f"{winner} here"]
        forced = (admin if loser == "admin" else other).post(
            "/api/send", json={"phone": B, "text": f"{loser} here", "seen": seen,
                               "force": True})
        assert forced.status_code == 202, forced.text

        # The customer writing after what one saw stops the send too; one's own
        # messages since do not.
        newest = admin.get("/api/messages", params={"phone": B}).json()["messages"][-1]
        ok = admin.post("/api/send", json={"phone": B, "text": "after my own",
                                           "seen": newest["position"]})
        assert ok.status_code == 202, ok.text
        again = admin.post("/api/send", json={"phone": B, "text": "and again",
                                              "seen": newest["position"]})
        assert again.status_code == 202, again.text
        customer_writes(sandbox, server, B, "hello??")
        late = admin.post("/api/send", json={"phone": B, "text": "stale",
                                             "seen": newest["position"]})
        error = refused(late, 409, "conversation_changed")
        assert error["messages"][-1]["text"] == "hello??"
        # A note by another agent counts as a change too.
        current = admin.get("/api/messages", params={"phone": B}).json()["messages"][-1]
        assert other.post(f"/api/chats/{B}/notes", json={"text": "on it"}).status_code == 201
        refused(admin.post("/api/send", json={"phone": B, "text": "x",
                                              "seen": current["position"]}),
                409, "conversation_changed")
        refused(admin.post("/api/send", json={"phone": B, "text": "x", "seen": "soon"}),
                400, "bad_seen")
    texts = [e["data"]["text"] for e in events(server, "message.queued")
             if e["data"]["phone"] == B]
    assert texts.count(f"{winner} here") == 1 and texts.count(f"{loser} here") == 1
    assert "stale" not in texts

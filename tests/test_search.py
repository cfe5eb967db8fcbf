"""Full-text search (``GET /api/search``) and the thread around a message
(``GET /api/messages?around=``) against a real server, and the ``search`` projection
live against a rebuild."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crm.events import EventStore
from crm.events.customers import CustomerUpdated, customer_stream
from crm.events.identity import CustomerLinked
from crm.projections import PROJECTIONS, Projector, default_projector
from crm.projections.replay import check, rebuild
from crm.projections.search_results import search
from crm.search.query import parse
from crm.search.text import prepare_all
from tests.conftest import LiveServer, admin_headers, start_server
from tests.factories import BASE_TIME, received
from tests.team_support import agent_headers, refused

CHAN, ANA, BEA, OTHERS = "85291110001", "5511922220002", "44711133333", "85291110009"


def at(minutes: int):
    return BASE_TIME + timedelta(minutes=minutes)


def history() -> list:
    return [
        received(CHAN, "請問星期六有雙人獨木舟嗎", wamid="w.chan", name="Mrs Chan", at=at(1)),
        received(ANA, "Não temos informação sobre a reserva", wamid="w.ana", name="Ana",
                 at=at(2)),
        received(BEA, "We rent a kayak at the café by the lake", wamid="w.bea", at=at(3)),
        received(BEA, "see you tomorrow", wamid="w.edit", at=at(4)),
        received(BEA, "the door code is banana", wamid="w.gone", at=at(5)),
        received(BEA, kind="document", wamid="w.doc", caption="for March", at=at(6),
                 media={"id": "m.doc", "filename": "invoice-march.pdf",
                        "mime_type": "application/pdf"}),
        received(BEA, kind="edit", wamid="w.e1", at=at(7), edit={
            "original_message_id": "w.edit",
            "message": {"type": "text", "text": {"body": "see you on friday"}}}),
        received(BEA, kind="revoke", wamid="w.r1", at=at(8),
                 revoke={"original_message_id": "w.gone"}),
        *[received(BEA, f"zebra number {i}", wamid=f"w.z{i}", at=at(10 + i)) for i in range(5)],
        received(OTHERS, "a kayak for someone else's customer", wamid="w.others", at=at(20)),
        CustomerUpdated(phone=ANA, name="Ana Souza", attributes={"city": "São Paulo"},
                        source="csv:test.csv").new(customer_stream(ANA)),
    ]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("search") / "data"
    data_dir.mkdir()
    server = start_server(data_dir, CRM_VISIBILITY="assigned")
    store = EventStore(server.db_path, default_projector())
    try:
        store.record(history())
    finally:
        store.close()
    yield server
    server.stop()


def find(http: Any, q: str, **params: Any) -> dict[str, Any]:
    answer = http.get("/api/search", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def texts(found: dict[str, Any]) -> list[str]:
    return [r["message"]["text"] or r["message"]["caption"] for r in found["results"]
            if r["message"]]


def marked(result: dict[str, Any]) -> list[str]:
    """The highlighted parts of the field a result names."""
    message = result["message"]
    source = {"text": message["text"], "caption": message["caption"],
              "edited": (message.get("edited") or {}).get("text"),
              "file_name": (message.get("media") or {}).get("filename")}[result["field"]]
    return [source[start:end] for start, end in result["highlights"]]


def test_words_phrases_accents_cjk_and_portuguese(live: LiveServer) -> None:
    with live.client(headers=admin_headers(live)) as http:
        found = find(http, "lake kayak")  # any order, both needed
        assert texts(found)[0] == "We rent a kayak at the café by the lake"
        first = found["results"][0]
        assert first["phone"] == BEA and first["kind"] == "message"
        assert first["field"] == "text" and marked(first) == ["kayak", "lake"]
        assert first["message"]["wamid"] == "w.bea" and "position" in first["message"]
        assert texts(find(http, "kayak lakes")) == []
        assert texts(find(http, '"rent a kayak"')) == ["We rent a kayak at the café by the lake"]
        assert texts(find(http, '"kayak a rent"')) == []
        cafe = find(http, "cafe")["results"]
        assert len(cafe) == 1 and marked(cafe[0]) == ["café"]
        assert [r["message"]["wamid"] for r in find(http, "CAFÉ")["results"]] == ["w.bea"]
        chinese = find(http, "獨木舟")["results"]
        assert [r["message"]["wamid"] for r in chinese] == ["w.chan"]
        assert chinese[0]["highlights"] == [[8, 11]] and chinese[0]["name"] == "Mrs Chan"
        assert [r["message"]["wamid"] for r in find(http, "星期")["results"]] == ["w.chan"]
        assert find(http, "期星")["results"] == []  # a substring, not any two characters
        for q in ("informação", "informacao", "reserva sobre"):
            results = find(http, q)["results"]
            assert [r["message"]["wamid"] for r in results] == ["w.ana"], q
        assert marked(find(http, "informacao")["results"][0]) == ["informação"]


def test_files_edits_revokes_and_customers(live: LiveServer) -> None:
    with live.client(headers=admin_headers(live)) as http:
        doc = find(http, "invoice")["results"]
        assert [r["message"]["wamid"] for r in doc] == ["w.doc"]
        assert doc[0]["field"] == "file_name" and marked(doc[0]) == ["invoice"]
        for q in ("tomorrow", "friday"):  # the old text and the new
            results = find(http, q)["results"]
            assert [r["message"]["wamid"] for r in results] == ["w.edit"], q
        assert marked(find(http, "friday")["results"][0]) == ["friday"]
        assert find(http, "friday")["results"][0]["field"] == "edited"
        assert find(http, "banana")["results"] == []
        customer = find(http, "souza")["results"]
        assert [(r["kind"], r["phone"], r["message"]) for r in customer] == [
            ("customer", ANA, None)]
        assert customer[0]["customer"]["name"] == "Ana Souza"
        assert customer[0]["field"] == "customer.name" and customer[0]["highlights"] == [[4, 9]]
        city = find(http, "sao paulo")["results"]
        assert city[0]["field"] == "customer.attributes.city"
        assert [r["kind"] for r in find(http, f"+{ANA[:2]} {ANA[2:]}")["results"]] == [
            "customer"]


def test_a_note_is_found(live: LiveServer) -> None:
    with live.client(headers=admin_headers(live)) as http:
        made = http.post(f"/api/chats/{CHAN}/notes",
                         json={"text": "Mrs Chan paid the deposit in March"})
        assert made.status_code == 201, made.text
        notes = find(http, "deposit march")["results"]
        assert [(r["kind"], r["phone"]) for r in notes] == [("note", CHAN)]
        assert notes[0]["message"]["type"] == "note"
        assert notes[0]["message"]["text"] == "Mrs Chan paid the deposit in March"
        assert notes[0]["field"] == "text" and notes[0]["highlights"] == [[18, 25], [29, 34]]


def test_paging_with_before_and_the_thread_around_a_result(live: LiveServer) -> None:
    with live.client(headers=admin_headers(live)) as http:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = find(http, "zebra", limit=2, **({"before": cursor} if cursor else {}))
            seen += texts(page)
            pages += 1
            cursor = page["next"]
            if cursor is None:
                break
        assert seen == [f"zebra number {i}" for i in (4, 3, 2, 1, 0)] and pages == 3
        assert texts(find(http, "zebra", phone=BEA, limit=1)) == ["zebra number 4"]
        assert find(http, "zebra", phone=CHAN)["results"] == []

        target = find(http, "zebra 2")["results"][0]["message"]
        page = http.get("/api/messages", params={"phone": BEA, "around": target["id"],
                                                 "limit": 4}).json()
        ids = [m["id"] for m in page["messages"]]
        assert target["id"] in ids and len(ids) == 4
        older = http.get("/api/messages", params={"phone": BEA, "before": page["next"],
                                                  "limit": 200}).json()
        newer = http.get("/api/messages", params={"phone": BEA, "after": page["newer"],
                                                  "limit": 200}).json()
        whole = http.get("/api/messages", params={"phone": BEA, "limit": 200}).json()
        assert ([m["id"] for m in older["messages"]] + ids
                + [m["id"] for m in newer["messages"]]) == [m["id"] for m in whole["messages"]]
        assert newer["newer"] is None and older["next"] is None
        refused(http.get("/api/messages", params={"phone": CHAN, "around": target["id"]}),
                404, "unknown_message")


def test_refusals_and_visibility(live: LiveServer) -> None:
    bob = agent_headers(live, "bob")
    with live.client(headers=admin_headers(live)) as http:
        for q in ("k", " k ", "", "獨"):
            error = refused(http.get("/api/search", params={"q": q}), 400, "bad_query")
            assert set(error) == {"code", "message"}
        assert http.post(f"/api/chats/{OTHERS}/assign",
                         json={"agent": "admin"}).status_code == 200
        assert {r["phone"] for r in find(http, "kayak")["results"]} == {BEA, OTHERS}
    with live.client(headers=bob) as http:
        assert {r["phone"] for r in find(http, "kayak")["results"]} == {BEA}
        assert find(http, "someone else")["results"] == []
        refused(http.get("/api/search", params={"q": "kayak", "phone": OTHERS}), 404,
                "unknown_chat")


# -- the projection: live equals a rebuild, and holds what it should ----------------

def doc_rows(store: EventStore) -> dict[str, tuple]:
    return {ref: (phone, body, edits, file) for ref, phone, body, edits, file in
            store.conn.execute("SELECT ref, phone, body, edits, file FROM search_docs "
                               "WHERE kind = 'message'")}


def test_the_projection_live_equals_replay_and_indexes_every_message(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    projector = default_projector()
    store = EventStore(db, projector)
    projector.create_schema(store.conn)
    events = history()
    for start in range(0, len(events), 3):  # live, in batches
        store.record(events[start:start + 3])
    # An edit that arrives before its message waits for it; a merge moves the rows.
    store.record([received("85290000001", kind="edit", wamid="w.early", at=at(31), edit={
        "original_message_id": "w.late",
        "message": {"type": "text", "text": {"body": "corrected canoe"}}})])
    store.record([received("85290000001", "first canoe", wamid="w.late", at=at(30))])
    store.record([received("85290000002", "second account", wamid="w.2", at=at(32),
                           user_id="HK.1")])
    store.record([CustomerLinked(wa_id="85290000001", user_id="HK.1", source="contact").new(
        customer_stream("85290000001"))])
    # The invariant: every message not revoked is indexed with its texts, in its chat.
    rows = store.conn.execute(
        "SELECT id, phone, text, caption, media, extra FROM messages").fetchall()
    docs = doc_rows(store)
    for message_id, phone, text, caption, media, extra in rows:
        extra = json.loads(extra)
        if extra.get("revoked"):
            assert message_id not in docs
            continue
        filename = (json.loads(media) if media else {}).get("filename")
        assert docs[message_id] == (phone, prepare_all([text, caption]),
                                    prepare_all([(extra.get("edited") or {}).get("text")]),
                                    prepare_all([filename])), message_id
    assert len(docs) == len(rows) - 1
    late = store.conn.execute("SELECT id FROM messages WHERE wamid = 'w.late'").fetchone()[0]
    assert docs[late][2] == "corrected canoe"
    assert {docs[r][0] for r in docs if docs[r][1] in ("first canoe", "second account")} == {
        "85290000001"}
    store.conn.execute("INSERT INTO search_index (search_index, rank) "
                       "VALUES ('integrity-check', 1)")  # the index agrees with the rows
    # The absorbed chat's message is found within the chat it joined, not its old one.
    merged, _ = search(store.conn, parse("account"), phone="85290000001")
    assert [r["message"]["text"] for r in merged] == ["second account"]
    assert search(store.conn, parse("account"), phone="85290000002")[0] == merged
    before = doc_rows(store)
    store.close()
    assert check(db, projector).identical
    rebuild(db, projector)
    assert check(db, projector).identical
    store = EventStore(db, projector)
    try:
        assert doc_rows(store) == before
        store.conn.execute("INSERT INTO search_index (search_index, rank) "
                           "VALUES ('integrity-check', 1)")
        found = store.conn.execute(
            "SELECT count(*) FROM search_index WHERE search_index MATCH 'canoe'").fetchone()
        assert found == (1,)
    finally:
        store.close()


def test_a_database_from_before_search_gets_its_index_on_start(tmp_path: Path) -> None:
    """The projection is new to an existing inbox: catching up folds the whole log into
    it, and the result is what a replay builds."""
    db = tmp_path / "crm.db"
    older = Projector([p for p in PROJECTIONS if p.name != "search"])
    store = EventStore(db, older)
    older.create_schema(store.conn)
    store.record(history())
    store.close()
    projector = default_projector()
    store = EventStore(db, projector)
    try:
        projector.create_schema(store.conn)
        assert projector.catch_up(store.conn) == len(history())
        found, _ = search(store.conn, parse("kayak"))
        assert [r["phone"] for r in found] == [OTHERS, BEA]
        assert search(store.conn, parse("banana"))[0] == []
    finally:
        store.close()
    assert check(db, projector).identical

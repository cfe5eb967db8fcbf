"""Replay, import, export and verify of a real inbox's log, beside a log of messages only.

Run: ``python -m bench mix``.

A real inbox's log is mostly the fate of our own replies. For every customer message the
realistic log holds what follows it in a working inbox: an agent reads the chat, queues
a reply, the sender dispatches it, Meta accepts it (``message.sent``) and reports it
``sent``, ``delivered`` and ``read``: eight events a turn, over ``CHATS`` chats, with
Meta-shaped ``raw`` objects on the customer messages and statuses (pricing and
conversation included) and texts in English, Portuguese and Chinese. The other log is
customer messages only, with the same ``raw``.

Each log is generated once (bare sqlite3, the store's own canonical form and hash,
cached in the temp folder). Ceiling: a bare scan of the events table decoding every
event's JSON (``json.loads`` of ``data``) in the same run. Every tool runs as its own
``crm`` process, end to end (replay includes the swap into the live file).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.audit import crm, generate
from bench.stats import table
from crm.events.hashing import canonical_json

EVENTS = int(os.environ.get("CRM_BENCH_MIX_EVENTS", "1000000"))
CHATS = int(os.environ.get("CRM_BENCH_MIX_CHATS", "10000"))
TURN = 8
GENERATION = "mix-v1"
REPLAY_TARGET, RATE_TARGET, IMPORT_TARGET = 0.35, 50_000, 1.5

TEXTS = (
    "Hello, is the kayak free on Saturday morning?",
    "Olá, vocês têm caiaque duplo disponível no sábado? Obrigada!",
    "請問星期六有雙人獨木舟嗎？",
    "Can we bring a dog on the boat tour?",
    "Qual é o preço para duas pessoas, por favor?",
    "我想預約下星期日早上十點",
)
REPLIES = (
    "Yes, two are free from 9:00. Shall I book one for you?",
    "Sim, temos às 10:00. Quer que eu reserve?",
    "有的，早上九點有位。需要幫你預約嗎？",
)


def phone_of(turn: int) -> str:
    return f"8529{turn % CHATS:07d}"


def _received(turn: int, stamp: int) -> tuple[str, str, str, str, str | None]:
    phone = phone_of(turn)
    wamid = f"wamid.HBgLODUyOTAwMDAwMDAVAgASGBQz{turn:012d}"
    body = TEXTS[turn % len(TEXTS)]
    raw = {"from": phone, "id": wamid, "timestamp": str(stamp), "type": "text",
           "text": {"body": body}}
    data = {"phone": phone, "wamid": wamid, "message_type": "text", "text": body,
            "profile_name": f"Customer {turn % CHATS}", "phone_number_id": "106540352242922",
            "raw": raw}
    return "message.received", f"chat:{phone}", canonical_json(data), "meta", f"wa:{wamid}"


def _status(turn: int, status: str, stamp: int) -> tuple[str, str, str, str, str | None]:
    phone = phone_of(turn)
    wamid = f"wamid.HBgLODUyOTAwMDAwMDAVAgARGBI{turn:012d}"
    raw = {"id": wamid, "status": status, "timestamp": str(stamp), "recipient_id": phone,
           "conversation": {"id": f"conv{turn % CHATS:028d}",
                            "origin": {"type": "service"}},
           "pricing": {"billable": True, "pricing_model": "PMP", "category": "service",
                       "type": "regular"}}
    data = {"phone": phone, "wamid": wamid, "status": status,
            "phone_number_id": "106540352242922", "raw": raw}
    return ("message.status", f"chat:{phone}", canonical_json(data), "meta",
            f"wa:{wamid}:{status}")


def realistic(position: int) -> tuple[str, str, str, str, str | None]:
    """The event at ``position`` of the realistic log (positions start at 1)."""
    turn, step = divmod(position - 1, TURN)
    stamp = 1_764_000_000 + position
    phone = phone_of(turn)
    stream = f"chat:{phone}"
    message_id = f"{turn:032x}"
    agent = ("ana", "bruno", "chen")[turn % 3]
    if step == 0:
        return _received(turn, stamp)
    if step == 1:
        return ("chat.read", stream, canonical_json({"phone": phone, "agent": agent}),
                f"agent:{agent}", None)
    if step == 2:
        data = {"message_id": message_id, "phone": phone, "message_type": "text",
                "text": REPLIES[turn % len(REPLIES)], "agent": agent}
        return ("message.queued", stream, canonical_json(data), f"agent:{agent}",
                f"send:{agent}:{message_id}")
    if step == 3:
        data = {"message_id": message_id, "phone": phone, "request": position - 1,
                "attempt": 1}
        return ("message.dispatching", stream, canonical_json(data), f"agent:{agent}",
                f"dispatch:{message_id}:{position - 1}:1")
    if step == 4:
        wamid = f"wamid.HBgLODUyOTAwMDAwMDAVAgARGBI{turn:012d}"
        data = {"message_id": message_id, "phone": phone, "wamid": wamid, "attempts": 1}
        return ("message.sent", stream, canonical_json(data), f"agent:{agent}", None)
    return _status(turn, ("sent", "delivered", "read")[step - 5], stamp)


def messages_only(position: int) -> tuple[str, str, str, str, str | None]:
    return _received(position, 1_764_000_000 + position)


def scan(db: Path) -> float:
    """The ceiling: every event's data decoded, in position order; seconds."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    started = time.perf_counter()
    cursor = conn.execute("SELECT position, type, stream, data FROM events ORDER BY position")
    while rows := cursor.fetchmany(5000):
        for row in rows:
            json.loads(row[3])
    conn.close()
    return time.perf_counter() - started


def run() -> str:
    cache = Path(tempfile.gettempdir())
    logs = {"realistic mix": generate(cache / f"crm-bench-mix-{EVENTS}", EVENTS,
                                      realistic, GENERATION),
            "messages only": generate(cache / f"crm-bench-mixmsg-{EVENTS}", EVENTS,
                                      messages_only, GENERATION + "-messages")}
    work = Path(tempfile.mkdtemp(prefix="crm-bench-mix-"))
    rows: list[list[object]] = []
    figures: dict[str, dict[str, float]] = {}
    try:
        for label, db in logs.items():
            ceiling = EVENTS / scan(db)
            data_dir = work / label.replace(" ", "-")
            shutil.copytree(db.parent, data_dir)
            (data_dir / "complete").unlink(missing_ok=True)
            replay, cpu, rss, _ = crm(data_dir, "replay")
            rate = EVENTS / replay
            figures[label] = {"ceiling": ceiling, "replay": replay, "rate": rate}
            rows.append([label, "bare scan with json.loads (ceiling)", f"{EVENTS:,}", "-",
                         f"{ceiling:,.0f}", "1.00", "-"])
            rows.append([label, "`crm replay` (rebuild + swap)", f"{EVENTS:,}",
                         f"{replay:.1f}", f"{rate:,.0f}", f"{rate / ceiling:.2f}", str(rss)])
            if label != "realistic mix":
                continue
            export = work / "export.jsonl"
            seconds, _, rss, _ = crm(data_dir, "export", "--output", str(export))
            rows.append([label, "`crm export` (JSONL)", f"{EVENTS:,}", f"{seconds:.1f}",
                         f"{EVENTS / seconds:,.0f}", f"{EVENTS / seconds / ceiling:.2f}",
                         str(rss)])
            seconds, _, rss, _ = crm(data_dir, "verify")
            rows.append([label, "`crm verify`", f"{EVENTS:,}", f"{seconds:.1f}",
                         f"{EVENTS / seconds:,.0f}", f"{EVENTS / seconds / ceiling:.2f}",
                         str(rss)])
            imported, _, rss, _ = crm(work / "imported", "import", str(export))
            figures[label]["import"] = imported
            rows.append([label, "`crm import` (checks, inserts, replays)", f"{EVENTS:,}",
                         f"{imported:.1f}", f"{EVENTS / imported:,.0f}",
                         f"{EVENTS / imported / ceiling:.2f}", str(rss)])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mix, only = figures["realistic mix"], figures["messages only"]
    verdicts = []
    for label, f in figures.items():
        ratio = f["rate"] / f["ceiling"]
        verdicts.append(
            f"{label}: replay {ratio:.2f} of the scan (target {REPLAY_TARGET}: "
            f"{'met' if ratio >= REPLAY_TARGET else 'NOT met'}), {f['rate']:,.0f} events/s "
            f"(target {RATE_TARGET:,}/s: {'met' if f['rate'] >= RATE_TARGET else 'NOT met'})")
    import_ratio = mix["import"] / mix["replay"]
    verdicts.append(f"`crm import` of the realistic export took {import_ratio:.2f} times its "
                    f"replay (target at most {IMPORT_TARGET}: "
                    f"{'met' if import_ratio <= IMPORT_TARGET else 'NOT met'})")
    return "\n".join([
        "## A real inbox's log: replay, import, export, verify (`python -m bench mix`)",
        "",
        f"{EVENTS:,} events each. Realistic mix: per customer message, chat.read, "
        "message.queued, message.dispatching, message.sent and three statuses "
        f"(sent, delivered, read), over {CHATS:,} chats, with Meta-shaped `raw` objects; "
        "messages only: customer messages with the same `raw`. Ceiling: a bare scan of "
        "the same events decoding their JSON, in the same run. Each tool is its own `crm` "
        f"process, end to end. Messages-only replay: {only['rate']:,.0f} events/s.",
        "",
        table(["log", "what", "events", "seconds", "events/s", "ratio to scan",
               "peak RSS (MB)"], rows),
        "",
        "Targets: " + "; ".join(verdicts) + ".",
    ])


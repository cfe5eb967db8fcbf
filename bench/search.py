"""Full-text search at scale: the ``search`` projection over a large log.

Run: ``python -m bench search`` (``CRM_BENCH_SEARCH_MESSAGES`` shrinks the log).

* Seed: ``MESSAGES`` customer messages over 10,000 chats through ``EventStore`` and
  every projection, as the webhook writes them: 45 % English, 35 % Portuguese, 20 %
  Chinese, each a template sentence plus words drawn from a Zipf-like vocabulary (so
  the index has a long tail of terms, as real chat has).
* Search: the first page (20 results, as ``GET /api/search`` builds it, with its
  messages, names and highlights) for a rare word (in 20 messages), a common word
  (about 15 %), a phrase and a Chinese substring, each ``READS`` times interleaved on a
  ``query_only`` connection; p50/p99.
* Size: the search tables (rows, FTS5 index, indexes) on disk, from ``dbstat``, as a
  ratio to the events table (with its indexes).
* Append: ``APPENDS`` single-message appends (one ``record`` each, durable) alternating
  between a projector with and one without the search projection on the same database;
  p50/p99 of each and the ratio.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.stats import percentile, table
from crm.events import EventStore
from crm.events.connection import open_reader
from crm.events.messages import MessageReceived, chat_stream
from crm.projections import PROJECTIONS, Projector, default_projector
from crm.projections.search_results import search
from crm.search.query import parse

MESSAGES = int(os.environ.get("CRM_BENCH_SEARCH_MESSAGES", "1000000"))
CHATS = 10_000
READS = int(os.environ.get("CRM_BENCH_SEARCH_READS", "200"))
APPENDS = int(os.environ.get("CRM_BENCH_SEARCH_APPENDS", "200"))
TARGET_MS = 50
RARE_EVERY = max(2, MESSAGES // 20)  # about 20 messages, whatever the size

QUERIES = [("rare word", "zanzibar"), ("common word", "kayak"),
           ("phrase", '"double kayak"'), ("Chinese substring", "獨木舟")]

ENGLISH = ["Is the kayak free on {day}?", "Can I book a double kayak for {n} people?",
           "Thanks, see you on {day}", "What time do you open tomorrow?",
           "Do you have life jackets for children?", "How much is the deposit?",
           "We would like to rent two paddle boards", "Is parking available near the lake?"]
PORTUGUESE = ["Vocês têm caiaque disponível no {dia}?", "Obrigado, até {dia}!",
              "Qual é o preço da reserva para {n} pessoas?", "Não recebi a confirmação",
              "Posso pagar o depósito amanhã?", "A informação do site está correta?"]
CHINESE = ["請問星期六有雙人獨木舟嗎", "我想預訂{n}個人的位置", "謝謝你，星期日見",
           "押金是多少錢？", "可以帶小朋友嗎", "停車場在哪裡"]
DAYS = ["Monday", "Tuesday", "Saturday", "Sunday"]
DIAS = ["sábado", "domingo", "segunda", "terça"]
SYLLABLES = ["ka", "lo", "mi", "ra", "te", "su", "no", "vi", "da", "pe", "zu", "qo", "ba", "fi",
             "go", "hu", "je", "ma", "ni", "po", "ri", "sa", "tu", "ve"]  # 24^2..24^4 words
HANZI = [chr(0x4E00 + i * 7) for i in range(3000)]


def vocabulary(rng: random.Random, size: int = 50_000) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def message_text(rng: random.Random, n: int, words: list[str]) -> str:
    roll = rng.random()
    tail_words = [words[min(len(words) - 1, int(rng.paretovariate(1.1)) - 1)]
                  for _ in range(rng.randint(3, 10))]
    if roll < 0.45:
        text = rng.choice(ENGLISH).format(day=rng.choice(DAYS), n=rng.randint(2, 6))
        text += " " + " ".join(tail_words)
    elif roll < 0.80:
        text = rng.choice(PORTUGUESE).format(dia=rng.choice(DIAS), n=rng.randint(2, 6))
        text += " " + " ".join(tail_words)
    else:
        text = rng.choice(CHINESE).format(n=rng.randint(2, 6))
        text += "".join(rng.choice(HANZI) for _ in range(rng.randint(4, 16)))
    if n % RARE_EVERY == RARE_EVERY // 2:
        text += " zanzibar"
    return text


def received(n: int, text: str, at: datetime) -> object:
    phone = f"8529{n % CHATS:07d}"
    return MessageReceived(phone=phone, wamid=f"wamid.search.{n}", message_type="text",
                           text=text, profile_name=f"Customer {n % CHATS}").new(
        chat_stream(phone), actor="meta", idempotency_key=f"wa:wamid.search.{n}",
        occurred_at=at)


def seed(path: Path) -> float:
    projector = default_projector()
    store = EventStore(path, projector)
    projector.create_schema(store.conn)
    rng = random.Random(16)
    words = vocabulary(rng)
    base = datetime.now(UTC) - timedelta(days=400)
    started = time.perf_counter()
    try:
        batch = []
        for n in range(MESSAGES):
            batch.append(received(n, message_text(rng, n, words), base + timedelta(seconds=n)))
            if len(batch) == 5000:
                store.record(batch)  # type: ignore[arg-type]
                batch = []
        if batch:
            store.record(batch)  # type: ignore[arg-type]
    finally:
        store.close()
    seconds = time.perf_counter() - started
    print(f"seeded {MESSAGES:,} messages in {seconds:.0f}s", flush=True)
    return seconds


def search_latencies(path: Path) -> list[list[object]]:
    conn = open_reader(path)
    found: dict[str, list[float]] = {name: [] for name, _ in QUERIES}
    sizes: dict[str, int] = {}
    try:
        for _name, q in QUERIES:  # warm the page cache
            search(conn, parse(q), limit=20)
        for _ in range(READS):
            for name, q in QUERIES:
                began = time.perf_counter()
                results, _ = search(conn, parse(q), limit=20)
                found[name].append((time.perf_counter() - began) * 1000)
                sizes[name] = len(results)
    finally:
        conn.close()
    rows = []
    for name, q in QUERIES:
        p99 = percentile(found[name], 0.99)
        rows.append([name, f"`{q}`", sizes[name], f"{percentile(found[name], 0.5):.2f}",
                     f"{p99:.2f}", "yes" if p99 < TARGET_MS else "**no**"])
    return rows


def sizes(path: Path) -> tuple[int, int, int]:
    """Bytes of the search tables, of the FTS5 index alone, of the events table."""
    conn = open_reader(path)
    try:
        pages = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        tables = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master"))
    finally:
        conn.close()

    def owned(prefix: str) -> int:
        return sum(size for name, size in pages.items()
                   if name.startswith(prefix) or tables.get(name, "").startswith(prefix))

    events = sum(size for name, size in pages.items()
                 if name == "events" or tables.get(name) == "events")
    return owned("search_"), owned("search_index_"), events


def append_latencies(path: Path) -> tuple[list[float], list[float]]:
    """Single appends with and without the search projection, alternating."""
    full = default_projector()
    without = Projector([p for p in PROJECTIONS if p.name != "search"], full.options)
    stores = {"with": EventStore(path, full), "without": EventStore(path, without)}
    rng = random.Random(99)
    words = vocabulary(rng, 5_000)
    times: dict[str, list[float]] = {"with": [], "without": []}
    at = datetime.now(UTC)
    try:
        for i in range(APPENDS * 2):
            name = "with" if i % 2 == 0 else "without"
            n = MESSAGES + i
            event = received(n, message_text(rng, n, words), at + timedelta(seconds=i))
            began = time.perf_counter()
            stores[name].record([event])  # type: ignore[list-item]
            times[name].append((time.perf_counter() - began) * 1000)
    finally:
        for store in stores.values():
            store.close()
    return times["with"], times["without"]


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crm.db"
        seconds = seed(path)
        rows = search_latencies(path)
        search_bytes, index_bytes, events_bytes = sizes(path)
        with_search, without_search = append_latencies(path)
    mb = 1024 * 1024
    w50, w99 = percentile(with_search, 0.5), percentile(with_search, 0.99)
    o50, o99 = percentile(without_search, 0.5), percentile(without_search, 0.99)
    return (
        "## Search: full-text over the whole history\n\n"
        f"{MESSAGES:,} customer messages over {CHATS:,} chats (45 % English, 35 % "
        f"Portuguese, 20 % Chinese), seeded through every projection in {seconds:.0f} s. "
        f"The first page (20 results, as `GET /api/search` builds it) read {READS} times "
        f"per query, interleaved. Target: p99 under {TARGET_MS} ms.\n\n"
        + table(["query", "q", "results", "p50 ms", "p99 ms", "under target"], rows)
        + "\n\nOn disk (`dbstat`): the search tables (rows, FTS5 index and indexes) "
        f"{search_bytes / mb:.1f} MB, of which the FTS5 index {index_bytes / mb:.1f} MB; "
        f"the events table with its indexes {events_bytes / mb:.1f} MB: ratio "
        f"{search_bytes / events_bytes:.2f} (index alone {index_bytes / events_bytes:.2f}).\n\n"
        f"A single append (one message, durable), {APPENDS} of each, alternating on the "
        "same database:\n\n"
        + table(["projectors", "p50 ms", "p99 ms"],
                [["all, with search", f"{w50:.2f}", f"{w99:.2f}"],
                 ["all but search", f"{o50:.2f}", f"{o99:.2f}"],
                 ["ratio", f"{w50 / o50:.2f}", f"{w99 / o99:.2f}"]])
    )

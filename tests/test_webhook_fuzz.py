"""Fuzzing the webhook: signed bodies from a grammar of Meta's shapes (every field may
be missing, mistyped or unexpected) and plain random bytes, posted to a real server.

For every body: the POST answers 200; what it records is exactly what the parser makes
of it (the events it understood, and at most one ``webhook.unparsed`` for the rest, at
least one of the two, unless the body is a batch with no changes in it, which says
nothing); nothing escapes; and at the end ``crm replay --check`` exits 0.

Bounded for ``make test`` (``CRM_FUZZ_EXAMPLES``, default 120 per test, well under a
minute); ``make fuzz`` runs many more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.events.store import EventStore
from crm.whatsapp.parser import parse_webhook
from tests.conftest import LiveServer
from tests.meta_payloads import events_after, post, webhook_server

EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 120,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

# -- a grammar of Meta's webhook shapes ------------------------------------------------

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=8)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the documented shape; sometimes anything else."""
    return st.one_of(strategy, strategy, strategy, junk)


ids = st.sampled_from(["wamid.A", "wamid.B", "wamid.C=", "ABGGFlA5Fpa", ""]) | st.text(max_size=12)
phones = st.sampled_from(["5511999990000", "16505551234", "", "US.13491208655302741918"])
stamps = st.sampled_from(["1764000000", 1764000000, "17640000001", "-1", "x", 1e30])
KINDS = ["text", "image", "video", "audio", "document", "sticker", "location", "contacts",
         "interactive", "button", "reaction", "order", "system", "unsupported",
         "request_welcome", "edit", "revoke", "poll", "unknown"]


@st.composite
def inbound(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    found: dict[str, Any] = {"id": draw(maybe(ids)), "timestamp": draw(maybe(stamps)),
                             "type": draw(maybe(st.just(kind)))}
    for name, strategy in (("from", phones), ("from_user_id", phones)):
        if draw(st.booleans()):
            found[name] = draw(maybe(strategy))
    bodies = {
        "text": st.fixed_dictionaries({"body": maybe(st.text(max_size=30))}),
        "reaction": st.fixed_dictionaries({"message_id": maybe(ids),
                                           "emoji": maybe(st.sampled_from(["👍", ""]))}),
        "edit": st.fixed_dictionaries({"original_message_id": maybe(ids),
                                       "message": maybe(st.just({"type": "text",
                                                                 "text": {"body": "new"}}))}),
        "revoke": st.fixed_dictionaries({"original_message_id": maybe(ids)}),
        "interactive": st.just({"type": "button_reply",
                                "button_reply": {"id": "b", "title": "Yes"}}),
    }
    media = st.fixed_dictionaries({"id": maybe(st.sampled_from(["111", "222"])),
                                   "mime_type": maybe(st.just("image/jpeg"))},
                                  optional={"sha256": st.text(max_size=10),
                                            "caption": st.text(max_size=10),
                                            "filename": st.text(max_size=10)})
    strategy = bodies.get(kind) or (media if kind in ("image", "video", "audio", "document",
                                                      "sticker") else junk)
    if draw(st.integers(0, 4)):
        found[kind] = draw(maybe(strategy))
    if draw(st.integers(0, 3)) == 0:
        found["context"] = draw(maybe(st.fixed_dictionaries(
            {"id": ids}, optional={"forwarded": st.booleans(), "from": phones})))
    return found


@st.composite
def status(draw: st.DrawFn) -> dict[str, Any]:
    found = {"id": draw(maybe(ids)), "status": draw(maybe(st.sampled_from(
        ["sent", "delivered", "read", "played", "failed", "deleted", "SENT"]))),
        "timestamp": draw(maybe(stamps))}
    if draw(st.booleans()):
        found["recipient_id"] = draw(maybe(phones))
    if draw(st.booleans()):
        found["recipient_user_id"] = draw(maybe(phones))
    if draw(st.booleans()):
        found["pricing"] = draw(maybe(st.fixed_dictionaries({
            "billable": st.booleans(), "pricing_model": st.just("PMP"),
            "category": st.sampled_from(["service", "marketing"]),
            "type": st.sampled_from(["regular", "free_customer_service"])})))
    if draw(st.integers(0, 3)) == 0:
        found["errors"] = draw(maybe(st.just([{"code": 131047, "title": "Re-engagement"}])))
    return found


def value_for(field: str) -> st.SearchStrategy[Any]:
    contacts = st.lists(maybe(st.fixed_dictionaries(
        {"profile": maybe(st.fixed_dictionaries({"name": st.text(max_size=10)}))},
        optional={"wa_id": phones, "user_id": phones})), max_size=2)
    metadata = maybe(st.fixed_dictionaries({"phone_number_id": maybe(st.just("PNID1")),
                                            "display_phone_number": st.just("15550001111")}))
    if field == "messages":
        return st.fixed_dictionaries(
            {"messaging_product": st.just("whatsapp"), "metadata": metadata},
            optional={"contacts": maybe(contacts),
                      "messages": maybe(st.lists(maybe(inbound()), max_size=3)),
                      "statuses": maybe(st.lists(maybe(status()), max_size=3)),
                      "errors": maybe(st.lists(junk, max_size=2))})
    if field == "user_preferences":
        return st.fixed_dictionaries(
            {"metadata": metadata},
            optional={"contacts": maybe(contacts), "user_preferences": maybe(st.lists(
                maybe(st.fixed_dictionaries({
                    "wa_id": maybe(phones), "category": st.just("marketing_messages"),
                    "value": maybe(st.sampled_from(["stop", "resume", "signup"])),
                    "timestamp": maybe(stamps)})), max_size=2))})
    return maybe(st.dictionaries(st.sampled_from(
        ["event", "restriction_info", "max_daily_conversations_per_business",
         "message_echoes", "current_limit"]), junk, max_size=3))


FIELDS = ["messages", "messages", "user_preferences", "account_update",
          "business_capability_update", "smb_message_echoes", "history", "calls", ""]


@st.composite
def change(draw: st.DrawFn) -> Any:
    field = draw(st.sampled_from(FIELDS))
    return {"field": draw(maybe(st.just(field))), "value": draw(maybe(value_for(field)))}


payloads = st.fixed_dictionaries(
    {"object": maybe(st.just("whatsapp_business_account")),
     "entry": maybe(st.lists(maybe(st.fixed_dictionaries(
         {"id": maybe(st.just("WABA1")), "changes": maybe(st.lists(maybe(change()),
                                                                   max_size=3))},
         optional={"time": stamps})), max_size=2))})


def serialised(payload: Any, ascii_only: bool) -> bytes:
    return json.dumps(payload, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


# -- the property ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with webhook_server(tmp_path_factory, "webhook-fuzz") as server:
        yield server
        replay = subprocess.run([sys.executable, "-m", "crm.cli", "replay", "--check"],
                                env=server.env, capture_output=True, text=True, timeout=120)
        assert replay.returncode == 0, replay.stdout + replay.stderr


def accounted_for(live: LiveServer, body: bytes) -> None:
    """POST ``body`` signed; the log holds exactly what the parser makes of it."""
    store = EventStore(live.db_path)
    try:
        before = store.head().position
    finally:
        store.close()
    with live.client() as client:
        answer = post(client, body)
    assert answer.status_code == 200, answer.text
    expected = parse_webhook(body, datetime.now(UTC))
    keys = {e.idempotency_key for e in expected}
    unparsed = [e for e in expected if e.type == "webhook.unparsed"]
    assert len(unparsed) <= 1
    if not expected:  # only a batch that says nothing: no entries, or no changes in them
        entries = json.loads(body)["entry"]
        assert all(entry["changes"] == [] for entry in entries)
    recorded = events_after(live, before)
    assert {e["idempotency_key"] for e in recorded} <= keys  # nothing else recorded
    store = EventStore(live.db_path)
    try:  # and all of it is in the log (new now, or from an earlier identical body)
        assert all(store.find_by_key(key) is not None for key in keys)
    finally:
        store.close()


@FUZZ
@given(payload=payloads, ascii_only=st.booleans())
def test_metas_shapes_are_recorded_as_the_parser_reads_them(live: LiveServer, payload: Any,
                                                            ascii_only: bool) -> None:
    accounted_for(live, serialised(payload, ascii_only))


@FUZZ
@given(body=st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
def test_random_bytes_are_kept_as_unparsed(live: LiveServer, body: bytes) -> None:
    accounted_for(live, body)

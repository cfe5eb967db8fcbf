"""``crm import`` of an export that verifies line by line but repeats an event (its id,
or its idempotency key, at a later position): refused as such, nothing kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.audit.importer import ImportRefused, import_export
from crm.events import EventStore
from crm.events.hashing import hash_of
from tests.store_contract import note
from tests.test_audit_verify import write_lines


@pytest.mark.parametrize("field", ["id", "idempotency_key"])
def test_an_export_that_repeats_an_event_is_refused(tmp_path: Path, field: str) -> None:
    source = EventStore(tmp_path / "source.db")
    source.record([note("a", key="k"), note("b")])
    first, second = (event.as_json() for event in source.read_after(0))
    source.close()
    repeat = {**second, field: first[field]}
    repeat["hash"] = hash_of(repeat)  # the line itself verifies: only the repeat is wrong
    export = tmp_path / "export.jsonl"
    write_lines(export, [first, repeat])
    restored = tmp_path / "restored"
    with pytest.raises(ImportRefused, match="repeats an event"):
        import_export(export, restored / "crm.db")
    assert list(restored.iterdir()) == []

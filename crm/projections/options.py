"""The few settings that change what projection handlers write.

Handlers have no settings (they must be deterministic functions of the log), so the
projector carries these to them through ``Transaction.options``: the same values for
live appends, catch-up and replay, worker processes included. A deployment that
changes one (``CRM_PENDING_STATUS_DAYS``) runs ``crm replay`` so the existing rows
follow; until then ``crm replay --check`` reports the difference.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Statuses (and reactions, edits) for a message we do not know are kept this long.
PENDING_STATUS_DAYS = 30


@dataclass(frozen=True)
class FoldOptions:
    #: Days a ``pending_by_wamid`` row waits for its message, counted in event time.
    pending_status_days: int = PENDING_STATUS_DAYS

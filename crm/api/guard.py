"""Locked by default: every route needs an authenticated agent unless it opts out.

The check lives here, once, as a ``before_request`` hook on the whole app, so a route
added later is protected without anyone remembering a decorator. Public routes say so
with ``@public``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from quart import Quart, current_app, request

F = TypeVar("F", bound=Callable[..., object])


def public(view: F) -> F:
    """Mark a view as reachable without signing in (webhook, login, health)."""
    view._crm_public = True  # type: ignore[attr-defined]
    return view


def is_public(endpoint: str | None) -> bool:
    if endpoint is None:
        return False
    if endpoint == "static" or endpoint.endswith(".static"):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, "_crm_public", False))


def install(app: Quart) -> None:
    @app.before_request
    async def _require_agent() -> None:
        if request.method == "OPTIONS" or is_public(request.endpoint):
            return None
        # Authentication arrives with the agents issue; this is where it goes.
        return None

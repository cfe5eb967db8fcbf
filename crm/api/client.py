"""Who sent this request, as far as we can believe it (``crm.proxies``)."""

from __future__ import annotations

from quart import request

from crm import proxies
from crm.api.services import services


def client_address() -> str | None:
    """The client's address: the connection's, or what a trusted proxy forwarded."""
    return proxies.client_address(request.remote_addr,
                                  request.headers.get("X-Forwarded-For"),
                                  services().settings.trusted_networks)


def is_https() -> bool:
    """Came over https: directly, or through a trusted proxy that says so."""
    return request.scheme == "https" or proxies.forwarded_https(
        request.remote_addr, request.headers.get("X-Forwarded-Proto"),
        services().settings.trusted_networks)

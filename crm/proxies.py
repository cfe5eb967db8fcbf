"""Which reverse proxies are believed, and who the client behind them is.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are only as honest as whoever sent them:
any client can write them. They are believed only from the addresses (or networks) in
``CRM_TRUSTED_PROXIES``; from anyone else the connection's own address and scheme
count. Behind a trusted proxy the client is the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy (the ones left of it were
written by the client and prove nothing).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadProxyList(ValueError):
    """``CRM_TRUSTED_PROXIES`` holds something that is not an address or a network."""


@functools.lru_cache(maxsize=8)
def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma- or space-separated addresses and CIDRs (``127.0.0.1, 10.0.0.0/8``)."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise BadProxyList(f"{item!r} is not an IP address or network") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(remote: str | None, networks: Sequence[Network]) -> bool:
    address = _address(remote or "")
    return address is not None and any(address in net for net in networks)


def client_address(remote: str | None, forwarded_for: str | None,
                   networks: Sequence[Network]) -> str | None:
    """The client's address: ``remote`` unless it is a trusted proxy that forwarded."""
    if not forwarded_for or not is_trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return remote  # a hop we cannot read: nothing left of it can be believed
        if not any(address in net for net in networks):
            return str(address)
    return str(_address(hops[0])) if hops else remote


def forwarded_https(remote: str | None, forwarded_proto: str | None,
                    networks: Sequence[Network]) -> bool:
    """Whether a trusted proxy says the client came over https."""
    if not forwarded_proto or not is_trusted(remote, networks):
        return False
    return forwarded_proto.split(",")[0].strip().lower() == "https"

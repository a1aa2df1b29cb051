"""Who is calling, by network address: the socket peer, or what a trusted proxy forwarded.

`X-Forwarded-For` is believed only when the peer is one of `WEBCARE_TRUSTED_PROXIES` (addresses or
networks, comma-separated); then the client is the rightmost forwarded address that is not itself
a trusted proxy. Anyone else could write any address in that header, so it is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[Network]:
    """`10.0.0.0/8, 192.0.2.7` as networks; raises ValueError naming a bad entry."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"{part!r} is not an IP address or network") from exc
    return networks


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The client's address given the socket `peer`, its `X-Forwarded-For` and the trusted proxies."""
    if peer is None or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def request_client_address(request: Request) -> str | None:
    """`client_address` for a request of this app (trusted proxies from its settings)."""
    trusted = parse_networks(request.app.state.settings.trusted_proxies)
    return client_address(request.client.host if request.client else None,
                          request.headers.get("x-forwarded-for"), trusted)

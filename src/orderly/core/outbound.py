"""Calls Orderly makes to other servers: only to public addresses, unless
``ORDERLY_OUTBOUND_ALLOW_PRIVATE`` lets tests and local development reach their own.

A name is resolved once and the call goes to the address that was checked (the URL's host
stays in ``Host`` and in TLS's SNI), so a name that resolves to a public address when checked
and to a private one when connected to (DNS rebinding) cannot reach inside.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from orderly.core.config import get_settings


class DestinationRefused(Exception):
    """The URL's host is, or resolves to, an address outbound calls may not reach."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_private(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def literal_refusal(url: str) -> str | None:
    """Why ``url`` may not be called, when its host alone says so (an address, localhost);
    ``None`` when it may be, or only resolving its name can tell."""
    host = (urlsplit(url).hostname or "").lower()
    if get_settings().outbound_allow_private:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "localhost is not reachable from outside"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return f"{address} is a private address" if is_private(address) else None


@dataclass(frozen=True)
class Destination:
    url: str  # with the checked address in place of the host name
    host: str  # the Host header
    sni: str  # the name TLS checks the certificate against
    scheme: str


async def resolve(url: str) -> Destination:
    """The address to call for ``url``, after checking it; ``DestinationRefused`` if it is
    private (and private ones are not allowed) or does not resolve."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allow_private = get_settings().outbound_allow_private
    reason = literal_refusal(url)
    if reason:
        raise DestinationRefused(reason)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DestinationRefused(f"{host} does not resolve: {exc.strerror or exc}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not allow_private:
        refused = [a for a in addresses if is_private(a)]
        if refused:
            raise DestinationRefused(f"{host} resolves to a private address ({refused[0]})")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    named = f"[{host}]" if ":" in host else host
    host_header = named if parts.port is None else f"{named}:{parts.port}"
    return Destination(url=pinned, host=host_header, sni=host, scheme=parts.scheme)

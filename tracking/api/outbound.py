"""Outbound requests to URLs a tenant chose (webhooks): public addresses only, pinned.

A tenant's URL must not make the server call itself, its cloud's metadata service or the
operator's private network (SSRF). So, unless the operator allows internal targets
(`TRACK_EVIDENCE_ALLOW_INTERNAL_WEBHOOKS=true`, for self-hosting):

* at registration (`check_target`) the host is resolved and refused when any address it
  resolves to is loopback, private, link-local, CGNAT, multicast, reserved or unspecified,
  IPv4 or IPv6, including IPv4 inside IPv6 (mapped `::ffff:a.b.c.d`, 6to4, Teredo, NAT64) and
  every spelling the resolver accepts (`2130706433`, `0x7f000001`, `127.1`, `localhost`...);
* at every connection (`GuardedTransport`) the host is resolved again, checked again, and the
  connection goes to the address that was checked (the URL's host is kept in the `Host` header
  and as the TLS server name, so certificates are still verified against it): a DNS answer
  that changes between the check and the connect (rebinding) cannot reach an internal address;
* redirects are never followed (the dispatcher's client has `follow_redirects=False`).

A refused target always gets the same words (`REFUSED`), whatever is or is not listening there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

__all__ = ["REFUSED", "GuardedTransport", "TargetRefused", "check_target", "is_public"]

REFUSED = "refused: the URL does not resolve to a public internet address"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_RESOLVE_SECONDS = 5.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(httpx.ConnectError):
    """The URL's host resolves to an address outbound requests may not reach."""

    def __init__(self, request: httpx.Request | None = None) -> None:
        super().__init__(REFUSED, request=request)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Whether `address` is a public unicast internet address (and so is anything inside it)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and not is_public(inner):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _addresses(infos: list[tuple[object, ...]]) -> list[Address]:
    found: list[Address] = []
    for info in infos:
        sockaddr = info[4]
        assert isinstance(sockaddr, tuple)
        text = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone (`fe80::1%eth0`)
        found.append(ipaddress.ip_address(text))
    return found


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def check_target(url: str, *, allow_internal: bool) -> str | None:
    """Why a webhook URL cannot be registered (one line), or None when it can.

    A host that does not resolve now is accepted: it is resolved and checked again at every
    connection, which is the check that counts.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"the URL is not valid: {exc}"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "the URL must be http:// or https:// with a host"
    if parsed.userinfo:
        return "the URL must not carry a user name or password"
    if allow_internal:
        return None
    try:
        infos = socket.getaddrinfo(parsed.host, _port(parsed), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    addresses = _addresses(list(infos))
    if not addresses or not all(is_public(a) for a in addresses):
        return REFUSED
    return None


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that connects only to checked public addresses (see the module).

    **Parameters:**

    * **allow_internal** - skip the checks (the operator's self-hosting setting).
    * **inner** - the transport that makes the connection (a plain `AsyncHTTPTransport`).
    """

    def __init__(
        self, *, allow_internal: bool = False, inner: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._allow_internal = allow_internal
        self._inner = inner or httpx.AsyncHTTPTransport(retries=0, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._allow_internal:
            return await self._inner.handle_async_request(request)
        host = request.url.host
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(_RESOLVE_SECONDS):
                infos = await loop.getaddrinfo(host, _port(request.url), type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, TimeoutError):
            raise httpx.ConnectError("the host name does not resolve", request=request) from None
        addresses = _addresses(list(infos))
        if not addresses or not all(is_public(a) for a in addresses):
            raise TargetRefused(request)
        pinned = addresses[0]
        # Connect to the address just checked; the Host header (set when the request was
        # built) and the TLS server name stay the URL's host.
        request.url = request.url.copy_with(host=str(pinned))
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

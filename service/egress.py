"""Where the service's own outgoing requests may go: webhooks, article pages and feeds.

Every such URL comes from a caller, so it is hostile input (server-side request
forgery): it must not make the service reach into the operator's own network. A
target is allowed when every address its host resolves to is public (globally
routable unicast); loopback, private, link-local, shared (100.64/10), multicast,
reserved and unspecified addresses are refused, IPv4-mapped IPv6 addresses are
judged as the IPv4 address they carry. An operator may allow internal targets
(``allow_private``) or chosen ranges only (``allowed_networks``, e.g. a CMS).

Checking a URL when it is submitted is not enough: a DNS answer can change
between that check and the request (DNS rebinding), and a redirect can point
anywhere. The worker's HTTP transport (``worker.fetch``) therefore resolves the
name itself and connects to an address it has just vetted with the same policy.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from service.errors import FetchRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outgoing requests may reach."""

    allow_private: bool = False
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def of(cls, allow_private: bool, networks: Sequence[Network] = ()) -> AddressPolicy:
        return cls(allow_private=allow_private, allowed_networks=tuple(networks))

    def allows(self, address: Address) -> bool:
        if self.allow_private:
            return True
        if any(address in network for network in self.allowed_networks):
            return True
        return is_public(address)


def is_public(address: Address) -> bool:
    """Whether ``address`` is a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal is its own answer).

    Raises:
        socket.gaierror, UnicodeError: the name does not resolve.
    """
    literal = parse_address(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return sorted(addresses, key=lambda a: (a.version, int(a)))


def parse_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def split_http_url(url: str, *, what: str = "url") -> SplitResult:
    """The parts of an http(s) URL with a host and no credentials.

    Raises:
        FetchRefused: anything else.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise FetchRefused(f"{what} is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchRefused(f"{what} must be an http:// or https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused(f"{what} must not contain credentials.")
    return parts


def check_fetch_url(url: str, policy: AddressPolicy, *, what: str = "url") -> None:
    """Refuse a URL to fetch that is malformed or whose host is internal, without fetching.

    Raises:
        FetchRefused: not http(s), no host, credentials in the URL, a host that does
            not resolve, or one that resolves to an address ``policy`` refuses.
    """
    parts = split_http_url(url, what=what)
    if policy.allow_private:
        return  # every address is allowed: no need to ask DNS
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise FetchRefused(f"The host of {what} ({host!r}) does not resolve.") from exc
    for address in addresses:
        if not policy.allows(address):
            raise FetchRefused(refusal(what, address))


def refusal(what: str, address: Address) -> str:
    return (
        f"{what} leads to {address}, an internal address; refused (operators can allow "
        "this with DRAGOMAN_ALLOW_PRIVATE_FETCH or DRAGOMAN_FETCH_ALLOWED_NETWORKS)."
    )

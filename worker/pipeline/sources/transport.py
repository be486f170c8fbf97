"""An HTTP transport that connects only to vetted addresses, within one deadline.

The URL a caller gives is hostile input (server-side request forgery): checking
its host before the request is not enough, because a DNS answer can change
between that check and the connection (rebinding). :class:`GuardedBackend`
resolves each host itself, refuses it if any address is one the policy
(``service.egress``) refuses, connects to a vetted address, and checks the peer
once more; TLS still verifies, and SNI and ``Host`` still name, the URL's host.
Environment proxies are ignored: through one, the connection would go to the proxy.

With a ``deadline``, every connect, read and write waits at most until it, so a
page that trickles in byte by byte still ends on time. Fetching pages and feeds
(``worker.fetch``) and delivering webhooks (``worker.webhooks``) use it.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

from service import egress
from service.egress import Address, AddressPolicy

Resolver = Callable[[str, int], list[Address]]


class AddressRefused(Exception):
    """The host resolved to an address the policy refuses; nothing was sent."""

    def __init__(self, host: str, address: Address) -> None:
        super().__init__(f"{host} resolves to {address}, an internal address")
        self.host = host
        self.address = address


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float | None) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, self._deadline, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, self._deadline, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host (httpcore passes the origin's), not the
        # address connected to: certificate checks and SNI stay right.
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, self._deadline, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _clamp(timeout: float | None, deadline: float | None, error: type[Exception]) -> float | None:
    """``timeout``, shortened to end by ``deadline``; ``error`` once the deadline has passed."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the fetch's time limit has passed")
    return left if timeout is None else min(timeout, left)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves each host itself and connects only to addresses the policy allows.

    A host with any refused address is refused as a whole (no half-internal names).
    After connecting, the peer address is checked once more.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        deadline: float | None = None,
        resolver: Resolver = egress.resolve,
    ) -> None:
        self.policy = policy
        self.deadline = deadline
        self.resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        for address in addresses:
            if not self.policy.allows(address):
                raise AddressRefused(host, address)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=_clamp(timeout, self.deadline, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            peer = ipaddress.ip_address(str(stream.get_extra_info("server_addr")[0]).split("%")[0])
            if not self.policy.allows(peer):
                stream.close()
                raise AddressRefused(host, peer)
            return _DeadlineStream(stream, self.deadline)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never a fetch target")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's HTTP transport over :class:`GuardedBackend`, without environment proxies."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        deadline: float | None = None,
        resolver: Resolver = egress.resolve,
        verify: Any = True,
    ) -> None:
        super().__init__(verify=verify, trust_env=False)
        # httpx builds its connection pool without a way to pass a network backend;
        # the pool is rebuilt with the same TLS context and the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=self._pool._ssl_context,
            max_connections=4,
            max_keepalive_connections=2,
            network_backend=GuardedBackend(policy, deadline=deadline, resolver=resolver),
        )

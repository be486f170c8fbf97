"""Webhooks: where a finished job may be sent, and how the request is signed.

A job may carry a ``callback_url``. When it finishes, a worker POSTs the job (the
same JSON as ``GET /v1/jobs/{id}``) there, signed with the tenant's secret:

    X-Dragoman-Timestamp: 1764236400
    X-Dragoman-Signature: v1=<hex HMAC-SHA256(secret, b"1764236400." + body)>

Receivers recompute the HMAC over the timestamp, a dot and the raw body, compare
in constant time, and reject old timestamps to stop replays. URLs that resolve to
loopback, private, link-local or otherwise internal addresses are refused (no
requests into the operator's own network) unless the operator allows them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from urllib.parse import urlsplit

from service.egress import is_public
from service.errors import InvalidInput

SIGNATURE_HEADER = "X-Dragoman-Signature"
TIMESTAMP_HEADER = "X-Dragoman-Timestamp"
SIGNATURE_VERSION = "v1"


def sign_payload(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Dragoman-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_signature(
    secret: str, timestamp: int, body: bytes, signature: str, *, now: float, tolerance: int = 300
) -> bool:
    """Receiver side: the signature matches and the timestamp is recent."""
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign_payload(secret, timestamp, body), signature)


def check_callback_url(url: str, *, allow_private: bool) -> None:
    """Refuse a callback URL that is malformed or points into an internal network.

    Raises:
        InvalidInput: not http(s), no host, credentials in the URL, or a host that
            resolves to a loopback, private, link-local, multicast or reserved address.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"callback_url is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("callback_url must be an http:// or https:// URL with a host.")
    if parts.username or parts.password:
        raise InvalidInput("callback_url must not contain credentials.")
    if allow_private:
        return
    for address in _resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80)):
        if not is_public(address):
            raise InvalidInput(
                f"callback_url resolves to {address}, an internal address; refused "
                "(operators can allow this with DRAGOMAN_ALLOW_PRIVATE_CALLBACKS=true)."
            )


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInput(f"callback_url host {host!r} does not resolve.") from exc
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return sorted(addresses, key=str)

"""Who is calling: API keys to tenants, and when the service runs without keys.

``DRAGOMAN_AUTH=required`` (the default) answers 401 to a /v1 request without a
valid, unrevoked key. ``disabled`` makes every request tenant ``local``: meant
for the quick start, `dragoman serve` on a loopback address, which picks it
unless told otherwise. Keys are never logged; only their prefix is ever shown.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Literal

from service import tenants
from service.db import Database
from service.errors import PermanentError
from service.settings import Settings

log = logging.getLogger("dragoman.auth")

AuthMode = Literal["required", "disabled"]
# Longer than any key we issue; a longer header is not worth hashing.
_MAX_KEY_LENGTH = 256


class Unauthorized(PermanentError, code="unauthorized", status_code=401):
    """No key, or a key that is unknown or revoked (401, with ``WWW-Authenticate``)."""


@dataclass(frozen=True)
class Principal:
    """The caller of a request: its tenant, its key (None without auth) and its limits."""

    tenant: str
    key_id: str | None
    requests_per_minute: int
    chars_per_day: int

    @property
    def subject(self) -> str:
        """What usage is counted against: the key, or the tenant when there are no keys."""
        return f"key:{self.key_id}" if self.key_id else f"tenant:{self.tenant}"


def authenticate(db: Database, settings: Settings, key: str | None) -> Principal:
    """The caller a key stands for; without auth, tenant ``local``.

    Limits come from the key, else its tenant, else the settings.

    Raises:
        Unauthorized: auth is required and the key is missing, unknown or revoked.
    """
    if settings.auth == "disabled":
        return Principal(
            tenant=tenants.LOCAL_TENANT,
            key_id=None,
            requests_per_minute=settings.rate_limit_per_minute,
            chars_per_day=settings.chars_per_day,
        )
    if not key:
        raise Unauthorized(
            "An API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
        )
    found = tenants.find_active_key(db, key) if len(key) <= _MAX_KEY_LENGTH else None
    if found is None:
        raise Unauthorized("The API key is not valid, or it has been revoked.")
    record, tenant = found
    return Principal(
        tenant=record.tenant,
        key_id=record.id,
        requests_per_minute=record.requests_per_minute
        or tenant.requests_per_minute
        or settings.rate_limit_per_minute,
        chars_per_day=record.chars_per_day or tenant.chars_per_day or settings.chars_per_day,
    )


def principal_for(db: Database, settings: Settings, tenant: str, key_id: str | None) -> Principal:
    """The caller a stored key id stands for, for work done later on its behalf (a feed's jobs).

    Raises:
        Unauthorized: the key has been revoked or deleted since.
    """
    if key_id is None:
        return Principal(
            tenant=tenant,
            key_id=None,
            requests_per_minute=settings.rate_limit_per_minute,
            chars_per_day=settings.chars_per_day,
        )
    found = tenants.find_active_key_by_id(db, key_id)
    if found is None or found[0].tenant != tenant:
        raise Unauthorized("The API key this was created with has been revoked.")
    record, owner = found
    return Principal(
        tenant=record.tenant,
        key_id=record.id,
        requests_per_minute=record.requests_per_minute
        or owner.requests_per_minute
        or settings.rate_limit_per_minute,
        chars_per_day=record.chars_per_day or owner.chars_per_day or settings.chars_per_day,
    )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_mode_for_serve(host: str, settings: Settings) -> AuthMode:
    """`dragoman serve`: open on a loopback address, unless DRAGOMAN_AUTH says otherwise.

    Only this machine can reach a loopback address, so the quick start needs no
    key; on any other address keys are required. A mode set explicitly wins.
    Logs a warning whenever the answer is "disabled".
    """
    if "auth" in settings.model_fields_set:
        mode: AuthMode = settings.auth
        reason = "DRAGOMAN_AUTH=disabled"
    else:
        mode = "disabled" if is_loopback(host) else "required"
        reason = f"serving on the loopback address {host}"
    if mode == "disabled":
        log.warning(
            "authentication is off: %s, so every request is accepted without an API key "
            "(as tenant %r). Set DRAGOMAN_AUTH=required to require keys.",
            reason,
            tenants.LOCAL_TENANT,
        )
    return mode

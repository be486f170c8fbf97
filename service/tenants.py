"""Tenants and their API keys: created, listed and revoked by operators.

A key is shown once, when it is created; the store keeps only its SHA-256 hash
and a short prefix for people to recognise it by. Each key belongs to a tenant;
a tenant sees only its own jobs and signs its webhooks with its own secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from service.db import Database, insert_for
from service.errors import InvalidInput, NotFound
from service.models import ApiKey, Tenant, utcnow

LOCAL_TENANT = "local"
KEY_PREFIX = "dgm_"
PREFIX_LENGTH = 12
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Writing last_used_at on every request would turn each read into a write.
_TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``key`` is the only copy of the secret there will ever be."""

    key: str
    record: ApiKey
    tenant_secret: str | None  # the tenant's webhook secret, when this call created the tenant


def generate_key() -> str:
    """``dgm_`` and 40 random URL-safe characters (240 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(30)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def generate_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def check_tenant_name(name: str) -> str:
    if not _TENANT_NAME.fullmatch(name):
        raise InvalidInput(
            "A tenant name is 1 to 64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit."
        )
    return name


def ensure_tenant(db: Database, name: str) -> str | None:
    """Create the tenant if it does not exist; its new webhook secret, or None if it existed."""
    check_tenant_name(name)
    secret = generate_webhook_secret()
    with db.session() as session:
        created = _insert_tenant(session, name, secret)
        session.commit()
    return secret if created else None


def _insert_tenant(session: Session, name: str, secret: str) -> bool:
    # ON CONFLICT DO NOTHING: two processes creating the same tenant both succeed.
    statement = (
        insert_for(session)(Tenant)
        .values(name=name, webhook_secret=secret, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def create_key(
    db: Database,
    tenant: str,
    *,
    name: str | None = None,
    requests_per_minute: int | None = None,
    chars_per_day: int | None = None,
) -> CreatedKey:
    """Make a key for ``tenant``, creating the tenant (and its webhook secret) if new."""
    check_tenant_name(tenant)
    for limit in (requests_per_minute, chars_per_day):
        if limit is not None and limit < 1:
            raise InvalidInput("Limits are at least 1.")
    key = generate_key()
    secret = generate_webhook_secret()
    record = ApiKey(
        id=str(uuid.uuid4()),
        tenant=tenant,
        name=name,
        prefix=key[:PREFIX_LENGTH],
        key_hash=hash_key(key),
        requests_per_minute=requests_per_minute,
        chars_per_day=chars_per_day,
        created_at=utcnow(),
    )
    with db.session() as session:
        created = _insert_tenant(session, tenant, secret)
        session.add(record)
        session.commit()
    return CreatedKey(key=key, record=record, tenant_secret=secret if created else None)


def list_keys(db: Database, tenant: str | None = None) -> list[ApiKey]:
    """Keys oldest first, revoked ones included."""
    query = select(ApiKey).order_by(ApiKey.tenant, ApiKey.created_at, ApiKey.id)
    if tenant is not None:
        query = query.where(ApiKey.tenant == tenant)
    with db.session() as session:
        return list(session.scalars(query))


def revoke_key(db: Database, id_or_prefix: str) -> ApiKey:
    """Revoke a key named by its id or its prefix; revoking twice is harmless."""
    with db.session() as session:
        matches = list(
            session.scalars(
                select(ApiKey).where(or_(ApiKey.id == id_or_prefix, ApiKey.prefix == id_or_prefix))
            )
        )
        if not matches:
            raise NotFound(f"No API key with id or prefix {id_or_prefix!r}.")
        if len(matches) > 1:
            raise InvalidInput(f"{id_or_prefix!r} matches several keys; give the key id.")
        key = matches[0]
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            session.commit()
        return key


def find_active_key(db: Database, key: str) -> tuple[ApiKey, Tenant] | None:
    """The unrevoked key with this value and its tenant, or None; notes when it was used."""
    with db.session() as session:
        row = session.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.name == ApiKey.tenant)
            .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
        ).one_or_none()
        if row is None:
            return None
        record, tenant = row
        now = utcnow()
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
            session.execute(update(ApiKey).where(ApiKey.id == record.id).values(last_used_at=now))
            session.commit()
            record.last_used_at = now
        return record, tenant


def find_active_key_by_id(db: Database, key_id: str) -> tuple[ApiKey, Tenant] | None:
    """The unrevoked key with this id and its tenant, or None."""
    with db.session() as session:
        row = session.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.name == ApiKey.tenant)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        ).one_or_none()
        return None if row is None else (row[0], row[1])


def webhook_secret(db: Database, name: str) -> str:
    """The tenant's webhook secret, creating the tenant (open mode's ``local``) if needed."""
    ensure_tenant(db, name)
    tenant = get_tenant(db, name)
    assert tenant is not None
    return tenant.webhook_secret


def get_tenant(db: Database, name: str) -> Tenant | None:
    with db.session() as session:
        return session.get(Tenant, name)

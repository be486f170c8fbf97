"""The ``glossaries`` table, and the worker's record of the terms it applied.

Every function takes the tenant: another tenant's glossary is "not found", like a job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from service.contract import JobStatus
from service.db import Database
from service.errors import Conflict, NotFound
from service.models import Glossary, Job, JobTranslation, utcnow


@dataclass(frozen=True)
class GlossaryValues:
    """Everything a create or a full replacement writes."""

    name: str
    description: str | None
    source_language: str
    is_default: bool
    entries: list[dict[str, Any]]
    languages: list[str]
    content_hash: str


def _is_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _not_found(glossary_id: str) -> NotFound:
    return NotFound(f"No glossary with id {glossary_id!r}.")


def count_glossaries(db: Database, tenant: str) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Glossary).where(Glossary.tenant == tenant)
            )
            or 0
        )


def create_glossary(db: Database, tenant: str, values: GlossaryValues) -> Glossary:
    """Insert a glossary (the tenant's only default, if ``values.is_default``).

    Raises:
        Conflict: the tenant has a glossary of that name.
    """
    now = utcnow()
    glossary = Glossary(
        id=str(uuid.uuid4()),
        tenant=tenant,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _assign(glossary, values)
    with db.session() as session:
        _check_name(session, tenant, values.name, None)
        if values.is_default:
            _clear_default(session, tenant)
        session.add(glossary)
        _commit(session)
        return glossary


def replace_glossary(
    db: Database, tenant: str, glossary_id: str, values: GlossaryValues
) -> Glossary:
    """Overwrite a glossary; its version goes up when its content changes.

    Raises:
        NotFound: no such glossary for this tenant.
        Conflict: another of the tenant's glossaries has the new name.
    """
    with db.session() as session:
        glossary = _owned(session, tenant, glossary_id, for_update=True)
        _check_name(session, tenant, values.name, glossary_id)
        if values.is_default and not glossary.is_default:
            _clear_default(session, tenant)
        if values.content_hash != glossary.content_hash:
            glossary.version += 1
        _assign(glossary, values)
        glossary.updated_at = utcnow()
        _commit(session)
        return glossary


def _assign(glossary: Glossary, values: GlossaryValues) -> None:
    glossary.name = values.name
    glossary.description = values.description
    glossary.source_language = values.source_language
    glossary.is_default = values.is_default
    glossary.entries = values.entries
    glossary.entry_count = len(values.entries)
    glossary.languages = values.languages
    glossary.content_hash = values.content_hash


def _check_name(session: Session, tenant: str, name: str, glossary_id: str | None) -> None:
    query = select(Glossary.id).where(Glossary.tenant == tenant, Glossary.name == name)
    if glossary_id is not None:
        query = query.where(Glossary.id != glossary_id)
    if session.scalar(query) is not None:
        raise Conflict(f"You have a glossary named {name!r} already.", name=name)


def _clear_default(session: Session, tenant: str) -> None:
    session.execute(
        update(Glossary)
        .where(Glossary.tenant == tenant, Glossary.is_default.is_(True))
        .values(is_default=False)
    )


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "Another request changed your glossaries at the same time (same name, or a "
            "second default); try again."
        ) from exc


def list_glossaries(db: Database, tenant: str) -> list[Glossary]:
    """The tenant's glossaries by name, without their entries."""
    with db.session() as session:
        return list(
            session.scalars(
                select(Glossary)
                .options(defer(Glossary.entries))
                .where(Glossary.tenant == tenant)
                .order_by(Glossary.name, Glossary.id)
            )
        )


def get_glossary(db: Database, tenant: str, glossary_id: str) -> Glossary:
    with db.session() as session:
        return _owned(session, tenant, glossary_id)


def _owned(
    session: Session, tenant: str, glossary_id: str, *, for_update: bool = False
) -> Glossary:
    if not _is_id(glossary_id):
        raise _not_found(glossary_id)
    query = select(Glossary).where(Glossary.id == glossary_id, Glossary.tenant == tenant)
    glossary = session.scalar(query.with_for_update() if for_update else query)
    if glossary is None:
        raise _not_found(glossary_id)
    return glossary


def delete_glossary(db: Database, tenant: str, glossary_id: str) -> None:
    """Delete a glossary; jobs that used it keep their snapshot of it."""
    with db.session() as session:
        session.delete(_owned(session, tenant, glossary_id))
        session.commit()


def glossaries_by_id(db: Database, tenant: str, ids: Sequence[str]) -> dict[str, Glossary]:
    """The tenant's glossaries among ``ids`` (others' and unknown ones are left out)."""
    wanted = [value for value in ids if _is_id(value)]
    if not wanted:
        return {}
    with db.session() as session:
        rows = session.scalars(
            select(Glossary).where(Glossary.tenant == tenant, Glossary.id.in_(wanted))
        )
        return {glossary.id: glossary for glossary in rows}


def default_glossary(db: Database, tenant: str) -> Glossary | None:
    with db.session() as session:
        return session.scalar(
            select(Glossary).where(Glossary.tenant == tenant, Glossary.is_default.is_(True))
        )


# -- worker side -----------------------------------------------------------------


def record_terms(
    db: Database, job_id: str, language: str, terms: list[dict[str, Any]], *, attempt: int
) -> bool:
    """Store the glossary terms applied in one language, unless a later attempt owns the job.

    ``terms`` are ``{"field", "index", "entry", "glossary", "source", "target", "keep",
    "direction"}`` records, in reading order.
    """
    owned = exists(
        select(Job.id).where(
            Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt
        )
    )
    with db.session() as session:
        result = session.execute(
            update(JobTranslation)
            .where(JobTranslation.job_id == job_id, JobTranslation.language == language, owned)
            .values(terms=terms or None)
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

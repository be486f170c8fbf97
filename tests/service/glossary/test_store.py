"""The glossaries table on SQLite and PostgreSQL, and the worker's record of applied terms."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from service import store as jobs_store
from service import tenants
from service.contract import JobStatus
from service.db import Database, alembic_config, upgrade_database
from service.errors import Conflict, NotFound
from service.glossary import store
from service.models import JobTranslation


def values(name: str, *, default: bool = False, hash_: str = "h1") -> store.GlossaryValues:
    return store.GlossaryValues(
        name=name,
        description=None,
        source_language="en",
        is_default=default,
        entries=[{"id": "e1", "source": "Armenia", "targets": {"az": "Ermənistan"}}],
        languages=["az"],
        content_hash=hash_,
    )


@pytest.fixture
def tenant_db(any_db: Database) -> Database:
    tenants.ensure_tenant(any_db, "newsroom")
    tenants.ensure_tenant(any_db, "rival")
    return any_db


def test_one_default_per_tenant(tenant_db: Database) -> None:
    first = store.create_glossary(tenant_db, "newsroom", values("first", default=True))
    second = store.create_glossary(tenant_db, "newsroom", values("second", default=True))
    theirs = store.create_glossary(tenant_db, "rival", values("first", default=True))
    assert store.default_glossary(tenant_db, "newsroom").id == second.id  # type: ignore[union-attr]
    assert not store.get_glossary(tenant_db, "newsroom", first.id).is_default
    assert store.default_glossary(tenant_db, "rival").id == theirs.id  # type: ignore[union-attr]
    store.replace_glossary(tenant_db, "newsroom", first.id, values("first", default=True))
    assert store.default_glossary(tenant_db, "newsroom").id == first.id  # type: ignore[union-attr]


def test_names_are_unique_per_tenant_and_versions_follow_content(tenant_db: Database) -> None:
    glossary = store.create_glossary(tenant_db, "newsroom", values("desk"))
    with pytest.raises(Conflict):
        store.create_glossary(tenant_db, "newsroom", values("desk"))
    other = store.create_glossary(tenant_db, "newsroom", values("other"))
    with pytest.raises(Conflict):
        store.replace_glossary(tenant_db, "newsroom", other.id, values("desk"))
    renamed = store.replace_glossary(tenant_db, "newsroom", glossary.id, values("desk 2"))
    assert renamed.version == 1
    edited = store.replace_glossary(
        tenant_db, "newsroom", glossary.id, values("desk 2", hash_="h2")
    )
    assert edited.version == 2
    assert [g.name for g in store.list_glossaries(tenant_db, "newsroom")] == ["desk 2", "other"]


def test_another_tenants_glossary_is_not_found(tenant_db: Database) -> None:
    glossary = store.create_glossary(tenant_db, "newsroom", values("desk"))
    for call in (
        lambda: store.get_glossary(tenant_db, "rival", glossary.id),
        lambda: store.replace_glossary(tenant_db, "rival", glossary.id, values("x")),
        lambda: store.delete_glossary(tenant_db, "rival", glossary.id),
        lambda: store.get_glossary(tenant_db, "newsroom", "not-a-uuid\x00"),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.glossaries_by_id(tenant_db, "rival", [glossary.id, "junk"]) == {}
    assert list(store.glossaries_by_id(tenant_db, "newsroom", [glossary.id])) == [glossary.id]


def test_recorded_terms_are_fenced_by_the_attempt(tenant_db: Database) -> None:
    job = jobs_store.create_job(
        tenant_db,
        jobs_store.NewJob(
            title=None,
            text="Armenia.",
            source_language="en",
            target_languages=["az"],
            summary_sentences=None,
            translate_fields=["body"],
            tenant="newsroom",
        ),
    )
    terms = [
        {
            "field": "body",
            "index": 0,
            "entry": "e1",
            "glossary": "g",
            "source": "Armenia",
            "target": "Ermənistan",
            "keep": False,
            "direction": "ltr",
        }
    ]
    assert not store.record_terms(tenant_db, job.id, "az", terms, attempt=1)  # still queued
    claimed = jobs_store.claim_job(tenant_db, job.id, model="m", worker="w")
    assert claimed is not None and claimed.status == JobStatus.RUNNING
    assert not store.record_terms(tenant_db, job.id, "az", terms, attempt=claimed.attempts + 1)
    assert store.record_terms(tenant_db, job.id, "az", terms, attempt=claimed.attempts)
    with tenant_db.session() as session:
        row = session.get(JobTranslation, (job.id, "az"))
        assert row is not None and row.terms == terms


def test_migration_0007_goes_down_and_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade_database(url, tmp_path)
    command.downgrade(alembic_config(url), "0006")
    database = Database(url)
    try:
        inspector = inspect(database.engine)
        assert "glossaries" not in inspector.get_table_names()
        assert "glossary" not in {c["name"] for c in inspector.get_columns("jobs")}
    finally:
        database.dispose()
    upgrade_database(url, tmp_path)
    database = Database(url)
    try:
        inspector = inspect(database.engine)
        assert "glossaries" in inspector.get_table_names()
        assert "terms" in {c["name"] for c in inspector.get_columns("job_translations")}
    finally:
        database.dispose()

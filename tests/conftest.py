"""Shared fixtures. Nothing here reads the network: models are built by the tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Never reach the Hugging Face Hub from the tests, whatever the machine has.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from service.db import Database, upgrade_database  # noqa: E402
from service.settings import Settings  # noqa: E402

pytest_plugins = ["tests.fixtures.models"]

POSTGRES_ADMIN_URL = os.environ.get(
    "DRAGOMAN_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("DRAGOMAN_TEST_REDIS_URL", "redis://127.0.0.1:6379")
# The sample texts ship with the repository (samples/README.md says what each is).
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE_ARTICLE = SAMPLES / "nagorno-karabakh-2020-11-04.en.txt"
TICO = SAMPLES / "tico19-en-fa"


def make_settings(tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp, "worker_stale_seconds": 30.0}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults (SQLite + filesystem broker) in a fresh folder."""
    s = make_settings(tmp_path / "data")
    s.ensure_dirs()
    return s


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    upgrade_database(settings.effective_database_url, settings.data_dir)
    database = Database(settings.effective_database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"dragoman_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        admin.dispose()
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The store on each supported database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade_database(url, tmp_path)
    database = Database(url)
    if request.param == "postgresql":
        from sqlalchemy import text

        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "TRUNCATE jobs, job_translations, workers, translation_cache, tenants, "
                    "api_keys, idempotency_keys, webhook_deliveries, usage_counters, feeds, "
                    "feed_items CASCADE"
                )
            )
    yield database
    database.dispose()

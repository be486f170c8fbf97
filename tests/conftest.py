"""Shared fixtures. Nothing here reads the network: models are built by the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

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
# RabbitMQ: each test that uses it gets a virtual host of its own, made (and deleted)
# with rabbitmqctl, which must run on the broker's machine.
RABBITMQ_URL = os.environ.get("DRAGOMAN_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")
RABBITMQCTL = os.environ.get("DRAGOMAN_TEST_RABBITMQCTL", "rabbitmqctl")
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


def _rabbitmqctl(*args: str) -> None:
    try:
        subprocess.run(
            [RABBITMQCTL, "-q", *args], check=True, capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        pytest.fail(f"{RABBITMQCTL} not found: the RabbitMQ tests make a virtual host with it")
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"rabbitmqctl {' '.join(args)} failed: {exc.stderr.strip()}")


@pytest.fixture
def amqp_url() -> Iterator[str]:
    """A fresh RabbitMQ virtual host for this test, deleted afterwards (never skipped)."""
    parts = urlsplit(RABBITMQ_URL)
    address = (parts.hostname or "127.0.0.1", parts.port or 5672)
    try:
        socket.create_connection(address, timeout=5).close()
    except OSError as exc:
        pytest.fail(f"RabbitMQ is not reachable at {address[0]}:{address[1]}: {exc}")
    vhost = f"dragoman_test_{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
        yield f"{RABBITMQ_URL.rstrip('/')}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def redis_broker(db: int) -> str:
    """The URL of Redis database ``db``, emptied."""
    import redis

    url = f"{REDIS_URL}/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture(params=["redis", "amqp"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """A broker for this test: an emptied Redis database (db 9), or a fresh RabbitMQ vhost."""
    if request.param == "amqp":
        url: str = request.getfixturevalue("amqp_url")
        return url
    return redis_broker(9)

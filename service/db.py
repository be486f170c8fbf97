"""Database engine, sessions and schema migrations."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from service.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from service.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Database:
    """An engine and its session factory, owned by one process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose database errors surface as ``DatabaseUnavailable``."""
        session = self.sessions()
        try:
            yield session
        except (OperationalError, DBAPIError, PoolTimeout) as exc:
            with contextlib.suppress(DBAPIError, PoolTimeout):
                session.rollback()  # fails too when the connection is gone
            if is_unavailable(exc):
                raise DatabaseUnavailable(
                    "The database is not reachable; try again shortly."
                ) from exc
            raise
        finally:
            session.close()

    def ping(self) -> None:
        with self.session() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "not reachable now" rather than a bad statement."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; the busy timeout makes
    # concurrent writers wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str, lock_dir: Path | None = None) -> None:
    """Bring the schema to the latest migration.

    The API and every worker call this at start-up, so it is serialised: a
    PostgreSQL advisory lock, or a file lock beside an SQLite database.
    """
    config = alembic_config(url)
    if url.startswith("postgresql"):
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(74120315)"))
                try:
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    connection.commit()
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(74120315)"))
                    connection.commit()
        finally:
            engine.dispose()
        return
    lock_path = _sqlite_lock_path(url, lock_dir)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            command.upgrade(config, "head")
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_store(settings: Settings) -> None:
    """Create the data folders and bring the schema up to date (every process, at start)."""
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)


def insert_for(session: Session) -> Callable[..., Any]:
    """The dialect's INSERT, which has ``on_conflict_do_*`` (SQLite and PostgreSQL)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _sqlite_lock_path(url: str, lock_dir: Path | None) -> Path:
    database = url.split("///", 1)[-1]
    if database and database != ":memory:":
        return Path(database + ".migrate.lock")
    return (lock_dir or Path(".")) / "dragoman.migrate.lock"

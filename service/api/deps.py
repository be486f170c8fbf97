"""Typed dependencies: the resources the lifespan built, reached from routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.auth import Principal, authenticate
from service.db import Database
from service.interactive import ResultWaiter
from service.limits import Limiter
from service.queue import JobQueue
from service.settings import Settings

# auto_error=False: a missing key is answered by ``authorize`` in the service's
# own error shape (and not at all when auth is disabled).
_bearer = HTTPBearer(
    auto_error=False, description="An API key from `dragoman keys create`, as a bearer token."
)
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The same API key, in its own header."
)


def _state(name: str) -> Callable[[Request], Any]:
    """A dependency that returns what the lifespan stored as ``app.state.<name>``."""

    def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"get_{name}"
    return get


SettingsDep = Annotated[Settings, Depends(_state("settings"))]
DatabaseDep = Annotated[Database, Depends(_state("db"))]
QueueDep = Annotated[JobQueue, Depends(_state("queue"))]
LimiterDep = Annotated[Limiter, Depends(_state("limiter"))]
WaiterDep = Annotated[ResultWaiter, Depends(_state("waiter"))]


# Reads: a page or a client following its jobs; counted apart from submissions.
READ_METHODS = frozenset({"GET", "HEAD"})


def authorize(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """The caller, authenticated; a read counted against its reads per minute, any other
    request against its requests per minute."""
    principal = authenticate(db, settings, bearer.credentials if bearer else api_key)
    if request.method in READ_METHODS:
        limiter.check_reads(principal, settings.read_rate_limit_per_minute)
    else:
        limiter.check_rate(principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(authorize)]

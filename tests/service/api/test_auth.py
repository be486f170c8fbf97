"""API keys, tenant isolation, open mode, and the `dragoman keys` commands."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service import tenants
from service.api.app import create_app
from service.auth import auth_mode_for_serve
from service.db import Database
from service.models import ApiKey, Job, Tenant
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.api import ARTICLE, assert_unauthorized, bearer, make_key

ENDPOINTS = [
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/{id}"),
    ("GET", "/v1/jobs/{id}/article"),
    ("DELETE", "/v1/jobs/{id}"),
    ("GET", "/v1/languages"),
]


def call(client: TestClient, method: str, path: str, job_id: str, **kwargs: Any) -> Any:
    if method == "POST":
        kwargs["json"] = ARTICLE
    return client.request(method, path.format(id=job_id), **kwargs)


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    """A client that sends no key of its own."""
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def job_id(app_client: TestClient, settings: Settings) -> str:
    response = app_client.post("/v1/jobs", json=ARTICLE, headers=bearer(make_key(settings)))
    assert response.status_code == 202
    job_id: str = response.json()["id"]
    return job_id


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_a_missing_invalid_or_revoked_key(
    app_client: TestClient, settings: Settings, job_id: str, method: str, path: str
) -> None:
    revoked = make_key(settings, "newsroom")
    db = Database(settings.effective_database_url)
    tenants.revoke_key(db, revoked[: tenants.PREFIX_LENGTH])
    db.dispose()
    for headers in (
        {},
        bearer("dgm_not-a-key"),
        bearer(""),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "dgm_not-a-key"},
        bearer("k" * 5000),
        bearer(revoked),
        {"X-API-Key": revoked},
    ):
        assert_unauthorized(call(app_client, method, path, job_id, headers=headers))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_accepts_a_key_in_either_header(
    app_client: TestClient, settings: Settings, job_id: str, method: str, path: str
) -> None:
    key = make_key(settings, "newsroom")
    for headers in (bearer(key), {"X-API-Key": key}):
        response = call(app_client, method, path, job_id, headers=headers)
        # no worker has reported languages yet: 503, but past authentication
        assert response.status_code in (200, 202, 503), response.text
        assert response.status_code != 503 or path == "/v1/languages"


def test_health_docs_and_schema_need_no_key(app_client: TestClient) -> None:
    assert app_client.get("/healthz").status_code == 200
    assert app_client.get("/readyz").status_code == 503  # no worker; but not 401
    assert app_client.get("/docs").status_code == 200
    schema = app_client.get("/openapi.json").json()
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.parametrize(("method", "path"), ENDPOINTS[1:5])
def test_a_tenant_never_sees_another_tenants_jobs(
    app_client: TestClient, settings: Settings, job_id: str, method: str, path: str
) -> None:
    other = bearer(make_key(settings, "rival"))
    response = call(app_client, method, path, job_id, headers=other)
    if path == "/v1/jobs":
        assert response.status_code == 200
        assert response.json()["items"] == []
        return
    # exactly what an id that does not exist gets: not 403, nothing to learn
    assert response.status_code == 404
    missing = call(app_client, method, path, "f" * 36, headers=other)
    assert response.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    # the owner's job is untouched, and a second key of the owner sees it
    own = app_client.get(f"/v1/jobs/{job_id}", headers=bearer(make_key(settings, "newsroom")))
    assert own.status_code == 200
    assert own.json()["status"] == "queued"


def test_jobs_are_stored_under_the_keys_tenant(
    app_client: TestClient, settings: Settings, db: Database
) -> None:
    ids = {
        tenant: app_client.post(
            "/v1/jobs", json=ARTICLE, headers=bearer(make_key(settings, tenant))
        ).json()["id"]
        for tenant in ("newsroom", "rival")
    }
    with db.session() as session:
        stored = {job.id: job.tenant for job in session.scalars(select(Job))}
    assert stored == {ids["newsroom"]: "newsroom", ids["rival"]: "rival"}
    listed = app_client.get("/v1/jobs", headers=bearer(make_key(settings, "rival"))).json()
    assert [job["id"] for job in listed["items"]] == [ids["rival"]]


def test_open_mode_needs_no_key_and_everything_is_tenant_local(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth="disabled")
    with TestClient(create_app(settings)) as client:
        created = client.post("/v1/jobs", json=ARTICLE)
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        assert client.get(f"/v1/jobs/{job_id}").status_code == 200
        assert [j["id"] for j in client.get("/v1/jobs").json()["items"]] == [job_id]
        assert client.get("/v1/languages").status_code == 503  # no worker, but no 401
        # a key, even a wrong one, changes nothing
        assert client.get("/v1/jobs", headers=bearer("dgm_whatever")).status_code == 200
        assert client.delete(f"/v1/jobs/{job_id}").json()["status"] == "cancelled"
    db = Database(settings.effective_database_url)
    with db.session() as session:
        assert session.get(Job, job_id).tenant == "local"  # type: ignore[union-attr]
        local = session.get(Tenant, "local")
        assert local is not None and local.webhook_secret.startswith("whsec_")
    db.dispose()


def test_keys_are_stored_hashed_and_never_logged(
    app_client: TestClient, settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = make_key(settings, "newsroom", name="desk")
    assert key.startswith("dgm_") and len(key) == 44
    app_client.post("/v1/jobs", json=ARTICLE, headers=bearer(key))
    app_client.get("/v1/jobs", headers={"X-API-Key": key})
    app_client.get("/v1/jobs", headers=bearer(key + "x"))
    with db.session() as session:
        record = session.scalars(select(ApiKey)).one()
        assert record.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert record.prefix == key[:12]
        assert record.last_used_at is not None
        assert key not in repr([getattr(record, column.key) for column in ApiKey.__table__.columns])
    assert key[12:] not in caplog.text


def test_limits_of_a_key_override_its_tenant_and_the_settings(
    settings: Settings, db: Database
) -> None:
    from service.auth import authenticate

    plain = make_key(settings, "newsroom")
    special = make_key(settings, "newsroom", requests_per_minute=7, chars_per_day=99)
    with db.session() as session:
        tenant = session.get(Tenant, "newsroom")
        assert tenant is not None
        tenant.requests_per_minute = 50
        session.commit()
    assert authenticate(db, settings, plain).requests_per_minute == 50
    assert authenticate(db, settings, plain).chars_per_day == settings.chars_per_day
    assert authenticate(db, settings, special).requests_per_minute == 7
    assert authenticate(db, settings, special).chars_per_day == 99


# -- `dragoman serve`: open on loopback only ----------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.53"])
def test_serve_on_loopback_runs_open_and_says_so(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DRAGOMAN_AUTH", raising=False)
    with caplog.at_level(logging.WARNING, logger="dragoman.auth"):
        assert auth_mode_for_serve(host, Settings(data_dir=tmp_path)) == "disabled"
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("authentication is off: ")
    assert host in record.getMessage()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "news.example"])
def test_serve_on_any_other_address_requires_keys(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DRAGOMAN_AUTH", raising=False)
    with caplog.at_level(logging.WARNING, logger="dragoman.auth"):
        assert auth_mode_for_serve(host, Settings(data_dir=tmp_path)) == "required"
    assert caplog.records == []


def test_serve_follows_an_explicit_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DRAGOMAN_AUTH", "required")
    assert auth_mode_for_serve("127.0.0.1", Settings(data_dir=tmp_path)) == "required"
    monkeypatch.setenv("DRAGOMAN_AUTH", "disabled")
    with caplog.at_level(logging.WARNING, logger="dragoman.auth"):
        assert auth_mode_for_serve("0.0.0.0", Settings(data_dir=tmp_path)) == "disabled"
    assert "authentication is off: DRAGOMAN_AUTH=disabled" in caplog.text


def test_auth_is_required_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRAGOMAN_AUTH", raising=False)
    assert Settings(data_dir=tmp_path).auth == "required"

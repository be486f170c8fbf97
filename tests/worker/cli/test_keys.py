"""``dragoman keys``: create, list and revoke API keys from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service import tenants
from service.api.app import create_app
from service.db import Database
from service.settings import Settings, get_settings
from tests.fixtures.api import ARTICLE, assert_unauthorized, bearer
from worker.cli.keys import keys_app


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI's settings come from the environment: point them at a fresh folder."""
    for name in ("DRAGOMAN_DATABASE_URL", "DRAGOMAN_BROKER_URL", "DRAGOMAN_AUTH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DRAGOMAN_DATA_DIR", str(tmp_path / "cli"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def run_keys(*args: str) -> str:
    result = CliRunner().invoke(keys_app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_keys_create_prints_the_key_last_and_the_secret_once(cli_env: Settings) -> None:
    first = run_keys("create", "--tenant", "newsroom", "--name", "desk").splitlines()
    key = first[-1]
    assert key.startswith("dgm_") and " " not in key
    secret_lines = [line for line in first if "webhook secret" in line]
    assert len(secret_lines) == 1
    secret = secret_lines[0].rsplit(" ", 1)[-1]
    db = Database(cli_env.effective_database_url)
    tenant = tenants.get_tenant(db, "newsroom")
    assert tenant is not None and tenant.webhook_secret == secret
    db.dispose()
    # a second key of the same tenant: no secret this time
    second = run_keys(
        "create", "--tenant", "newsroom", "--requests-per-minute", "5", "--chars-per-day", "900"
    )
    assert "secret" not in second
    assert second.splitlines()[-1] != key
    # the printed key works against the API
    with TestClient(create_app(cli_env)) as client:
        response = client.post("/v1/jobs", json=ARTICLE, headers=bearer(key))
        assert response.status_code == 202, response.text


def test_keys_list_shows_prefixes_never_keys(cli_env: Settings) -> None:
    assert "no API keys" in run_keys("list")
    key_a = run_keys("create", "--tenant", "newsroom", "--name", "desk").splitlines()[-1]
    key_b = run_keys("create", "--tenant", "rival").splitlines()[-1]
    listed = CliRunner().invoke(keys_app, ["list"]).stdout
    for key in (key_a, key_b):
        assert key[:12] in listed
        assert key not in listed
        assert key[12:20] not in listed
    assert "desk" in listed and "rival" in listed
    only_rival = CliRunner().invoke(keys_app, ["list", "--tenant", "rival"])
    assert key_b[:12] in only_rival.stdout and key_a[:12] not in only_rival.stdout


def test_keys_revoke_makes_the_key_401(cli_env: Settings) -> None:
    key = run_keys("create", "--tenant", "newsroom").splitlines()[-1]
    with TestClient(create_app(cli_env)) as client:
        assert client.get("/v1/jobs", headers=bearer(key)).status_code == 200
        assert "revoked" in run_keys("revoke", key[:12])
        assert_unauthorized(client.get("/v1/jobs", headers=bearer(key)))
    listed = CliRunner().invoke(keys_app, ["list"]).stdout
    assert key[:12] in listed
    missing = CliRunner().invoke(keys_app, ["revoke", "dgm_nothing"])
    assert missing.exit_code == 1
    assert "No API key" in missing.stderr


def test_keys_create_refuses_a_bad_tenant_name(cli_env: Settings) -> None:
    result = CliRunner().invoke(keys_app, ["create", "--tenant", "no spaces please"])
    assert result.exit_code == 1
    assert "tenant name" in result.stderr
    assert "dgm_" not in result.stdout

"""``dragoman serve``: the API it runs and the worker it starts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import worker.cli
from service.settings import get_settings
from worker.cli import service


@pytest.mark.parametrize(("host", "expected"), [("127.0.0.1", "disabled"), ("0.0.0.0", "required")])
def test_the_serve_command_runs_its_api_in_the_decided_mode(
    host: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAGOMAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))  # not this process's
    monkeypatch.setenv("DRAGOMAN_AUTH", "")  # restored (unset) after the test...
    monkeypatch.delenv("DRAGOMAN_AUTH")  # ...and unset while it runs
    get_settings.cache_clear()
    seen: dict[str, str] = {}

    class NoWorker:
        def poll(self) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", lambda *args, **kwargs: NoWorker())
    monkeypatch.setattr(
        service, "_run_api", lambda *args, **kwargs: seen.update(auth=get_settings().auth)
    )
    try:
        result = CliRunner().invoke(worker.cli.app, ["serve", "--host", host])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen == {"auth": expected}


def test_an_unknown_pool_is_refused_before_anything_starts() -> None:
    result = CliRunner().invoke(worker.cli.app, ["worker", "--pool", "gevent"])
    assert result.exit_code == 2
    assert "threads, prefork, solo" in result.output

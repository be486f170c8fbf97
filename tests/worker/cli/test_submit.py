"""``dragoman submit --wait``: the job followed through its event stream, across a restart.

A real `dragoman api` serves the stream; the job is moved along through the store, as
a worker would. Halfway, the API is stopped and started again on the same port: the
command reconnects with ``Last-Event-ID`` and ends with the whole result.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.db import Database
from testkit.procs import REPO, Proc, free_port
from tests.fixtures.events import FakeWorker
from tests.integration.conftest import base_env, spawn, wait_until

__all__ = ["spawn"]  # the fixture, used here as in the integration tests

pytestmark = pytest.mark.integration


def test_submit_wait_follows_the_events_through_a_restart(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    env = base_env(tmp_path / "data", tmp_path / "no-model", DRAGOMAN_EVENTS_POLL_SECONDS="0.1")
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def start_api() -> Proc:
        api = spawn("api", ["api", "--port", str(port)], env)
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, 60, "api", [api])
        return api

    api = start_api()
    article = tmp_path / "article.txt"
    article.write_text("Talks resumed in Baku.\n\nNo date was set.", encoding="utf-8")
    cli = subprocess.Popen(
        [
            sys.executable, "-m", "worker.cli", "submit", str(article),
            "--to", "az,fa", "--wait", "--json", "--api", base,
        ],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        jobs = wait_until(
            lambda: httpx.get(f"{base}/v1/jobs").json()["items"], 60, "the job", [api]
        )
        db = Database(f"sqlite:///{tmp_path / 'data' / 'dragoman.db'}")
        worker = FakeWorker(db, jobs[0]["id"])
        worker.claim()
        worker.plan(2)
        worker.progress(1)
        worker.language("az")
        api.stop()
        worker.progress(2)
        worker.language("fa")
        start_api()
        worker.finish()
        db.dispose()
        out, err = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 0, err
    job = json.loads(out)
    assert job["status"] == "succeeded"
    assert {code: t["body"] for code, t in job["translations"].items()} == {
        "az": "body in az\n\nsecond paragraph in az",
        "fa": "body in fa\n\nsecond paragraph in fa",
    }
    assert "succeeded az fa" in err

"""Flower follows the workers: it lists a running worker and the task of a finished job.

The worker and the API send Celery task events (``DRAGOMAN_TASK_EVENTS``, on with a
Redis broker); Flower runs against the same broker with ``--persistent=False``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from service.contract import TaskName
from testkit.procs import Proc, free_port
from tests.conftest import REDIS_URL
from tests.integration.conftest import base_env, wait_job, wait_ready, wait_until

pytestmark = pytest.mark.integration

BROKER = f"{REDIS_URL}/14"  # a database no other test uses
AUTH = ("ops", "flower-test")  # Flower's API answers only with authentication


@pytest.fixture
def flower(tmp_path: Path) -> Iterator[str]:
    """Flower on loopback, watching the test broker; yields its base URL."""
    redis.Redis.from_url(BROKER).flushdb()  # no job messages left from an earlier run
    port = free_port()
    log = tmp_path / "flower.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", f"--broker={BROKER}", "flower",
                f"--port={port}", "--address=127.0.0.1", "--persistent=False",
                f"--basic-auth={AUTH[0]}:{AUTH[1]}",
            ],
            stdout=output, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"flower exited:\n{log.read_text(errors='replace')[-3000:]}")
        return httpx.get(f"{base}/healthcheck", timeout=5).status_code == 200

    try:
        wait_until(up, 30, "flower")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_flower_lists_the_worker_and_a_finished_task(
    spawn: Callable[..., Proc], tmp_path: Path, flower: str
) -> None:
    env = base_env(
        tmp_path / "data",
        Path("echo"),
        DRAGOMAN_TRANSLATION_BACKEND="echo",
        DRAGOMAN_BROKER_URL=BROKER,
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = spawn("worker", ["worker", "--concurrency", "1"], env)
    api = spawn("api", ["api", "--port", str(port)], env)
    wait_ready(base, [worker, api])
    response = httpx.post(
        f"{base}/v1/jobs",
        json={"text": "The talks resume on Monday.", "target_languages": ["az"]},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert wait_job(base, job_id, [worker, api], timeout=120)["status"] == "succeeded"

    def workers() -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(
            f"{flower}/api/workers", params={"refresh": "1"}, auth=AUTH, timeout=10
        ).json()
        return found

    listed = wait_until(workers, 30, "flower to list the worker", [worker])
    assert any(name.startswith("dragoman@") for name in listed), listed

    def task() -> dict[str, Any] | None:
        tasks = httpx.get(f"{flower}/api/tasks", auth=AUTH, timeout=10).json()
        found: dict[str, Any] | None = tasks.get(job_id)  # the task id is the job id
        return found if found and found.get("state") == "SUCCESS" else None

    seen = wait_until(task, 30, "flower to show the finished task", [worker])
    assert seen["name"] == TaskName.PROCESS_JOB.value
    assert seen["worker"].startswith("dragoman@")

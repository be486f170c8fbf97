"""Real processes for the integration tests: API servers and Celery workers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.procs import Proc


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    procs: list[Proc] = []

    def start(name: str, args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(args, env, tmp_path / f"{name}-{len(procs)}.log")
        procs.append(proc)
        return proc

    yield start
    for proc in procs:  # all at once: each takes a moment to stop
        proc.terminate()
    for proc in procs:
        proc.stop()
        # leftovers of a process group (pool children) must not outlive the test
        proc.kill_group()


def base_env(data_dir: Path, model_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRAGOMAN_")}
    env.update(
        {
            "DRAGOMAN_DATA_DIR": str(data_dir),
            "DRAGOMAN_TRANSLATION_MODEL": str(model_dir),
            "DRAGOMAN_WORKER_HEARTBEAT_SECONDS": "1",
            "DRAGOMAN_WORKER_STALE_SECONDS": "10",
            # These tests post without API keys; auth has its own tests (pass
            # DRAGOMAN_AUTH="required" in ``extra`` to run a server with keys).
            "DRAGOMAN_AUTH": "disabled",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def wait_until(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    procs: list[Proc] = (),  # type: ignore[assignment]
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.popen.poll() is not None:
                pytest.fail(f"{what}: a process exited early:\n{proc.tail()}")
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    logs = "\n\n".join(proc.tail() for proc in procs)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})\n{logs}")


def wait_ready(base: str, procs: list[Proc], timeout: float = 120) -> None:
    wait_until(
        lambda: httpx.get(f"{base}/readyz", timeout=5).status_code == 200,
        timeout,
        "the service to be ready",
        procs,
    )


def wait_job(base: str, job_id: str, procs: list[Proc], timeout: float = 240) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=5).json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    result: dict[str, Any] = wait_until(finished, timeout, f"job {job_id} to finish", procs)
    return result

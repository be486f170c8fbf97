"""How workers start and stop: a cold model, a killed `serve`, a model pulled at start."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.procs import Proc, free_port
from tests.conftest import TICO
from tests.fixtures.fake_hub import NLLB, NLLB_CARD, FakeHub, serve_hub
from tests.integration.conftest import base_env, wait_job, wait_ready, wait_until

pytestmark = pytest.mark.integration


def post(base: str, text: str, **extra: Any) -> str:
    payload = {"text": text, "source_language": "en", "target_languages": ["az", "fa", "hy"]}
    response = httpx.post(f"{base}/v1/jobs", json={**payload, **extra}, timeout=30)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def start_api(spawn: Callable[..., Proc], env: dict[str, str]) -> tuple[Proc, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = spawn("api", ["api", "--port", str(port)], env)
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, 60, "the api", [api])
    return api, base


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a reaper that may never come."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def long_article(sentences: int = 120) -> str:
    lines = (TICO / "tico19-test.en").read_text(encoding="utf-8").splitlines()
    chosen = [line for line in lines if 8 <= len(line.split()) <= 30][:sentences]
    return "\n\n".join(" ".join(chosen[i : i + 4]) for i in range(0, len(chosen), 4))


def test_jobs_waiting_for_a_cold_transformers_worker_all_succeed(
    spawn: Callable[..., Proc], tmp_path: Path, tiny_nllb_dir: Path
) -> None:
    """Jobs queued before the worker starts reach it at once, while it loads its model."""
    env = base_env(tmp_path / "data", tiny_nllb_dir, DRAGOMAN_TRANSLATION_BACKEND="transformers")
    api, base = start_api(spawn, env)
    texts = [
        "The talks will resume in Baku on Monday.",
        "Officials met in Yerevan to discuss the border.",
        "Tehran offered to host the next round of negotiations.",
        "The ministers did not set a date for the next meeting.",
    ]
    jobs = [post(base, text) for text in texts]
    worker = spawn("worker", ["worker", "--concurrency", "4"], env)
    for job_id in jobs:
        job = wait_job(base, job_id, [api, worker], timeout=180)
        assert job["status"] == "succeeded", job["error"]
        assert job["attempts"] == 1
    assert "ImportError" not in worker.log.read_text()


def test_killing_serve_takes_its_worker_along(
    spawn: Callable[..., Proc], tmp_path: Path, tiny_nllb_ct2_dir: Path
) -> None:
    bound = 3
    env = base_env(
        tmp_path / "data",
        tiny_nllb_ct2_dir,
        DRAGOMAN_TRANSLATION_BATCH_SIZE="4",
        DRAGOMAN_WORKER_SHUTDOWN_SECONDS=str(bound),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = spawn("serve", ["serve", "--port", str(port)], env)
    wait_ready(base, [serve])
    (worker,) = children(serve.popen.pid)
    job_id = post(base, long_article(), translate=["body"], summary=None)
    wait_until(
        lambda: httpx.get(f"{base}/v1/jobs/{job_id}").json()["progress"]["done"] > 0,
        120,
        "the job to make progress",
        [serve],
    )
    beat = children(worker)  # the feed scheduler (`worker --beat`) runs in a child
    assert beat, "serve's worker runs no scheduler process"
    os.kill(serve.popen.pid, signal.SIGKILL)  # no chance to stop anything itself
    started = time.monotonic()
    while alive(worker) and time.monotonic() - started < bound + 5:
        time.sleep(0.1)
    assert not alive(worker), "the worker outlived serve"
    while any(alive(pid) for pid in beat) and time.monotonic() - started < bound + 10:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in beat), "the worker's scheduler outlived serve"
    assert "handed back to the queue" in serve.log.read_text()

    # the next serve finishes the job, once
    again = spawn("serve", ["serve", "--port", str(port)], env)
    job = wait_job(base, job_id, [again], timeout=180)
    assert job["status"] == "succeeded", job["error"]
    assert job["attempts"] == 1


def test_stopping_serve_stops_its_worker_and_its_feed_scheduler(
    spawn: Callable[..., Proc], tmp_path: Path, tiny_nllb_ct2_dir: Path
) -> None:
    """Ctrl-C (SIGTERM here) on `serve` leaves no process of it behind: not the worker,
    not the worker's feed scheduler child."""
    env = base_env(tmp_path / "data", tiny_nllb_ct2_dir, DRAGOMAN_WORKER_SHUTDOWN_SECONDS="3")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = spawn("serve", ["serve", "--port", str(port)], env)
    wait_ready(base, [serve])
    (worker,) = children(serve.popen.pid)
    wait_until(lambda: children(worker), 30, "the feed scheduler to start", [serve])
    beat = children(worker)
    serve.popen.send_signal(signal.SIGTERM)
    assert serve.popen.wait(timeout=30) is not None
    started = time.monotonic()
    while any(alive(pid) for pid in [worker, *beat]) and time.monotonic() - started < 15:
        time.sleep(0.1)
    assert not alive(worker), "the worker outlived serve"
    assert not any(alive(pid) for pid in beat), "the worker's feed scheduler outlived serve"


def hub_env(env: dict[str, str], url: str, home: Path) -> dict[str, str]:
    """The environment of a worker that may reach the (fake) hub at ``url``."""
    env = {k: v for k, v in env.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=url, HF_HOME=str(home), DRAGOMAN_MODELS_DIR=str(home / "models"))
    env.pop("HF_TOKEN", None)
    return env


def test_a_worker_pulls_its_hub_model_at_start(
    spawn: Callable[..., Proc], tmp_path: Path, tiny_nllb_dir: Path
) -> None:
    hub = FakeHub()
    hub.add(NLLB, tiny_nllb_dir, NLLB_CARD)
    with serve_hub(hub):
        env = hub_env(base_env(tmp_path / "data", Path(NLLB)), hub.url, tmp_path / "hf")
        env["DRAGOMAN_TRANSLATION_MODEL"] = NLLB
        api, base = start_api(spawn, env)
        worker = spawn("worker", ["worker"], env)
        wait_ready(base, [api, worker])
        model = wait_until(
            lambda: (
                (m := httpx.get(f"{base}/readyz").json()["checks"]["model"])["status"] == "ready"
                and m
            ),
            120,
            "the model to be ready",
            [api, worker],
        )
    assert model["engine"] == "ctranslate2"
    assert (tmp_path / "hf" / "models" / "facebook--nllb-200-distilled-600M").is_dir()
    job = wait_job(base, post(base, "The talks will resume in Baku on Monday."), [api, worker])
    assert job["status"] == "succeeded", job["error"]
    log = worker.log.read_text()
    assert "pulling it from the Hugging Face Hub" in log
    assert "% of" in log and "forbids commercial use" in log


def test_a_model_that_cannot_be_pulled_fails_jobs_at_once(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    env = hub_env(
        base_env(tmp_path / "data", Path(NLLB)), f"http://127.0.0.1:{free_port()}", tmp_path / "hf"
    )
    env["DRAGOMAN_TRANSLATION_MODEL"] = NLLB
    api, base = start_api(spawn, env)
    worker = spawn("worker", ["worker"], env)

    def unavailable() -> dict[str, Any] | None:
        response = httpx.get(f"{base}/readyz")
        model: dict[str, Any] = response.json()["checks"]["model"]
        return model if response.status_code == 503 and model["status"] == "unavailable" else None

    model = wait_until(unavailable, 120, "the model to be reported unavailable", [api, worker])
    assert "Cannot download model" in model["error"]
    job = wait_job(base, post(base, "The talks will resume on Monday."), [api, worker], timeout=30)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "model_unavailable"

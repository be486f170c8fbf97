"""End to end: real API and worker processes, articles posted over HTTP.

The processes are started as in production (``python -m worker.cli api`` and
``... worker``) with the embedded defaults (SQLite, filesystem broker) in a fresh
data folder. A one-sentence warm-up job loads the model first, so the timed run
measures a worker in its steady state. Target tokens come from the worker's
Prometheus counter, read before and after; memory and CPU time from ``/proc``
(VmRSS sampled over the worker's process tree, VmHWM at the end).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.articles import BenchArticle
from bench.load import MemorySampler, cpu_seconds, cpu_share, process_tree
from testkit.procs import Proc, free_port

REPO = Path(__file__).resolve().parents[1]
TARGET_TOKENS = "dragoman_translation_target_tokens_total"
SEGMENTS = "dragoman_translation_segments_total"
CACHE_HITS = "dragoman_translation_cache_lookups_total{result=hit}"
FINISHED = ("succeeded", "failed", "cancelled")


class E2EError(RuntimeError):
    """The end-to-end run could not be made or did not succeed."""


def read_counters(port: int) -> dict[str, float]:
    """The worker's counters (summed over labels) from its Prometheus endpoint."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise E2EError(
            f"the worker serves no metrics on port {port} (DRAGOMAN_METRICS_PORT): {exc}"
        ) from exc
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.endswith("_total"):
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
                for label, value in sample.labels.items():
                    key = f"{sample.name}{{{label}={value}}}"
                    totals[key] = totals.get(key, 0.0) + sample.value
    if TARGET_TOKENS not in totals:
        raise E2EError(f"the worker's metrics have no counter {TARGET_TOKENS}")
    return totals


def _payload(article: BenchArticle, targets: Sequence[str]) -> dict[str, Any]:
    return {
        "title": article.title,
        "text": article.text,
        "source_language": "en",
        "target_languages": list(targets),
        "summary": {"sentences": 3},
        "translate": ["title", "summary", "body"],
    }


def _timestamp(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Service:
    """An API process and one worker process on a fresh embedded store."""

    def __init__(self, model_dir: Path, log_dir: Path, extra_env: dict[str, str]) -> None:
        self.data = tempfile.TemporaryDirectory(prefix="dragoman-bench-")
        self.api_port, self.metrics_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.api_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRAGOMAN_")}
        env.update(
            {
                "DRAGOMAN_DATA_DIR": self.data.name,
                "DRAGOMAN_TRANSLATION_MODEL": str(model_dir),
                "DRAGOMAN_TRANSLATION_BACKEND": "ctranslate2",
                "DRAGOMAN_METRICS_PORT": str(self.metrics_port),
                "DRAGOMAN_WORKER_HEARTBEAT_SECONDS": "1",
                # Random weights fail every output check; retrying gibberish with beam
                # search would measure the retries, not the service's throughput.
                "DRAGOMAN_QUALITY_CHECKS": "flag",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1",
                **extra_env,
            }
        )
        headers = self._api_key(env)
        self.env = env
        log_dir.mkdir(parents=True, exist_ok=True)
        self.worker = Proc(["worker", "--loglevel", "info"], env, log_dir / "worker.log")
        self.memory = MemorySampler(self.worker.popen.pid)
        self.memory.start()
        self.api = Proc(
            ["api", "--port", str(self.api_port), "--loglevel", "warning"], env, log_dir / "api.log"
        )
        self.client = httpx.Client(base_url=self.base, timeout=30, headers=headers)

    @staticmethod
    def _api_key(env: dict[str, str]) -> dict[str, str]:
        """Headers with a fresh API key, as production callers send; updates ``env``.

        Where the CLI cannot create keys (a service without API keys), the service is
        told to run without them instead.
        """
        created = subprocess.run(
            [sys.executable, "-m", "worker.cli", "keys", "create", "--tenant", "bench"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = created.stdout.strip().splitlines()
        if created.returncode == 0 and lines:
            return {"Authorization": f"Bearer {lines[-1].strip()}"}
        env["DRAGOMAN_AUTH"] = "disabled"
        return {}

    def stop(self) -> None:
        self.client.close()
        for proc in (self.api, self.worker):
            proc.stop(timeout=30)
            proc.kill_group()
        self.data.cleanup()

    def fail(self, message: str) -> E2EError:
        return E2EError(f"{message}\n{self.worker.tail(40)}\n{self.api.tail(15)}")

    def wait(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            for proc in (self.worker, self.api):
                if proc.popen.poll() is not None:
                    raise self.fail(f"{what}: {proc.log.stem} exited early")
            try:
                last = check()
                if last:
                    return last
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.5)
        raise self.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")

    def submit(self, payload: dict[str, Any]) -> str:
        response = self.client.post("/v1/jobs", json=payload)
        if response.status_code != 202:
            raise self.fail(f"POST /v1/jobs answered {response.status_code}: {response.text}")
        return str(response.json()["id"])

    def jobs(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Our jobs among the newest ``len(ids)`` (one request, light on the machine)."""
        page = self.client.get("/v1/jobs", params={"limit": min(100, len(ids))}).json()
        return {job["id"]: job for job in page["items"] if job["id"] in ids}


def _check(jobs: Sequence[dict[str, Any]]) -> None:
    for job in jobs:
        if job["status"] != "succeeded":
            error = job.get("error") or {}
            raise E2EError(
                f"job {job['id']} {job['status']}: {error.get('code')}: {error.get('message')}"
            )


def measure_e2e(
    model_dir: Path,
    articles: Sequence[BenchArticle],
    targets: Sequence[str],
    *,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float = 7200,
) -> dict[str, Any]:
    """Post ``articles`` to a fresh API with one worker; time first POST to last success.

    Raises:
        E2EError: The CTranslate2 backend or the metrics are missing, a process died,
            or a job did not succeed.
    """
    if importlib.util.find_spec("worker.engines.ct2") is None:
        raise E2EError("the CTranslate2 engine (worker/engines/ct2.py) is not there yet")
    service = Service(model_dir, log_dir, extra_env or {})
    try:
        service.wait(
            lambda: service.client.get("/readyz").status_code == 200, 180, "/readyz to answer 200"
        )
        warm = service.submit(
            {
                "text": "The warm-up sentence loads the model.",
                "source_language": "en",
                "target_languages": [targets[0]],
                "summary": None,
                "translate": ["body"],
            }
        )
        job = service.wait(
            lambda: (
                (j := service.client.get(f"/v1/jobs/{warm}").json())["status"] in FINISHED and j
            ),
            600,
            "the warm-up job",
        )
        _check([job])
        before = read_counters(service.metrics_port)

        worker_pids = process_tree(service.worker.popen.pid)
        cpu_before = cpu_seconds(worker_pids), cpu_seconds([service.api.popen.pid])
        start = time.time()
        ids = [service.submit(_payload(article, targets)) for article in articles]
        posted = time.time() - start

        def all_done() -> dict[str, dict[str, Any]] | None:
            jobs = service.jobs(ids)
            if any(job["status"] in ("failed", "cancelled") for job in jobs.values()):
                _check(list(jobs.values()))
            done = len(jobs) == len(ids) and all(j["status"] in FINISHED for j in jobs.values())
            return jobs if done else None

        jobs = service.wait(all_done, timeout, f"{len(ids)} jobs to finish")
        observed = time.time() - start
        after = read_counters(service.metrics_port)
        worker_cpu = cpu_seconds(worker_pids) - cpu_before[0]
        api_cpu = cpu_seconds([service.api.popen.pid]) - cpu_before[1]
        memory = service.memory.finish()
    finally:
        service.stop()
    _check(list(jobs.values()))
    finished = max(_timestamp(job["finished_at"]) for job in jobs.values())
    # The server's finish time is exact; polling would add up to half a second.
    seconds = finished - start if finished > start else observed
    tokens = int(after[TARGET_TOKENS] - before[TARGET_TOKENS])
    segments = int(after.get(SEGMENTS, 0) - before.get(SEGMENTS, 0))
    hits = int(after.get(CACHE_HITS, 0) - before.get(CACHE_HITS, 0))
    if tokens <= 0:
        raise E2EError(f"{TARGET_TOKENS} did not grow during the run")
    return {
        "articles": len(ids),
        "target_languages": list(targets),
        "sentence_translations": sum(job["progress"]["total"] for job in jobs.values()),
        "engine_segments": segments,
        "cache_hits": hits,
        "target_tokens": tokens,
        "target_tokens_per_segment": round(tokens / segments, 2) if segments else None,
        "seconds": round(seconds, 3),
        "post_seconds": round(posted, 3),
        "target_tokens_per_s": round(tokens / seconds, 2),
        "articles_per_min": round(len(ids) / seconds * 60, 3),
        "worker_memory": memory,
        "worker_cpu_seconds": round(worker_cpu, 2),
        "api_cpu_seconds": round(api_cpu, 2),
        "cpu_share": cpu_share(worker_cpu, seconds, len(os.sched_getaffinity(0))),
        "worker_env": {k: v for k, v in service.env.items() if k.startswith("DRAGOMAN_")},
    }

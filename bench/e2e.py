"""End to end: real API and worker processes, articles posted over HTTP.

The processes are started as in production (``python -m worker.cli api`` and
``... worker``) with the embedded defaults (SQLite, filesystem broker) in a fresh
data folder. A one-sentence warm-up job loads the model first, so the timed run
measures a worker in its steady state; a cold run (``cold=True``) posts its articles as
soon as the worker is up, so its first job waits for the model to load. Target tokens
come from the worker's Prometheus counter, read before and after, and so does the
breakdown of the run's time (engine busy, planning, idle, pipeline CPU by stage, model
load); memory and CPU time from ``/proc`` (VmRSS sampled over the worker's process
tree, VmHWM at the end).
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
ENGINE_BUSY = "dragoman_engine_busy_seconds_total"
PLANNING = "dragoman_engine_plan_seconds_total"
IDLE = "dragoman_scheduler_idle_seconds_total"
MODEL_LOAD = "dragoman_model_load_seconds_sum"
STAGE = "dragoman_pipeline_cpu_seconds_total{stage="


def breakdown(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, Any]:
    """Where a run's ``seconds`` went, from the worker's counters read around it.

    The scheduler's thread is busy in the engine, planning, or idle (nothing queued);
    what is left of the wall time is its own bookkeeping and waiting for jobs' sentences
    to be taken again. The job threads' CPU time by stage is Python work that competes
    with the engine for cores.
    """

    def delta(name: str) -> float:
        return round(after.get(name, 0.0) - before.get(name, 0.0), 3)

    engine, planning, idle = delta(ENGINE_BUSY), delta(PLANNING), delta(IDLE)
    stages = {key[len(STAGE) : -1]: delta(key) for key in sorted(after) if key.startswith(STAGE)}
    return {
        "wall_seconds": round(seconds, 3),
        "engine_busy_seconds": engine,
        "planning_seconds": planning,
        "scheduler_idle_seconds": idle,
        "scheduler_other_seconds": round(max(0.0, seconds - engine - planning - idle), 3),
        "engine_busy_share": round(engine / seconds, 3) if seconds else None,
        "pipeline_cpu_seconds": {k: v for k, v in stages.items() if v},
        "pipeline_cpu_seconds_total": round(sum(stages.values()), 3),
        # The worker's whole load (a cold run's may begin before the run's first POST).
        "model_load_seconds": round(after.get(MODEL_LOAD, 0.0), 3),
    }


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
            if sample.name.endswith(("_total", "_sum")):
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

    def __init__(
        self,
        model_dir: Path,
        log_dir: Path,
        extra_env: dict[str, str],
        backend: str = "ctranslate2",
    ) -> None:
        self.data = tempfile.TemporaryDirectory(prefix="dragoman-bench-")
        self.api_port, self.metrics_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.api_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRAGOMAN_")}
        env.update(
            {
                "DRAGOMAN_DATA_DIR": self.data.name,
                "DRAGOMAN_TRANSLATION_MODEL": str(model_dir),
                "DRAGOMAN_TRANSLATION_BACKEND": backend,
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

    def try_submit(self, payload: dict[str, Any]) -> str | None:
        """Submit, or None while the service cannot take the job yet (503, 422)."""
        response = self.client.post("/v1/jobs", json=payload)
        if response.status_code in (422, 503):
            return None
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
    cold: bool = False,
    backend: str = "ctranslate2",
) -> dict[str, Any]:
    """Post ``articles`` to a fresh API with one worker; time first POST to last success.

    Args:
        cold: Post as soon as a worker is up (its model still loading) instead of after
            a warm-up job: the time then includes the model's load.
        backend: The worker's engine (``model_dir`` is that engine's model folder).

    Raises:
        E2EError: The engine or the metrics are missing, a process died, or a job did
            not succeed.
    """
    if importlib.util.find_spec("worker.engines.ct2") is None:
        raise E2EError("the CTranslate2 engine (worker/engines/ct2.py) is not there yet")
    service = Service(model_dir, log_dir, extra_env or {}, backend)
    try:
        if cold:
            return _measure(service, articles, targets, timeout, cold=True)
        service.wait(
            lambda: service.client.get("/readyz").status_code == 200, 600, "/readyz to answer 200"
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
        return _measure(service, articles, targets, timeout, cold=False)
    finally:
        service.stop()


def _workers_up(service: Service) -> bool:
    body = service.client.get("/readyz").json()
    return bool(body.get("checks", {}).get("workers", {}).get("ok"))


def _measure(
    service: Service,
    articles: Sequence[BenchArticle],
    targets: Sequence[str],
    timeout: float,
    *,
    cold: bool,
) -> dict[str, Any]:
    """Post the articles, wait for every job, and gather the figures (service still up)."""
    if cold:
        service.wait(lambda: _workers_up(service), 300, "a worker's heartbeat")
        service.wait(lambda: read_counters(service.metrics_port), 120, "the worker's metrics")
    before = read_counters(service.metrics_port)

    worker_pids = process_tree(service.worker.popen.pid)
    cpu_before = cpu_seconds(worker_pids), cpu_seconds([service.api.popen.pid])
    start = time.time()
    first = _payload(articles[0], targets)
    # A cold worker may not have announced its languages yet: the first POST waits.
    ids = [service.wait(lambda: service.try_submit(first), 300, "the first job to be taken")]
    ids += [service.submit(_payload(article, targets)) for article in articles[1:]]
    posted = time.time() - start

    ready_at: list[float] = [] if cold else [start]

    def all_done() -> dict[str, dict[str, Any]] | None:
        if not ready_at and service.client.get("/readyz").status_code == 200:
            ready_at.append(time.time())  # the model is loaded (to the poll's 0.5 s)
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
        "cold": cold,
        # Of the run's seconds, those before the worker's model was ready (cold runs).
        "model_ready_after_s": round(max(0.0, (ready_at or [finished])[0] - start), 3),
        "breakdown": breakdown(before, after, seconds),
        "engine": _engine_line(service.worker.log),
        "worker_env": {k: v for k, v in service.env.items() if k.startswith("DRAGOMAN_")},
    }


def _engine_line(log: Path) -> str | None:
    """The worker's log line that says which engine, device, dtype and budget it used."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found = [line for line in lines if "translation model ready in" in line]
    return found[-1].split("translation model ready in", 1)[1].split(": ", 1)[-1] if found else None

"""End to end: real API and worker processes, articles posted over HTTP.

The processes are started as in production (``python -m worker.cli api`` and
``... worker``) with the embedded defaults (SQLite, filesystem broker) in a fresh
data folder. A one-sentence warm-up job loads the model first, so the timed run
measures a worker in its steady state. Target tokens come from the worker's
Prometheus counter, read before and after; memory from ``/proc`` (VmRSS sampled over
the worker's process tree, VmHWM at the end).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.articles import BenchArticle

REPO = Path(__file__).resolve().parents[1]
TARGET_TOKENS = "dragoman_translation_target_tokens_total"
SEGMENTS = "dragoman_translation_segments_total"
CACHE_HITS = "dragoman_translation_cache_lookups_total{result=hit}"
FINISHED = ("succeeded", "failed", "cancelled")


class E2EError(RuntimeError):
    """The end-to-end run could not be made or did not succeed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A ``worker.cli`` child process with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._handle = log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", *args],
            cwd=REPO,
            env=env,
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so pool children go with it
        )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._handle.close()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log.name} ---\n" + "\n".join(text)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; fields resume after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    tree = _children()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class MemorySampler(threading.Thread):
    """Samples the VmRSS of a process tree every ``interval`` seconds; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_tree_kib = 0
        self.peak_process_kib = 0
        self.processes = 1
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def sample(self) -> None:
        pids = process_tree(self.pid)
        sizes = [_status_kib(pid, "VmRSS") for pid in pids]
        self.processes = max(self.processes, len(pids))
        self.peak_tree_kib = max(self.peak_tree_kib, sum(sizes))
        self.peak_process_kib = max(self.peak_process_kib, *sizes)

    def finish(self) -> dict[str, Any]:
        """Stop sampling; the peaks, with the kernel's high-water mark of each process."""
        self.sample()
        hwm = max(_status_kib(pid, "VmHWM") for pid in process_tree(self.pid))
        self._halt.set()
        self.join()
        peak_process = max(self.peak_process_kib, hwm)
        return {
            "peak_rss_mib": round(peak_process / 1024, 1),
            "peak_rss_tree_mib": round(max(self.peak_tree_kib, peak_process) / 1024, 1),
            "processes": self.processes,
        }


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
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1",
                **extra_env,
            }
        )
        self.env = env
        log_dir.mkdir(parents=True, exist_ok=True)
        self.worker = Proc(["worker", "--loglevel", "info"], env, log_dir / "worker.log")
        self.memory = MemorySampler(self.worker.popen.pid)
        self.memory.start()
        self.api = Proc(
            ["api", "--port", str(self.api_port), "--loglevel", "warning"], env, log_dir / "api.log"
        )
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def stop(self) -> None:
        self.client.close()
        self.api.stop()
        self.worker.stop()
        self.data.cleanup()

    def fail(self, message: str) -> E2EError:
        return E2EError(f"{message}\n{self.worker.tail()}\n{self.api.tail(15)}")

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
        "worker_env": {k: v for k, v in service.env.items() if k.startswith("DRAGOMAN_")},
    }

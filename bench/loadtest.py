"""Load test of the service itself: a flood of submissions, then every job accounted for.

Starts ``dragoman api`` and one ``dragoman worker`` on loopback with the echo engine
(no model: this measures the API, queue, store and pipeline, not translation), fires
``--jobs`` concurrent submissions, and follows every accepted job to its end.
Checks that every accepted job completed, none was lost (each id stored once),
none ran twice into its results (each language stored once, its text whole).
Writes ``bench/results/loadtest.json`` and ``loadtest.md``.

    python -m bench.loadtest                     # SQLite + embedded broker
    python -m bench.loadtest --broker redis      # Redis db 14 (flushed first)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.load import exit_on_sigterm
from testkit.procs import free_port

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TARGETS = ["az", "fa", "hy"]
FINISHED = ("succeeded", "failed", "cancelled")
PARAGRAPHS = [
    "Delegations from Armenia and Azerbaijan met in Tehran on Monday to discuss the "
    "border. The talks lasted six hours, officials said.",
    "Iran's foreign minister said the region needs peace. He offered to host more talks "
    "next month.",
    "Neither side commented on the outcome. A new round is expected in December.",
]


def article(i: int) -> str:
    """A distinct article per job, so no result can pass for another job's."""
    return "\n\n".join([f"Report {i} from the wires."] + PARAGRAPHS)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class Service:
    """The API and one worker as child processes, logs in the data folder."""

    def __init__(self, data_dir: Path, broker_url: str, concurrency: int) -> None:
        self.data_dir = data_dir
        self.concurrency = concurrency
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRAGOMAN_")}
        env.update(
            DRAGOMAN_DATA_DIR=str(data_dir),
            DRAGOMAN_TRANSLATION_BACKEND="echo",
            DRAGOMAN_TRANSLATION_MODEL="echo",
            DRAGOMAN_AUTH="disabled",
            DRAGOMAN_CACHE="off",
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            PYTHONUNBUFFERED="1",
        )
        if broker_url:
            env["DRAGOMAN_BROKER_URL"] = broker_url
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "worker.cli", "migrate"], cwd=REPO, env=self.env, check=True
        )
        for name, args in (
            ("api", ["api", "--port", str(self.port), "--loglevel", "warning"]),
            ("worker", ["worker", "--concurrency", str(self.concurrency), "--loglevel", "info"]),
        ):
            log = (self.data_dir / f"{name}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "worker.cli", *args],
                    cwd=REPO,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"a process exited early; see {self.data_dir}/*.log")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the service did not become ready in 120 s")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


async def submit_all(base: str, count: int, timeout: float) -> list[dict[str, Any]]:
    """Fire ``count`` submissions at once; each outcome with its latency."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def one(i: int) -> dict[str, Any]:
            payload = {
                "title": f"Report {i}",
                "text": article(i),
                "source_language": "en",
                "target_languages": TARGETS,
                "summary": {"sentences": 2},
                "translate": ["title", "summary", "body"],
            }
            started = time.perf_counter()
            try:
                response = await client.post("/v1/jobs", json=payload)
            except httpx.HTTPError as exc:
                return {"i": i, "status": None, "error": type(exc).__name__, "seconds": None}
            seconds = time.perf_counter() - started
            body = response.json() if response.content else {}
            return {
                "i": i,
                "status": response.status_code,
                "id": body.get("id"),
                "code": (body.get("error") or {}).get("code"),
                "seconds": seconds,
            }

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def follow(base: str, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Poll until every job is finished or ``timeout`` passes; the last view of each."""
    jobs: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=10) as client:
        pending = list(ids)
        while pending and time.monotonic() < deadline:
            still = []
            for job_id in pending:
                job = client.get(f"/v1/jobs/{job_id}").json()
                jobs[job_id] = job
                if job.get("status") not in FINISHED:
                    still.append(job_id)
            pending = still
            if pending:
                time.sleep(0.5)
    return jobs


def listed_ids(base: str) -> list[str]:
    """Every job id the API lists, through all pages (duplicates kept, to be counted)."""
    ids: list[str] = []
    cursor: str | None = None
    with httpx.Client(base_url=base, timeout=10) as client:
        while True:
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/jobs", params=params).json()
            ids += [job["id"] for job in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                return ids


def stored_rows(data_dir: Path) -> tuple[int, int]:
    """(job rows, translation rows) in the embedded SQLite store."""
    with sqlite3.connect(data_dir / "dragoman.db") as connection:
        jobs = connection.execute("SELECT count(*) FROM jobs").fetchone()[0]
        rows = connection.execute("SELECT count(*) FROM job_translations").fetchone()[0]
    return int(jobs), int(rows)


def check(jobs: dict[str, dict[str, Any]], accepted: dict[str, int]) -> dict[str, Any]:
    """Completed, lost, duplicated and incomplete jobs among the accepted ones."""
    incomplete: list[str] = []
    for job_id, i in accepted.items():
        job = jobs.get(job_id, {})
        translations = job.get("translations") or {}
        whole = sorted(translations) == sorted(TARGETS) and all(
            t["status"] == "succeeded" and squash(t["body"] or "") == squash(article(i))
            for t in translations.values()
        )
        progress = job.get("progress") or {}
        if not whole or progress.get("done") != progress.get("total"):
            incomplete.append(job_id)
    return {
        "completed": sum(1 for j in accepted if jobs.get(j, {}).get("status") == "succeeded"),
        "failed": sum(1 for j in accepted if jobs.get(j, {}).get("status") == "failed"),
        "unfinished": sum(1 for j in accepted if jobs.get(j, {}).get("status") not in FINISHED),
        "incomplete_results": len(incomplete),
        "attempts_over_1": sum(1 for j in accepted if (jobs.get(j) or {}).get("attempts", 0) > 1),
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="dragoman-load-"))
    broker_url = ""
    if args.broker == "redis":
        import redis

        broker_url = args.redis_url
        redis.Redis.from_url(broker_url).flushdb()
    service = Service(data_dir, broker_url, args.concurrency)
    service.start()
    try:
        started = time.perf_counter()
        outcomes = asyncio.run(
            asyncio.wait_for(
                submit_all(service.base, args.jobs, args.request_timeout), args.submit_timeout
            )
        )
        submitted_in = time.perf_counter() - started
        accepted = {o["id"]: o["i"] for o in outcomes if o["status"] == 202}
        jobs = follow(service.base, list(accepted), args.finish_timeout)
        finished_in = time.perf_counter() - started
        listed = listed_ids(service.base)
        job_rows, translation_rows = stored_rows(data_dir)
    finally:
        service.stop()
    latencies = [o["seconds"] for o in outcomes if o["seconds"] is not None]
    rejected: dict[str, int] = {}
    for o in outcomes:
        if o["status"] in (429, 503):
            key = f"{o['status']} {o['code']}"
            rejected[key] = rejected.get(key, 0) + 1
    checks = check(jobs, accepted)
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "setup": {
            "engine": "echo",
            "store": "sqlite",
            "broker": args.broker,
            "worker_concurrency": args.concurrency,
            "targets": TARGETS,
        },
        "submitted": args.jobs,
        "accepted": len(accepted),
        "rejected": rejected,
        "other_errors": sum(1 for o in outcomes if o["status"] not in (202, 429, 503)),
        "submit_seconds": round(submitted_in, 2),
        "submit_latency_p50_ms": round(1000 * percentile(latencies, 0.5), 1),
        "submit_latency_p95_ms": round(1000 * percentile(latencies, 0.95), 1),
        "submit_latency_max_ms": round(1000 * max(latencies, default=0), 1),
        "all_finished_seconds": round(finished_in, 2),
        "jobs_per_second": round(checks["completed"] / finished_in, 1) if finished_in else 0,
        **checks,
        "lost": sum(1 for j in accepted if j not in set(listed)),
        "listed_twice": len(listed) - len(set(listed)),
        "stored_jobs": job_rows,
        "stored_translations": translation_rows,
    }
    result["ok"] = (
        result["accepted"] > 0
        and result["completed"] == result["accepted"]
        and result["lost"] == 0
        and result["listed_twice"] == 0
        and result["incomplete_results"] == 0
        and job_rows == result["accepted"]
        and translation_rows == len(TARGETS) * result["accepted"]
    )
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        result["data_dir"] = str(data_dir)
    return result


def markdown(result: dict[str, Any]) -> str:
    setup = result["setup"]
    rejected = ", ".join(f"{k}: {v}" for k, v in result["rejected"].items()) or "none"
    lines = [
        "# Load test",
        "",
        f"{result['date']}, {result['machine']['cpus']} CPUs. API + one worker "
        f"(concurrency {setup['worker_concurrency']}) on loopback, echo engine, "
        f"{setup['store']} store, {setup['broker']} broker; each job: title, 2-sentence "
        f"summary and body into {', '.join(setup['targets'])}.",
        "",
        "| | |",
        "|---|---|",
        f"| submitted at once | {result['submitted']} |",
        f"| accepted (202) | {result['accepted']} |",
        f"| rejected (429/503) | {rejected} |",
        f"| other errors | {result['other_errors']} |",
        f"| completed (succeeded) | {result['completed']} |",
        f"| failed / unfinished | {result['failed']} / {result['unfinished']} |",
        f"| lost / listed twice | {result['lost']} / {result['listed_twice']} |",
        f"| incomplete results | {result['incomplete_results']} |",
        f"| jobs run more than once | {result['attempts_over_1']} |",
        f"| stored jobs / translations | {result['stored_jobs']} / "
        f"{result['stored_translations']} |",
        f"| all submissions answered in | {result['submit_seconds']} s |",
        f"| submit latency p50 / p95 / max | {result['submit_latency_p50_ms']} / "
        f"{result['submit_latency_p95_ms']} / {result['submit_latency_max_ms']} ms |",
        f"| all jobs finished after | {result['all_finished_seconds']} s |",
        f"| throughput | {result['jobs_per_second']} jobs/s |",
        f"| **verdict** | {'OK' if result['ok'] else 'FAILED'} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4, help="worker concurrency")
    parser.add_argument("--broker", choices=["embedded", "redis"], default="embedded")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--request-timeout", type=float, default=60)
    parser.add_argument("--submit-timeout", type=float, default=180)
    parser.add_argument("--finish-timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    parser.add_argument("--out", type=Path, default=RESULTS / "loadtest")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

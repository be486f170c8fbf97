"""A real Prometheus server scrapes a running API (two processes) and a worker.

Prometheus (Debian's ``prometheus`` package) scrapes both on loopback every second;
a job goes through, and Prometheus's HTTP API must then show it in the counters and
histograms. The API runs with ``--workers 2``: whichever process answers a scrape,
the counters are the sum of both (multiprocess mode).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from testkit.procs import Proc, free_port
from tests.integration.conftest import base_env, wait_job, wait_ready, wait_until

pytestmark = pytest.mark.integration

JOB = {
    "text": "Delegations met in Baku on Monday.\n\nNo date was set.",
    "source_language": "en",
    "target_languages": ["az", "fa"],
    "translate": ["body"],
}


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[list[str]], str]]:
    """Start Prometheus scraping the given ``host:port`` targets; yields its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the prometheus server is not installed (Debian: apt-get install prometheus)")
    started: list[subprocess.Popen[bytes]] = []

    def start(targets: list[str]) -> str:
        config = tmp_path / "prometheus.yml"
        quoted = ", ".join(f"'{target}'" for target in targets)
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: dragoman\n    static_configs:\n"
            f"      - targets: [{quoted}]\n"
        )
        port = free_port()
        log = tmp_path / "prometheus.log"
        with log.open("wb") as output:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited:\n{log.read_text(errors='replace')[-3000:]}")
            return httpx.get(f"{base}/-/ready").status_code == 200

        wait_until(ready, 30, "prometheus")
        return base

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def query(base: str, promql: str) -> float | None:
    """The value of an instant query with one result, or None when it has none."""
    answer = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_the_api_and_the_worker(
    spawn: Callable[..., Proc], tmp_path: Path, prometheus: Callable[[list[str]], str]
) -> None:
    metrics_port = free_port()
    env = base_env(
        tmp_path / "data",
        Path("echo"),
        DRAGOMAN_TRANSLATION_BACKEND="echo",
        DRAGOMAN_METRICS_PORT=str(metrics_port),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = spawn("worker", ["worker", "--concurrency", "1"], env)
    api = spawn("api", ["api", "--port", str(port), "--workers", "2"], env)
    wait_ready(base, [worker, api])
    server = prometheus([f"127.0.0.1:{port}", f"127.0.0.1:{metrics_port}"])
    wait_until(lambda: query(server, "count(up == 1)") == 2, 60, "both targets up", [worker, api])

    jobs = []
    for _ in range(3):
        response = httpx.post(f"{base}/v1/jobs", json=JOB, timeout=30)
        assert response.status_code == 202, response.text
        jobs.append(response.json()["id"])
    for job_id in jobs:
        assert wait_job(base, job_id, [worker, api], timeout=120)["status"] == "succeeded"

    def shows(promql: str, expected: float) -> Callable[[], bool]:
        return lambda: query(server, promql) == expected

    # submitted on the API (whichever of its two processes took each request)
    wait_until(shows("sum(dragoman_jobs_submitted_total)", 3), 30, "jobs submitted", [api])
    assert query(server, 'dragoman_jobs_submitted_total{source_kind="text"}') == 3
    # finished on the worker, with their durations and queue waits
    wait_until(
        shows('dragoman_jobs_finished_total{status="succeeded"}', 3), 30, "jobs finished", [worker]
    )
    wait_until(
        shows('dragoman_job_duration_seconds_count{status="succeeded"}', 3),
        30,
        "the duration histogram",
        [worker],
    )
    assert query(server, "dragoman_job_queue_wait_seconds_count") == 3
    assert (
        query(
            server,
            'histogram_quantile(0.5, dragoman_job_duration_seconds_bucket{status="succeeded"})',
        )
        is not None
    )
    # the engine's work and the backlog, now empty
    assert (query(server, "dragoman_translation_segments_total") or 0) >= 6
    backlog = 'dragoman_jobs{status="queued"} + on() dragoman_queue_messages{queue="dragoman.jobs"}'
    wait_until(shows(backlog, 0), 30, "an empty backlog", [api])
    assert query(server, "dragoman_model_load_seconds_count") == 1


def test_serve_shows_the_workers_metrics_on_the_api(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    """``dragoman serve``: one scrape target, the API's /metrics includes its worker's."""
    env = base_env(tmp_path / "data", Path("echo"), DRAGOMAN_TRANSLATION_BACKEND="echo")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = spawn("serve", ["serve", "--port", str(port)], env)
    wait_ready(base, [serve])
    response = httpx.post(f"{base}/v1/jobs", json=JOB, timeout=30)
    assert response.status_code == 202, response.text
    assert wait_job(base, response.json()["id"], [serve], timeout=120)["status"] == "succeeded"
    exposed = httpx.get(f"{base}/metrics").text
    assert 'dragoman_jobs_submitted_total{lane="articles",source_kind="text"} 1.0' in exposed
    assert 'dragoman_jobs_finished_total{status="succeeded"} 1.0' in exposed
    assert 'dragoman_job_duration_seconds_count{status="succeeded"} 1.0' in exposed
    # the folder was made for this process tree under the data dir
    folders = list((tmp_path / "data" / "metrics").iterdir())
    assert len(folders) == 1 and any(folders[0].glob("*.db"))


def test_a_prefork_worker_sums_its_pool_processes(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    """Jobs run in pool processes; the worker's /metrics still counts every one."""
    metrics_port = free_port()
    env = base_env(
        tmp_path / "data",
        Path("echo"),
        DRAGOMAN_TRANSLATION_BACKEND="echo",
        DRAGOMAN_METRICS_PORT=str(metrics_port),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = spawn("worker", ["worker", "--pool", "prefork", "--concurrency", "2"], env)
    api = spawn("api", ["api", "--port", str(port)], env)
    wait_ready(base, [worker, api])
    jobs = []
    for _ in range(4):
        response = httpx.post(f"{base}/v1/jobs", json=JOB, timeout=30)
        assert response.status_code == 202, response.text
        jobs.append(response.json()["id"])
    for job_id in jobs:
        assert wait_job(base, job_id, [worker, api], timeout=120)["status"] == "succeeded"
    exposed = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    assert 'dragoman_jobs_finished_total{status="succeeded"} 4.0' in exposed
    assert 'dragoman_job_duration_seconds_count{status="succeeded"} 4.0' in exposed
    # each pool process loaded the model
    assert "dragoman_model_load_seconds_count 2.0" in exposed

"""The worker's metrics: what the recording functions add, and the registry served."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import REGISTRY

from testkit.procs import REPO
from worker import metrics
from worker.runtime.webhooks import Outcome


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_finished_job_counts_with_its_duration() -> None:
    started = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    count = value("dragoman_job_duration_seconds_count", status="failed")
    total = value("dragoman_job_duration_seconds_sum", status="failed")
    finished = value("dragoman_jobs_finished_total", status="failed")
    metrics.record_finish("failed", started, started + dt.timedelta(seconds=42))
    assert value("dragoman_jobs_finished_total", status="failed") == finished + 1
    assert value("dragoman_job_duration_seconds_count", status="failed") == count + 1
    assert value("dragoman_job_duration_seconds_sum", status="failed") == total + 42
    # a job that never started (failed before its claim) counts, without a duration
    metrics.record_finish("failed", None, started)
    assert value("dragoman_jobs_finished_total", status="failed") == finished + 2
    assert value("dragoman_job_duration_seconds_count", status="failed") == count + 1


def test_queue_wait_is_from_queueing_to_claim() -> None:
    queued = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    count = value("dragoman_job_queue_wait_seconds_count")
    below_10 = value("dragoman_job_queue_wait_seconds_bucket", le="10.0")
    metrics.record_claim(queued, queued + dt.timedelta(seconds=7))
    assert value("dragoman_job_queue_wait_seconds_count") == count + 1
    assert value("dragoman_job_queue_wait_seconds_bucket", le="10.0") == below_10 + 1
    # clocks of two machines may disagree a little: never a negative wait
    sum_before = value("dragoman_job_queue_wait_seconds_sum")
    metrics.record_claim(queued, queued - dt.timedelta(seconds=1))
    assert value("dragoman_job_queue_wait_seconds_sum") == sum_before


def test_webhook_outcomes_have_three_labels() -> None:
    assert Outcome(1, delivered=True, status_code=204).label == "delivered"
    assert Outcome(1, status_code=500, retry_in=2.0).label == "retry"
    assert Outcome(5, status_code=500).label == "failed"


def test_multiprocess_mode_sums_the_processes_sharing_a_folder(tmp_path: Path) -> None:
    """Two processes record into one folder; the registry served shows their sum."""
    script = (
        "from worker import metrics; metrics.record_batch(3, 10, 12)\n"
        "from prometheus_client import generate_latest\n"
        "print(generate_latest(metrics.registry()).decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    assert all(out.returncode == 0 for out in outputs), outputs[-1].stderr
    assert "dragoman_translation_target_tokens_total 24.0" in outputs[-1].stdout


def test_cpu_stage_counts_the_threads_cpu_not_its_sleep() -> None:
    import time

    name = "dragoman_pipeline_cpu_seconds_total"
    before = value(name, stage="checks")
    with metrics.cpu_stage("checks"):
        time.sleep(0.2)  # waiting costs no CPU
        deadline = time.thread_time() + 0.05
        while time.thread_time() < deadline:
            pass
    spent = value(name, stage="checks") - before
    assert 0.05 <= spent < 0.15


def test_scheduler_counts_engine_planning_and_idle_time() -> None:
    import time

    from worker.engines.base import Segment
    from worker.engines.echo import EchoTranslator
    from worker.engines.scheduler import BatchScheduler

    names = (
        "dragoman_engine_busy_seconds_total",
        "dragoman_engine_plan_seconds_total",
        "dragoman_scheduler_idle_seconds_total",
    )
    before = [value(name) for name in names]
    scheduler = BatchScheduler(EchoTranslator(), max_batch_sentences=16)
    try:
        time.sleep(0.2)  # nothing queued: idle
        segments = [Segment(f"sentence number {i}", "en", "az") for i in range(40)]
        futures = scheduler.submit("job", segments)
        assert [f.result(timeout=10) for f in futures] == [s.text for s in segments]
    finally:
        scheduler.close()
    engine, plan, idle = (value(n) - b for n, b in zip(names, before, strict=True))
    assert engine > 0 and plan > 0
    assert idle >= 0.15

"""The worker's time counters: engine busy, planning, idle, pipeline CPU by stage."""

from __future__ import annotations

import time

from worker import metrics
from worker.engines.base import Segment
from worker.engines.echo import EchoTranslator
from worker.engines.scheduler import BatchScheduler


def _value(counter: object, *labels: str) -> float:
    target = counter.labels(*labels) if labels else counter  # type: ignore[attr-defined]
    return float(target._value.get())


def test_cpu_stage_counts_the_threads_cpu_not_its_sleep() -> None:
    before = _value(metrics.STAGE_SECONDS, "checks")
    with metrics.cpu_stage("checks"):
        time.sleep(0.2)  # waiting costs no CPU
        deadline = time.thread_time() + 0.05
        while time.thread_time() < deadline:
            pass
    spent = _value(metrics.STAGE_SECONDS, "checks") - before
    assert 0.05 <= spent < 0.15


def test_scheduler_counts_engine_planning_and_idle_time() -> None:
    counters = (metrics.ENGINE_SECONDS, metrics.PLAN_SECONDS, metrics.IDLE_SECONDS)
    before = [_value(c) for c in counters]
    scheduler = BatchScheduler(EchoTranslator(), max_batch_sentences=16)
    try:
        time.sleep(0.2)  # nothing queued: idle
        segments = [Segment(f"sentence number {i}", "en", "az") for i in range(40)]
        futures = scheduler.submit("job", segments)
        assert [f.result(timeout=10) for f in futures] == [s.text for s in segments]
    finally:
        scheduler.close()
    engine, plan, idle = (_value(c) - b for c, b in zip(counters, before, strict=True))
    assert engine > 0 and plan > 0
    assert idle >= 0.15

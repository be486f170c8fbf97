"""The batch scheduler: full batches, fairness between jobs, isolation of failures."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from service.db import Database
from service.errors import TextTooLong
from tests.conftest import make_settings
from worker.engines.base import PlannedBatch, Segment, Translator
from worker.engines.ct2 import CTranslate2Translator
from worker.engines.hf import TransformersTranslator
from worker.engines.scheduler import BatchScheduler
from worker.pipeline.context import WorkerContext


class Recording(Translator):
    """A real tiny engine, with each call's segments written down."""

    def __init__(
        self, inner: Translator, gate: threading.Event | None = None, *, pausable: bool = False
    ) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.max_input_tokens = inner.max_input_tokens
        self.calls: list[list[Segment]] = []
        self.pre_encoded: list[bool] = []  # per call: did the scheduler hand over tokens?
        self.hold = gate  # ordinary engine calls wait for it
        self.gate = inner.gate if pausable else None  # the engine's PriorityGate, if used
        self.entered = threading.Event()  # set when the first engine call starts

    def languages(self) -> list[str]:
        return self.inner.languages()

    def supports(self, source: str, target: str) -> bool:
        return self.inner.supports(source, target)

    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        return self.inner.count_tokens(texts, source)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def plan_batches(self, segments: list[Segment]) -> list[PlannedBatch]:
        return self.inner.plan_batches(segments)

    def translate_alternatives(self, segments: list[Segment], count: int) -> list[list[str]]:
        self.calls.append(list(segments))
        return self.inner.translate_alternatives(segments, count)

    def translate_segments(
        self, segments: list[Segment], tokens: Sequence[Any] | None = None
    ) -> list[str]:
        self.entered.set()
        if self.hold is not None and not (self.gate and self.gate.is_priority_thread()):
            self.hold.wait(10)  # ordinary calls only: a priority call is never held here
        self.calls.append(list(segments))
        self.pre_encoded.append(tokens is not None)
        if tokens is not None:  # the planned tokens are the segments' own
            (plan,) = self.inner.plan_batches(segments)
            assert sorted(plan.indices) == list(range(len(segments)))
            assert [tokens[i] for i in plan.indices] == plan.tokens
        return self.inner.translate_segments(segments, tokens)


@pytest.fixture(scope="module")
def engine(tiny_nllb_ct2_dir: Path) -> CTranslate2Translator:
    return CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)


@pytest.fixture
def gate() -> threading.Event:
    return threading.Event()


@pytest.fixture
def recording(engine: CTranslate2Translator, gate: threading.Event) -> Recording:
    return Recording(engine, gate)


@pytest.fixture
def scheduler(recording: Recording) -> Iterator[BatchScheduler]:
    s = BatchScheduler(recording, max_batch_sentences=8)  # type: ignore[arg-type]
    yield s
    s.close()


def sentences(prefix: str, count: int) -> list[str]:
    return [f"{prefix} sentence number {i} about the talks in Baku." for i in range(count)]


def test_languages_and_jobs_share_batches(
    scheduler: BatchScheduler, recording: Recording, gate: threading.Event
) -> None:
    a = scheduler.submit(
        "a", [Segment(s, "en", t) for t in ("az", "fa") for s in sentences("A", 3)]
    )
    b = scheduler.submit("b", [Segment(s, "en", "hy") for s in sentences("B", 2)])
    gate.set()
    assert all(f.result(timeout=30) for f in a + b)
    # 8 sentences from two jobs and three target languages fit one engine call
    assert len(recording.calls) <= 2
    assert all(recording.pre_encoded)  # planned batches are not encoded a second time
    assert {seg.target for seg in recording.calls[-1]} | {
        seg.target for seg in recording.calls[0]
    } == {"az", "fa", "hy"}


def test_a_small_job_is_not_stuck_behind_a_long_one(
    scheduler: BatchScheduler, recording: Recording, gate: threading.Event
) -> None:
    long_job = scheduler.submit("long", [Segment(s, "en", "fa") for s in sentences("L", 40)])
    small_job = scheduler.submit("small", [Segment(s, "en", "az") for s in sentences("S", 3)])
    gate.set()
    for future in small_job + long_job:
        future.result(timeout=60)
    calls_with_small = [
        i for i, call in enumerate(recording.calls) if any(s.target == "az" for s in call)
    ]
    # the small job rides in the first calls, not after the 40 sentences of the long one
    assert calls_with_small and calls_with_small[-1] <= 1
    assert len(recording.calls) >= 5


def test_cancel_drops_what_is_still_queued(
    scheduler: BatchScheduler, recording: Recording, gate: threading.Event
) -> None:
    futures = scheduler.submit("job", [Segment(s, "en", "fa") for s in sentences("C", 30)])
    dropped = scheduler.cancel("job")
    gate.set()
    assert dropped >= 22  # at most one batch of 8 was already taken
    assert sum(f.cancelled() for f in futures) == dropped
    assert scheduler.pending() == 0


def test_one_bad_sentence_fails_only_its_own_job(
    scheduler: BatchScheduler, gate: threading.Event
) -> None:
    bad = scheduler.submit("bad", [Segment(" ".join(["word"] * 1500), "en", "fa")])
    good = scheduler.submit("good", [Segment(s, "en", "az") for s in sentences("G", 3)])
    gate.set()
    assert all(f.result(timeout=30) for f in good)
    with pytest.raises(TextTooLong):
        bad[0].result(timeout=30)


def test_a_nearly_empty_last_batch_waits_for_the_next_sentences(tiny_nllb_ct2_dir: Path) -> None:
    texts = {key: sentences(key, 4) for key in ("A", "B")}
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    widths = engine.count_tokens([t for group in texts.values() for t in group], "en")
    # room for three of these sentences per batch, never four
    engine.max_batch_tokens = engine.batch_cost(3, max(widths))
    assert engine.batch_cost(4, min(widths)) > engine.max_batch_tokens
    gate = threading.Event()
    recording = Recording(engine, gate)
    scheduler = BatchScheduler(recording, max_batch_sentences=4)  # type: ignore[arg-type]
    try:
        futures = [
            f
            for key, group in texts.items()
            for f in scheduler.submit(key, [Segment(t, "en", "az") for t in group])
        ]
        gate.set()
        assert all(f.result(timeout=60) for f in futures)
    finally:
        scheduler.close()
    sizes = [len(call) for call in recording.calls]
    # takes of four would run 3+1, 3+1 without carrying; the lone sentences wait and join
    assert sum(sizes) == 8 and max(sizes) <= 3
    assert len(sizes) == 3, sizes


def test_a_job_arriving_mid_take_is_in_the_next_batch(tiny_nllb_ct2_dir: Path) -> None:
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    long_texts = sentences("L", 24)
    short_texts = [f"Talks resumed {i}." for i in range(3)]
    long_widths = engine.count_tokens(long_texts, "en")
    assert max(engine.count_tokens(short_texts, "en")) < min(long_widths)
    # four sentences per batch: the first take (all 24) plans six batches
    engine.max_batch_tokens = engine.batch_cost(4, max(long_widths))
    gate = threading.Event()
    recording = Recording(engine, gate)
    scheduler = BatchScheduler(recording, max_batch_sentences=64)  # type: ignore[arg-type]
    try:
        long_job = scheduler.submit("long", [Segment(t, "en", "fa") for t in long_texts])
        assert recording.entered.wait(30)  # the first batch of the long job is running
        short_job = scheduler.submit("short", [Segment(t, "en", "az") for t in short_texts])
        gate.set()
        assert all(f.result(timeout=60) for f in short_job + long_job)
    finally:
        scheduler.close()
    calls_with_short = [
        i for i, call in enumerate(recording.calls) if any(s.target == "az" for s in call)
    ]
    # without stopping the take, the newcomer would wait for all six batches
    assert calls_with_short == [1], [len(call) for call in recording.calls]
    assert sum(len(call) for call in recording.calls) == 27  # nothing lost or run twice


def test_the_transformers_engine_is_fed_planned_batches_too(
    tmp_path: Path, tiny_nllb_dir: Path
) -> None:
    """Both engines go through one scheduler path: planned batches, tokens handed over."""
    recording = Recording(TransformersTranslator(str(tiny_nllb_dir), batch_size=4))
    settings = make_settings(tmp_path, translation_batch_size=128)
    ctx = WorkerContext(settings=settings, db=Database(settings.effective_database_url), pid=0)
    try:
        scheduler = ctx.scheduler(recording)
        assert scheduler.max_batch_sentences == 128  # no cap of its own
        segments = [Segment(f"Talks resumed on day {n}.", "en", "fa") for n in range(10)]
        outputs = [f.result(timeout=120) for f in scheduler.submit("job", segments)]
    finally:
        ctx.close()
    assert len(outputs) == 10 and all(outputs)
    assert all(recording.pre_encoded), recording.pre_encoded
    assert [len(call) for call in recording.calls] == [4, 4, 2]


def test_a_take_decodes_one_batch_before_a_newcomer_can_interrupt_it(
    tiny_nllb_ct2_dir: Path,
) -> None:
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    long_texts = sentences("L", 12)
    engine.max_batch_tokens = engine.batch_cost(4, max(engine.count_tokens(long_texts, "en")))
    gate = threading.Event()
    recording = Recording(engine, gate)
    scheduler = BatchScheduler(recording, max_batch_sentences=64)  # type: ignore[arg-type]
    try:
        # a blank text comes first, answered without decoding: not a batch that counts
        long_job = scheduler.submit("long", [Segment(t, "en", "fa") for t in [" ", *long_texts]])
        assert recording.entered.wait(30)
        short_job = scheduler.submit("short", [Segment("Talks resumed.", "en", "az")])
        gate.set()
        assert all(f.result(timeout=60) is not None for f in long_job + short_job)
    finally:
        scheduler.close()
    sizes = [len(call) for call in recording.calls]
    calls_with_short = [
        i for i, call in enumerate(recording.calls) if any(s.target == "az" for s in call)
    ]
    # call 0: the blank text; call 1: the long job's first batch; then the newcomer
    assert calls_with_short == [2], sizes
    assert sum(sizes) == 14


def test_priority_segments_are_taken_first_at_the_next_batch(tiny_nllb_ct2_dir: Path) -> None:
    """With an engine that cannot pause, interactive sentences submitted behind many
    article jobs run in the next batch."""
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    gate = threading.Event()
    recording = Recording(engine, gate)
    # a take of four sentences: shared fairly, ten article jobs would leave a later
    # job out of the next take altogether
    scheduler = BatchScheduler(recording, max_batch_sentences=4)  # type: ignore[arg-type]
    try:
        articles = [
            scheduler.submit(f"article-{n}", [Segment(t, "en", "fa") for t in sentences("A", 8)])
            for n in range(10)
        ]
        assert recording.entered.wait(30)  # the first batch is running
        interactive = scheduler.submit(
            "interactive", [Segment("Talks resumed.", "en", "az")], priority=True
        )
        gate.set()
        assert interactive[0].result(timeout=60) is not None
        assert all(f.result(timeout=120) is not None for job in articles for f in job)
    finally:
        scheduler.close()
    with_interactive = [
        i for i, call in enumerate(recording.calls) if any(s.target == "az" for s in call)
    ]
    assert with_interactive == [1], [len(call) for call in recording.calls]
    assert [s.target for s in recording.calls[1]] == ["az"]  # a batch of its own
    assert sum(len(call) for call in recording.calls) == 81  # nothing lost or run twice


def test_n_best_requests_answer_distinct_hypotheses(tiny_nllb_ct2_dir: Path) -> None:
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    scheduler = BatchScheduler(engine)
    try:
        (best,) = scheduler.submit_alternatives(
            "interactive", [Segment("Talks resumed in Baku.", "en", "az")], 4, priority=True
        )
        hypotheses = best.result(timeout=60)
    finally:
        scheduler.close()
    assert 1 <= len(hypotheses) <= 4
    assert len(set(hypotheses)) == len(hypotheses)
    assert all(isinstance(h, str) for h in hypotheses)


def test_both_engines_give_n_best(tiny_nllb_ct2_dir: Path, tiny_nllb_dir: Path) -> None:
    segment = Segment("The delegations met on Monday.", "en", "fa")
    for engine in (
        CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1),
        TransformersTranslator(str(tiny_nllb_dir), batch_size=4),
    ):
        (hypotheses,) = engine.translate_alternatives([segment], 3)
        # random weights: beams may agree, but a search of three finds more than one
        assert 2 <= len(hypotheses) <= 3, (engine, hypotheses)
        assert len(set(hypotheses)) == len(hypotheses)


def test_priority_segments_run_while_the_running_batch_pauses(tiny_nllb_ct2_dir: Path) -> None:
    """With an engine that pauses, an interactive sentence does not wait for the
    ordinary thread: it is decoded by the priority thread while the ordinary thread is
    stuck in an engine call, and the article then gets the translations it would have
    got alone (nothing decoded twice). The pause inside decoding is the next test's."""
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    article = [Segment(t, "en", "fa") for t in sentences("A", 8)]
    alone = engine.translate_segments(article)
    hold = threading.Event()
    recording = Recording(engine, hold, pausable=True)
    assert recording.gate is engine.gate
    scheduler = BatchScheduler(recording, max_batch_sentences=8)  # type: ignore[arg-type]
    priority_seconds = REGISTRY.get_sample_value("dragoman_engine_priority_seconds_total")
    try:
        futures = scheduler.submit("article", article)
        assert recording.entered.wait(30)  # the article batch is in the engine (held)
        # the interactive request is answered while the article batch cannot move on
        (interactive,) = scheduler.submit(
            "interactive", [Segment("Talks resumed.", "en", "az")], priority=True
        )
        assert interactive.result(timeout=30) == engine.translate(["Talks resumed."], "en", "az")[0]
        assert not any(f.done() for f in futures)
        hold.set()
        assert [f.result(timeout=60) for f in futures] == alone
    finally:
        scheduler.close()
    assert sorted(len(call) for call in recording.calls) == [1, 8]  # nothing run twice
    after = REGISTRY.get_sample_value("dragoman_engine_priority_seconds_total")
    assert after is not None and priority_seconds is not None and after > priority_seconds


@pytest.mark.parametrize("backend", ["ctranslate2", "transformers"])
def test_an_engine_paused_mid_batch_goes_on_where_it_stopped(
    backend: str, tiny_nllb_ct2_dir: Path, tiny_nllb_dir: Path
) -> None:
    """While a priority call holds the gate, an ordinary batch already decoding stops at
    its next step (it cannot finish), the priority call runs, and the batch then ends
    with exactly the output it gives when nothing interrupts it."""
    article = [Segment(t, "en", "fa") for t in sentences("B", 6)]
    engine: Translator
    if backend == "ctranslate2":
        engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    else:
        engine = TransformersTranslator(str(tiny_nllb_dir), batch_size=8)
    gate = engine.gate
    assert gate is not None
    alone = engine.translate_segments(article)
    quick = engine.translate(["Talks resumed."], "en", "az")
    steps, holding, release = threading.Event(), threading.Event(), threading.Event()
    done: dict[str, list[str]] = {}

    def priority_caller() -> None:
        with gate.priority():
            holding.set()
            done["quick"] = engine.translate(["Talks resumed."], "en", "az")
            release.wait(30)

    original_wait = gate.wait
    boundaries = itertools.count(1)

    def wait() -> None:  # a step boundary of the ordinary call
        if next(boundaries) == 3:  # well inside its decoding: let the caller in
            steps.set()
            holding.wait(30)
        original_wait()

    gate.wait = wait  # type: ignore[method-assign]
    try:
        ordinary = threading.Thread(
            target=lambda: done.setdefault("article", engine.translate_segments(article))
        )
        ordinary.start()
        assert steps.wait(30), "no step boundary inside the decoding"
        caller = threading.Thread(target=priority_caller)
        caller.start()
        assert holding.wait(30)
        deadline = time.monotonic() + 30
        while "quick" not in done and time.monotonic() < deadline:
            time.sleep(0.01)
        assert done.get("quick") == quick
        ordinary.join(0.5)
        assert ordinary.is_alive(), "the ordinary batch did not pause"
        release.set()
        caller.join(30)
        ordinary.join(60)
        assert done["article"] == alone
    finally:
        gate.wait = original_wait  # type: ignore[method-assign]
        release.set()


def test_idle_time_leaves_out_priority_calls(tiny_nllb_ct2_dir: Path) -> None:
    """The engine is not idle while a priority call holds it, even with nothing else
    queued: ``dragoman_scheduler_idle_seconds_total`` leaves that time out."""
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    name = "dragoman_scheduler_idle_seconds_total"
    before = REGISTRY.get_sample_value(name) or 0.0
    scheduler = BatchScheduler(engine)
    try:
        started = time.perf_counter()
        with engine.gate.priority():
            time.sleep(0.5)
        (future,) = scheduler.submit("job", [Segment("Talks resumed.", "en", "fa")])
        future.result(timeout=30)
        elapsed = time.perf_counter() - started
    finally:
        scheduler.close()
    idle = (REGISTRY.get_sample_value(name) or 0.0) - before
    assert idle < elapsed - 0.4, (idle, elapsed)


def test_a_stream_of_interactive_requests_never_stops_the_articles(
    tiny_nllb_ct2_dir: Path,
) -> None:
    """Clients that send a new interactive request the moment the last one answers
    would keep the ordinary batch paused for ever; past the cap on the paused share of
    time, priority calls run beside it instead, and the article finishes."""
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)
    scheduler = BatchScheduler(engine, priority_window=1.0)
    stop = threading.Event()
    answered: list[int] = []

    def client(n: int) -> None:
        while not stop.is_set():
            (future,) = scheduler.submit(
                f"interactive-{n}",
                [Segment(f"Talks resumed in round {n}.", "en", "az")],
                priority=True,
            )
            future.result(timeout=30)
            answered.append(n)

    clients = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    try:
        for thread in clients:
            thread.start()
        while len(answered) < 8:  # the stream is flowing
            time.sleep(0.01)
        article = scheduler.submit("article", [Segment(t, "en", "fa") for t in sentences("C", 32)])
        assert all(f.result(timeout=30) for f in article)
    finally:
        stop.set()
        for thread in clients:
            thread.join(30)
        scheduler.close()
    assert len(answered) > 8  # the interactive requests kept being answered meanwhile

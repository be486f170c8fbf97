"""One engine, many jobs: a scheduler that keeps the engine's batches full and fair.

Jobs hand all their sentences to the process's scheduler and wait on futures; one
thread owns the engine, takes sentences from every running job in turn, has the engine
plan its batches and resolves each batch's futures as it ends. A job that arrives
during a take joins the next batch; a nearly empty last batch waits for company
(docs/architecture.md).

Priority segments (interactive requests) never wait for a batch to end when the
engine has a ``PriorityGate``: a second thread decodes them at once while the running
batch pauses at its next decoding step, then that batch goes on (pausing it for at
most ``PRIORITY_SHARE`` of the time; beyond that they run beside it). With an engine
without one, they are taken before any other at the next take, in batches of their
own ahead of the rest. Either way they never wait for company.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from worker import metrics
from worker.engines.base import Segment, Translator

log = logging.getLogger(__name__)

# (job key, segment, its future: a translation, or a list of them for n-best requests)
Request = tuple[str, Segment, "Future[Any]"]
# A last batch filling less than this share of the engine's budget waits for company,
# at most MAX_CARRIES times per sentence (so none waits for ever).
CARRY_BELOW = 0.5
MAX_CARRIES = 2
# Priority calls pause the ordinary batch for at most this share of the time (averaged
# over about PRIORITY_WINDOW seconds); beyond it they run beside it, so a steady stream
# of interactive requests slows the articles down but never stops them.
PRIORITY_SHARE = 0.5
PRIORITY_WINDOW = 30.0


@dataclass
class Batch:
    """Requests for one engine call, with their source tokens when the engine planned it."""

    requests: list[Request]
    tokens: list[Any] | None = None
    blank: bool = False  # blank texts only: answered without decoding
    fill: float | None = None  # share of the engine's budget, when the engine planned it
    alternatives: int = 0  # n-best requests: this many hypotheses each

    def keep(self, flags: list[bool]) -> Batch:
        """The requests (and their tokens) whose flag is set."""
        tokens = self.tokens
        if tokens is not None:
            tokens = [t for t, keep in zip(tokens, flags, strict=True) if keep]
        requests = [r for r, keep in zip(self.requests, flags, strict=True) if keep]
        return Batch(requests, tokens, self.blank, self.fill, self.alternatives)


class BatchScheduler:
    """Feeds one translator from many jobs' queues.

    Args:
        translator: The engine; only the scheduler's threads call it.
        max_batch_sentences: Sentences taken from the queues at once; an engine that
            plans its batches cuts them further by its own budget.
        priority_share: Most of the time priority calls may pause ordinary batches,
            averaged over about ``priority_window`` seconds.
    """

    def __init__(
        self,
        translator: Translator,
        max_batch_sentences: int = 64,
        *,
        priority_share: float = PRIORITY_SHARE,
        priority_window: float = PRIORITY_WINDOW,
    ) -> None:
        self.translator = translator
        self.max_batch_sentences = max_batch_sentences
        self.priority_share = priority_share
        self.priority_window = priority_window
        # Seconds the gate was held, decaying with ``priority_window``: its ratio to the
        # window is the recent share of time ordinary batches were paused.
        self._recent_hold = 0.0
        self._hold_seen = (time.perf_counter(), 0.0)  # (when, gate's held seconds then)
        self._ordinary_busy = False  # the ordinary thread is in an engine call
        self._queues: collections.OrderedDict[str, collections.deque[Request]] = (
            collections.OrderedDict()
        )
        self._condition = threading.Condition()
        self._closed = False
        self._carried: dict[int, int] = {}  # id() of a queued future -> times put back
        self._urgent: set[int] = set()  # id() of the queued futures of priority segments
        self._nbest: dict[int, int] = {}  # id() of a queued future -> hypotheses wanted
        # Priority requests, when the engine can pause for them: a thread of their own.
        self._priority: collections.deque[Request] | None = None
        self._threads = [threading.Thread(target=self._run, name="dragoman-batcher", daemon=True)]
        if translator.gate is not None:
            self._priority = collections.deque()
            self._threads.append(
                threading.Thread(target=self._run_priority, name="dragoman-priority", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def submit(
        self, job_key: str, segments: list[Segment], *, priority: bool = False
    ) -> list[Future[str]]:
        """Queue ``segments`` for ``job_key``; one future per segment, in order.

        ``priority`` segments (an interactive request's) are taken before every other
        job's at the next take.
        """
        futures: list[Future[str]] = [Future() for _ in segments]
        self._queue(job_key, segments, futures, priority=priority)
        return futures

    def submit_alternatives(
        self, job_key: str, segments: list[Segment], count: int, *, priority: bool = False
    ) -> list[Future[list[str]]]:
        """Queue ``segments`` for their ``count`` best translations (n-best), best first."""
        futures: list[Future[list[str]]] = [Future() for _ in segments]
        self._queue(job_key, segments, futures, priority=priority, alternatives=count)
        return futures

    def _queue(
        self,
        job_key: str,
        segments: list[Segment],
        futures: Sequence[Future[Any]],
        *,
        priority: bool,
        alternatives: int = 0,
    ) -> None:
        with self._condition:
            if self._closed:
                raise RuntimeError("scheduler is closed")
            requests = [(job_key, s, f) for s, f in zip(segments, futures, strict=True)]
            if priority and self._priority is not None:
                self._priority.extend(requests)
            else:
                self._queues.setdefault(job_key, collections.deque()).extend(requests)
            for future in futures:
                if priority:
                    self._urgent.add(id(future))
                if alternatives:
                    self._nbest[id(future)] = alternatives
            self._condition.notify_all()

    def cancel(self, job_key: str) -> int:
        """Drop a job's queued segments (cancelling their futures); returns how many."""
        with self._condition:
            queue = list(self._queues.pop(job_key, None) or ())
            if self._priority:
                queue += [r for r in self._priority if r[0] == job_key]
                kept = [r for r in self._priority if r[0] != job_key]
                self._priority.clear()
                self._priority.extend(kept)
            for _, _, future in queue:
                self._forget(future)
        for _, _, future in queue:
            future.cancel()
        return len(queue)

    def pending(self) -> int:
        with self._condition:
            return sum(len(q) for q in self._queues.values()) + len(self._priority or ())

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)
        with self._condition:
            queues, self._queues = list(self._queues.values()), collections.OrderedDict()
            if self._priority:
                queues.append(collections.deque(self._priority))
                self._priority.clear()
        for queue in queues:
            for _, _, future in queue:
                future.cancel()

    def _forget(self, future: Future[Any]) -> None:
        ident = id(future)
        self._carried.pop(ident, None)
        self._urgent.discard(ident)
        self._nbest.pop(ident, None)

    def _is_urgent(self, request: Request) -> bool:
        return id(request[2]) in self._urgent

    def _take(self) -> list[Request]:
        """Up to ``max_batch_sentences`` requests: priority jobs' first, in the order
        they came, then the rest shared evenly between the other active jobs."""
        batch: list[Request] = []
        for key in [k for k, q in self._queues.items() if q and self._is_urgent(q[0])]:
            queue = self._queues[key]
            while queue and self._is_urgent(queue[0]) and len(batch) < self.max_batch_sentences:
                batch.append(queue.popleft())
            if not queue:
                del self._queues[key]
        while len(batch) < self.max_batch_sentences and self._queues:
            share = max(1, (self.max_batch_sentences - len(batch)) // len(self._queues))
            for key in list(self._queues):
                queue = self._queues[key]
                for _ in range(min(share, len(queue), self.max_batch_sentences - len(batch))):
                    batch.append(queue.popleft())
                if not queue:
                    del self._queues[key]
                if len(batch) >= self.max_batch_sentences:
                    break
        return batch

    def _run(self) -> None:
        while True:
            with self._condition:
                if not self._queues and not self._closed:
                    waited = self._clock()  # priority calls meanwhile are not idle time
                    while not self._queues and not self._closed:
                        self._condition.wait()
                    metrics.IDLE_SECONDS.inc(self._clock() - waited)
                if self._closed:
                    return
                taken = self._take()
            served = {key for key, _, _ in taken}
            log.debug("took %d sentences of %d jobs", len(taken), len(served))
            batches = self._plan(taken)
            decoded = False  # a take always decodes one batch before it can be interrupted
            for index, batch in enumerate(batches):
                with self._condition:
                    newcomer = decoded and any(key not in served for key in self._queues)
                    if not newcomer:
                        for _, _, future in batch.requests:
                            self._forget(future)
                if newcomer:
                    # A job arrived since this take: the rest of the take goes back to
                    # the heads of its jobs' queues, and the next take includes the
                    # newcomer, which would otherwise wait for all of it.
                    order = {id(r[2]): position for position, r in enumerate(taken)}
                    rest = [r for b in batches[index:] for r in b.requests]
                    log.debug("new job: %d sentences of the take go back to be retaken", len(rest))
                    self._put_back(sorted(rest, key=lambda r: order[id(r[2])]), carry=False)
                    break
                decoded = decoded or not batch.blank
                self._ordinary_busy = True
                try:
                    self._run_batch(batch)
                finally:
                    self._ordinary_busy = False

    def _run_priority(self) -> None:
        """The priority thread: decodes priority requests as they come, while the
        engine's other calls wait at their next step (the engine's ``PriorityGate``)."""
        assert self._priority is not None and self.translator.gate is not None
        while True:
            with self._condition:
                while not self._priority and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                count = min(len(self._priority), self.max_batch_sentences)
                taken = [self._priority.popleft() for _ in range(count)]
            hold = self._may_pause()
            log.debug("priority: took %d sentences (pausing the rest: %s)", len(taken), hold)
            try:
                with self.translator.gate.priority(hold=hold):
                    for batch in self._plan(taken):
                        with self._condition:
                            for _, _, future in batch.requests:
                                self._forget(future)
                        self._run_batch(batch)
            except Exception as exc:  # noqa: BLE001 - this thread must outlive any request
                log.exception("priority batch failed")
                for _, _, future in taken:
                    if not future.done():
                        future.set_exception(exc)

    def _may_pause(self) -> bool:
        """Whether the next priority take may pause the ordinary batch: always when no
        ordinary batch runs, otherwise while the recent paused share is below the cap."""
        assert self.translator.gate is not None
        now, held = time.perf_counter(), self.translator.gate.held_seconds()
        then, held_then = self._hold_seen
        decay = math.exp(-(now - then) / self.priority_window)
        self._recent_hold = self._recent_hold * decay + (held - held_then)
        self._hold_seen = (now, held)
        if not self._ordinary_busy:
            return True
        return self._recent_hold < self.priority_share * self.priority_window

    def _run_batch(self, batch: Batch) -> None:
        """Translate ``batch``, but for requests cancelled meanwhile."""
        running = [r[2].set_running_or_notify_cancel() for r in batch.requests]
        if any(running):
            if batch.fill is not None:
                metrics.BATCH_FILL.observe(batch.fill)
            self._translate(batch if all(running) else batch.keep(running))

    def _plan(self, taken: list[Request]) -> list[Batch]:
        """The engine's batches for ``taken``: n-best requests and priority requests
        first, in batches of their own, then the rest (a nearly empty last batch of
        which goes back to wait)."""
        with self._condition:
            nbest = [r for r in taken if id(r[2]) in self._nbest]
            counts = {id(r[2]): self._nbest[id(r[2])] for r in nbest}
            urgent = [r for r in taken if self._is_urgent(r) and id(r[2]) not in counts]
        first: list[Batch] = []
        for count in sorted(set(counts.values())):
            first.append(Batch([r for r in nbest if counts[id(r[2])] == count], alternatives=count))
        if urgent:
            first += self._plan_some(urgent, carry=False)
        if not first:
            return self._plan_some(taken)
        special = {id(r[2]) for r in [*nbest, *urgent]}
        rest = [r for r in taken if id(r[2]) not in special]
        return first + (self._plan_some(rest) if rest else [])

    def _plan_some(self, taken: list[Request], *, carry: bool = True) -> list[Batch]:
        if len(taken) < 2:
            return [Batch(taken)]
        started = time.perf_counter()
        try:
            plan = self.translator.plan_batches([segment for _, segment, _ in taken])
        except Exception:  # noqa: BLE001 - translating reports the error per sentence
            return [Batch(taken)]
        finally:
            metrics.PLAN_SECONDS.inc(time.perf_counter() - started)
        batches = [Batch([taken[i] for i in p.indices], p.tokens, fill=p.fill) for p in plan]
        planned = {i for p in plan for i in p.indices}
        blank = [request for i, request in enumerate(taken) if i not in planned]
        if blank:
            batches.insert(0, Batch(blank, blank=True))
        if carry and len(plan) > 1 and plan[-1].fill < CARRY_BELOW:
            last = batches[-1].requests
            if all(self._carried.get(id(f), 0) < MAX_CARRIES for _, _, f in last):
                batches.pop()
                self._put_back(last)
        return batches

    def _put_back(self, requests: list[Request], *, carry: bool = True) -> None:
        """Return ``requests`` to the head of their jobs' queues, in their order.

        ``carry`` counts it against each request's ``MAX_CARRIES``.
        """
        with self._condition:
            if self._closed:
                for _, _, future in requests:
                    future.cancel()
                return
            by_job: dict[str, list[Request]] = {}
            for request in requests:
                by_job.setdefault(request[0], []).append(request)
                if carry:
                    ident = id(request[2])
                    self._carried[ident] = self._carried.get(ident, 0) + 1
            for key, items in by_job.items():
                queue = self._queues.setdefault(key, collections.deque())
                queue.extendleft(reversed(items))
                self._queues.move_to_end(key, last=False)
            self._condition.notify()

    def _translate(self, batch: Batch) -> None:
        if batch.alternatives:
            self._translate_alternatives(batch)
            return
        requests = batch.requests
        segments = [segment for _, segment, _ in requests]
        started = self._clock()
        try:
            outputs = self.translator.translate_segments(segments, batch.tokens)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting jobs
            self._count_engine_time(started)
            if len(requests) == 1:
                requests[0][2].set_exception(exc)
                return
            # One bad sentence must not fail other jobs' sentences: retry one by one.
            log.warning(
                "batch of %d failed (%s); retrying sentence by sentence", len(requests), exc
            )
            for request in requests:
                self._translate_one(request)
            return
        self._count_engine_time(started)
        for (_, _, future), output in zip(requests, outputs, strict=True):
            future.set_result(output)

    def _clock(self) -> float:
        """Seconds for engine and idle time: in the ordinary thread this clock stops
        while priority calls run (a paused batch is not busy, the engine not idle)."""
        gate = self.translator.gate
        if gate is None or gate.is_priority_thread():
            return time.perf_counter()
        return time.perf_counter() - gate.held_seconds()

    def _count_engine_time(self, started: float) -> None:
        seconds = self._clock() - started
        metrics.ENGINE_SECONDS.inc(seconds)
        gate = self.translator.gate
        if gate is not None and gate.is_priority_thread():
            metrics.PRIORITY_SECONDS.inc(seconds)

    def _translate_alternatives(self, batch: Batch) -> None:
        started = self._clock()
        for _, segment, future in batch.requests:
            try:
                (hypotheses,) = self.translator.translate_alternatives(
                    [segment], batch.alternatives
                )
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                future.set_exception(exc)
            else:
                future.set_result(hypotheses)
        self._count_engine_time(started)

    def _translate_one(self, request: Request) -> None:
        _, segment, future = request
        try:
            future.set_result(self.translator.translate_segments([segment])[0])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting job
            future.set_exception(exc)

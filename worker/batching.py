"""One engine, many jobs: a scheduler that keeps the engine's batches full and fair.

Every job running in a worker process hands all its sentences (every field, every
target language) to the process's scheduler at once and waits on futures. One
thread owns the engine and forms each engine call from the queues of all active
jobs, round-robin, so a job that arrives while a long article is being translated
gets its first sentences into the very next call instead of waiting for the whole
other article. Within a job, sentences keep the order they were submitted in
(target language by target language), so each language finishes, and is
published, as early as possible.
"""

from __future__ import annotations

import collections
import logging
import threading
from concurrent.futures import Future

from worker.engines.base import Segment, Translator

log = logging.getLogger(__name__)

Request = tuple[Segment, "Future[str]"]


class BatchScheduler:
    """Feeds one translator from many jobs' queues.

    Args:
        translator: The engine; only the scheduler's thread calls it.
        max_batch_sentences: Sentences per engine call (the engine may split a call
            further by its own token budget).
    """

    def __init__(self, translator: Translator, max_batch_sentences: int = 64) -> None:
        self.translator = translator
        self.max_batch_sentences = max_batch_sentences
        self._queues: collections.OrderedDict[str, collections.deque[Request]] = (
            collections.OrderedDict()
        )
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="dragoman-batcher", daemon=True)
        self._thread.start()

    def submit(self, job_key: str, segments: list[Segment]) -> list[Future[str]]:
        """Queue ``segments`` for ``job_key``; one future per segment, in order."""
        futures: list[Future[str]] = [Future() for _ in segments]
        with self._condition:
            if self._closed:
                raise RuntimeError("scheduler is closed")
            queue = self._queues.setdefault(job_key, collections.deque())
            queue.extend(zip(segments, futures, strict=True))
            self._condition.notify()
        return futures

    def cancel(self, job_key: str) -> int:
        """Drop a job's queued segments (cancelling their futures); returns how many."""
        with self._condition:
            queue = self._queues.pop(job_key, None)
        if not queue:
            return 0
        for _, future in queue:
            future.cancel()
        return len(queue)

    def pending(self) -> int:
        with self._condition:
            return sum(len(q) for q in self._queues.values())

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout=30)
        with self._condition:
            queues, self._queues = list(self._queues.values()), collections.OrderedDict()
        for queue in queues:
            for _, future in queue:
                future.cancel()

    def _take(self) -> list[Request]:
        """Up to ``max_batch_sentences`` requests, shared evenly between active jobs."""
        batch: list[Request] = []
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
                while not self._queues and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                batch = self._take()
            live = [(s, f) for s, f in batch if f.set_running_or_notify_cancel()]
            if live:
                self._translate(live)

    def _translate(self, batch: list[Request]) -> None:
        try:
            outputs = self.translator.translate_segments([segment for segment, _ in batch])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting jobs
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            # One bad sentence must not fail other jobs' sentences: retry one by one.
            log.warning("batch of %d failed (%s); retrying sentence by sentence", len(batch), exc)
            for request in batch:
                self._translate_one(request)
            return
        for (_, future), output in zip(batch, outputs, strict=True):
            future.set_result(output)

    def _translate_one(self, request: Request) -> None:
        segment, future = request
        try:
            future.set_result(self.translator.translate_segments([segment])[0])
        except Exception as exc:  # noqa: BLE001 - handed to the waiting job
            future.set_exception(exc)

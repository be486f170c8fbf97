"""The translation engine interface every backend implements.

A :class:`Translator` turns source sentences into target sentences, one output per
input, in order. Language arguments are the user-facing canonical codes (``en``,
``az``, ``fa``, ``hy``, ``azb``...); each engine maps them to its model's own codes
(NLLB ``azj_Latn``, M2M100 ``__az__``, Marian ``>>aze<<``).

Engines plan their own batches (:meth:`Translator.plan_batches`: which sentences run
together, within the engine's memory budget) and translate a planned batch with the
tokens the plan encoded; the batch scheduler feeds every engine that way, sentences of
several jobs and language pairs at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from worker.engines.languages import LanguageMap
from worker.engines.libraries import Group

if TYPE_CHECKING:
    from service.settings import Settings


@dataclass(frozen=True)
class Segment:
    """One sentence to translate from ``source`` into ``target``.

    ``strict`` asks for the stricter decoding used to retry a translation that
    failed a check: wider beam, repetition penalty, no repeated trigrams.
    """

    text: str
    source: str
    target: str
    strict: bool = False


@dataclass(frozen=True)
class PlannedBatch:
    """One engine call of a plan: indices into the planned segments, their source tokens.

    ``fill`` is how full it is: the larger of its share of the memory budget and of the
    row limit (0..1, more for a lone sentence longer than the budget). Handing ``tokens``
    back to ``translate_segments`` spares encoding the batch a second time.
    """

    indices: list[int]
    fill: float
    tokens: list[Any]


# Stricter decoding for retries: beam search discourages the degenerate loops and
# copied input that greedy search falls into on hard sentences.
STRICT_BEAMS = 4
STRICT_REPETITION_PENALTY = 1.2
STRICT_NO_REPEAT_NGRAM = 3


@dataclass(frozen=True)
class Decoding:
    """How an engine decodes one batch."""

    beams: int = 1
    repetition_penalty: float = 1.0
    no_repeat_ngram: int = 0

    def use(self, strict: bool) -> Decoding:
        """This decoding, or for ``strict`` segments the stricter decoding of a retry."""
        if not strict:
            return self
        return Decoding(
            max(self.beams, STRICT_BEAMS), STRICT_REPETITION_PENALTY, STRICT_NO_REPEAT_NGRAM
        )


class PriorityGate:
    """Pauses an engine's ordinary calls at their next decoding step during priority calls.

    A thread inside :meth:`priority` makes priority calls: while one is inside, every
    other call of the engine stops at its next decoding step (:meth:`wait`, called by
    the engine between steps) and goes on where it stopped when the last one leaves.
    Nothing is decoded twice; a paused batch keeps its memory meanwhile. With
    ``hold=False`` the thread's calls are priority calls that pause nothing: they run
    beside the ordinary ones, sharing the cores.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._holders = 0
        self._held_since = 0.0
        self._held_total = 0.0
        self._local = threading.local()

    @contextlib.contextmanager
    def priority(self, *, hold: bool = True) -> Iterator[None]:
        """Make this thread's engine calls priority calls until the block ends; with
        ``hold``, ordinary calls pause meanwhile."""
        if hold:
            with self._condition:
                if self._holders == 0:
                    self._held_since = time.perf_counter()
                self._holders += 1
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1
            if hold:
                with self._condition:
                    self._holders -= 1
                    if self._holders == 0:
                        self._held_total += time.perf_counter() - self._held_since
                        self._condition.notify_all()

    def is_priority_thread(self) -> bool:
        """Whether the calling thread makes priority calls (is inside :meth:`priority`)."""
        return getattr(self._local, "depth", 0) > 0

    def held_seconds(self) -> float:
        """Seconds priority calls have held the gate so far (ordinary calls were paused)."""
        with self._condition:
            now = time.perf_counter() - self._held_since if self._holders else 0.0
            return self._held_total + now

    def step(self, _result: Any = None) -> bool:
        """A per-step decoding callback: wait out priority calls; never stop the row."""
        self.wait()
        return False

    def wait(self) -> None:
        """Block while a priority call runs (an ordinary call's step boundary)."""
        if not self._holders:
            return
        with self._condition:
            while self._holders:
                self._condition.wait()


class MappedLanguages:
    """``languages`` and ``supports`` of an engine that steers its model by a language map."""

    language_map: LanguageMap

    def languages(self) -> list[str]:
        return self.language_map.languages()

    def supports(self, source: str, target: str) -> bool:
        return self.language_map.supports(source, target)


class Translator(ABC):
    """A loaded translation model.

    Attributes:
        model_name: What the operator configured (a Hub id or a folder).
        max_input_tokens: Longest sentence the model takes; longer ones are split
            by the pipeline before they get here.
    """

    model_name: str
    max_input_tokens: int
    # Set by an engine that can pause its running calls for a priority call (its
    # ``gate``): the scheduler then runs interactive batches at once, beside them.
    gate: PriorityGate | None = None

    @abstractmethod
    def languages(self) -> list[str]:
        """Canonical codes this model can translate from and into, sorted."""

    @abstractmethod
    def supports(self, source: str, target: str) -> bool:
        """Whether the model can translate from ``source`` into ``target``."""

    @abstractmethod
    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        """Model input length of each text, special tokens included."""

    @abstractmethod
    def plan_batches(self, segments: list[Segment]) -> list[PlannedBatch]:
        """The batches ``translate_segments`` would run for ``segments``, in order.

        Blank segments belong to no batch: they translate to ``""``.
        """

    @abstractmethod
    def translate_segments(
        self, segments: list[Segment], tokens: Sequence[Any] | None = None
    ) -> list[str]:
        """Translate segments of any language pairs; one output per input, in order.

        ``tokens``, when given, are the segments' source tokens from a planned batch,
        used as they are instead of encoding again.

        Raises:
            TextTooLong: A segment is over ``max_input_tokens``.
        """

    @abstractmethod
    def translate_alternatives(self, segments: list[Segment], count: int) -> list[list[str]]:
        """The ``count`` best translations of each segment (n-best), best first, distinct.

        An engine may return fewer (a model whose beams agree, an engine without a
        search); the first is the translation ``translate_segments`` would give with
        a beam of at least ``count``.

        Raises:
            TextTooLong: A segment is over ``max_input_tokens``.
        """

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Engine, device, weight type and batch budget, for the log and ``/readyz``."""

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        """Translate ``sentences`` from ``source`` into ``target``; one output per input."""
        return self.translate_segments([Segment(s, source, target) for s in sentences])

    def check_segments(self, segments: list[Segment]) -> None:
        """Raise ``TextTooLong`` for a segment the model cannot take."""
        from service.errors import TextTooLong

        for segment in segments:
            (tokens,) = self.count_tokens([segment.text], segment.source)
            if tokens > self.max_input_tokens:
                raise TextTooLong(
                    f"A sentence is {tokens} tokens long; {self.model_name} accepts at most "
                    f"{self.max_input_tokens}: {segment.text[:80]!r}...",
                    tokens=tokens,
                    limit=self.max_input_tokens,
                )


def distinct(texts: list[str]) -> list[str]:
    """``texts`` without repeats (n-best lists often hold one text twice), order kept."""
    return list(dict.fromkeys(texts))


@dataclass(frozen=True)
class Backend:
    """One engine as the worker sees it: how to load a model with it, and what it needs.

    Attributes:
        name: What ``DRAGOMAN_TRANSLATION_BACKEND`` calls it.
        create: ``create(model, device, **options)`` loads a model.
        options: Its constructor options from the settings (hashable values: they key
            the loaded model).
        languages: A model's languages read without loading its weights.
        runs: Whether this engine runs the model at a path as it is (``auto`` picks it).
        libraries: The library groups to import before the worker's threads start.
    """

    name: str
    create: Callable[..., Translator]
    options: Callable[[Settings], dict[str, Hashable]]
    languages: Callable[[str], list[str]]
    runs: Callable[[str], bool]
    libraries: tuple[Group, ...]


class Summarizer(Protocol):
    """A loaded summarisation model."""

    model_name: str

    def summarize(self, sentences: list[str], language: str, count: int) -> list[str]:
        """Return a summary of about ``count`` sentences of ``sentences``."""
        ...

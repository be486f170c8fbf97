"""The CTranslate2 translation engine: int8 inference on CPU, float16 on CUDA.

Runs a model directory converted by ``dragoman models pull`` (or CTranslate2's own
converter with the tokenizer files copied along). Text is tokenised with the
model's own Hugging Face tokenizer; CTranslate2 decodes. Segments of any language
pairs share one call: the source language is in each token sequence and the
target language is each row's decoder prefix, so a batch can mix languages and
jobs freely.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.errors import ModelUnavailable, TextTooLong
from worker.engines.base import (
    STRICT_BEAMS,
    STRICT_NO_REPEAT_NGRAM,
    STRICT_REPETITION_PENALTY,
    Segment,
)
from worker.engines.convert import is_ctranslate2_dir, read_metadata
from worker.engines.hf import _load_errors
from worker.engines.libraries import import_libraries
from worker.engines.memory import release_free_memory
from worker.engines.spm import SentencePieceCodec
from worker.runtime import metrics

log = logging.getLogger(__name__)

_NO_LIMIT = 1_000_000
MAX_BATCH_SENTENCES = 64


@dataclass(frozen=True)
class PlannedBatch:
    """One engine call of a plan: indices into the planned segments, their tokens.

    ``fill`` is the share of the batch budget it takes (0..1, more for a lone
    sentence longer than the budget). Handing ``tokens`` back to
    ``translate_segments`` spares encoding the batch a second time.
    """

    indices: list[int]
    fill: float
    tokens: list[list[str]]


def cut_batches(
    widths: Sequence[int],
    cost: Callable[[int, int], int],
    budget: int,
    max_rows: int = MAX_BATCH_SENTENCES,
) -> list[list[int]]:
    """Cut items (in the given order, usually sorted by length) into consecutive runs.

    ``cost(rows, width)`` is what a batch of ``rows`` items, the longest ``width``
    tokens, takes of ``budget``; a run grows while it fits and has under
    ``max_rows`` items. An item too long to share the budget gets a run of its own.
    Returns positions into ``widths``.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for position, item_width in enumerate(widths):
        grown = max(width, item_width)
        if current and (cost(len(current) + 1, grown) > budget or len(current) >= max_rows):
            batches.append(current)
            current, grown = [], item_width
        current.append(position)
        width = grown
    if current:
        batches.append(current)
    return batches


def available_cores() -> int:
    """Cores this process may run on (a container or taskset may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class CTranslate2Translator:
    """A converted seq2seq model run by CTranslate2.

    Args:
        name: Directory of the converted model.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        compute_type: Weight type; ``default`` is int8 on CPU and int8_float16 on CUDA.
        threads: Threads for one batch (CTranslate2 ``intra_threads``); 0 uses every
            core this process may run on.
        max_batch_tokens: Decoder positions in one batch: rows x beams x (longest
            source + the output bound of that length). This bounds a batch's scratch
            memory (attention caches grow with it; about 150 KB per position for a
            model of NLLB-600M's size), whatever the sentences' lengths.
        num_beams: Beam width; 1 is greedy search.
        batch_size: Accepted for symmetry with the transformers engine; batches here
            are sized by ``max_batch_tokens``.
    """

    def __init__(
        self,
        name: str,
        device: str = "cpu",
        *,
        compute_type: str = "default",
        threads: int = 0,
        max_batch_tokens: int = 4096,
        num_beams: int = 1,
        batch_size: int | None = None,
        no_repeat_ngram_size: int = 0,
        repetition_penalty: float = 1.0,
    ) -> None:
        self.model_name = name
        self.device = device
        self.num_beams = num_beams
        self.max_batch_tokens = max_batch_tokens
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.repetition_penalty = repetition_penalty
        self.threads = threads or available_cores()
        self.compute_type = compute_type
        if compute_type == "default":
            self.compute_type = "int8_float16" if device.startswith("cuda") else "int8"
        self._translator, self._codec = self._load(name, device)
        self.family = self._codec.family
        self.language_map = self._codec.language_map
        self.max_input_tokens = self._input_limit(name)
        log.info(
            "loaded %s model %s with CTranslate2 (%s, %s, %d threads)",
            self.family.value,
            name,
            device,
            self.compute_type,
            self.threads,
        )

    def _load(self, name: str, device: str) -> tuple[Any, SentencePieceCodec]:
        import_libraries("ctranslate2")
        import ctranslate2

        path = Path(name).expanduser()
        if not is_ctranslate2_dir(path):
            raise ModelUnavailable(
                f"{name!r} is not a CTranslate2 model directory (model.bin and config.json "
                "missing). Install one with `dragoman models pull NAME`, or use "
                "DRAGOMAN_TRANSLATION_BACKEND=transformers for a transformers checkpoint.",
                model=name,
            )
        index = 0
        kind = device
        if ":" in device:
            kind, _, number = device.partition(":")
            index = int(number)
        try:
            translator = ctranslate2.Translator(
                str(path),
                device=kind,
                device_index=index,
                compute_type=self.compute_type,
                intra_threads=self.threads,
                inter_threads=1,
            )
            codec = SentencePieceCodec(path)
        except _load_errors() as exc:
            raise ModelUnavailable(
                f"CTranslate2 model {name!r} cannot be loaded ({str(exc).splitlines()[0][:200]}). "
                "Reinstall it with `dragoman models pull NAME`.",
                model=name,
            ) from exc
        return translator, codec

    def _input_limit(self, name: str) -> int:
        limits: list[Any] = [self._codec.max_length]
        limits.append(read_metadata(name).get("max_position_embeddings"))
        try:
            config = json.loads((Path(name).expanduser() / "config.json").read_text())
            limits.append(config.get("max_position_embeddings"))
        except (OSError, ValueError):
            pass
        known = [int(v) for v in limits if isinstance(v, int) and 0 < v < _NO_LIMIT]
        return min(known) if known else 512

    # Translator protocol

    def languages(self) -> list[str]:
        return self.language_map.languages()

    def supports(self, source: str, target: str) -> bool:
        return self.language_map.supports(source, target)

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        return self.translate_segments([Segment(s, source, target) for s in sentences])

    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        target = next(iter(self.language_map.targets))
        return [len(t) for t in self._encode([Segment(x, source, target) for x in texts])]

    def check_segments(self, segments: list[Segment]) -> None:
        for segment, tokens in zip(segments, self._encode(segments), strict=True):
            if len(tokens) > self.max_input_tokens:
                raise TextTooLong(
                    f"A sentence is {len(tokens)} tokens long; {self.model_name} accepts at "
                    f"most {self.max_input_tokens}: {segment.text[:80]!r}...",
                    tokens=len(tokens),
                    limit=self.max_input_tokens,
                )

    def translate_segments(
        self, segments: list[Segment], tokens: list[list[str]] | None = None
    ) -> list[str]:
        """Translate segments of any language pairs in length-sorted, token-budgeted batches.

        ``tokens``, when given, are the segments' source tokens from ``plan_batches``
        (a planned batch); they are used as they are instead of encoding again.
        """
        encoded = self._encode(segments) if tokens is None else tokens
        if len(encoded) != len(segments):
            raise ValueError("one token sequence per segment expected")
        outputs = [""] * len(segments)
        todo = [i for i, sequence in enumerate(encoded) if sequence]
        for i in todo:
            if len(encoded[i]) > self.max_input_tokens:
                raise TextTooLong(
                    f"A sentence is {len(encoded[i])} tokens long; {self.model_name} accepts "
                    f"at most {self.max_input_tokens}.",
                    tokens=len(encoded[i]),
                    limit=self.max_input_tokens,
                )
        for batch in self._plan(todo, segments, encoded):
            strict = segments[batch.indices[0]].strict
            self._run_batch(batch.indices, segments, encoded, outputs, strict)
        return outputs

    def plan_batches(self, segments: list[Segment]) -> list[PlannedBatch]:
        """The batches ``translate_segments(segments)`` would run, in order.

        Blank segments belong to no batch.
        """
        encoded = self._encode(segments)
        return self._plan([i for i, t in enumerate(encoded) if t], segments, encoded)

    def _plan(
        self, todo: list[int], segments: list[Segment], encoded: list[list[str]]
    ) -> list[PlannedBatch]:
        # Similar lengths share a batch: little padding, and one decoding bound fits all.
        todo = sorted(todo, key=lambda i: len(encoded[i]))
        plan: list[PlannedBatch] = []
        for strict in (False, True):
            chosen = [i for i in todo if segments[i].strict == strict]
            beams = max(self.num_beams, STRICT_BEAMS) if strict else self.num_beams
            for batch in self._batches(chosen, encoded, beams):
                width = max(len(encoded[i]) for i in batch)
                fill = self.batch_cost(len(batch), width, beams) / self.max_batch_tokens
                plan.append(PlannedBatch(batch, fill, [encoded[i] for i in batch]))
        return plan

    def _run_batch(
        self,
        batch: list[int],
        segments: list[Segment],
        encoded: list[list[str]],
        outputs: list[str],
        strict: bool,
    ) -> None:
        prefixes = [self._target_prefix(segments[i].target) for i in batch]
        longest = max(len(encoded[i]) for i in batch)
        started = time.perf_counter()
        results = self._translator.translate_batch(
            [encoded[i] for i in batch],
            target_prefix=prefixes if any(prefixes) else None,
            beam_size=max(self.num_beams, STRICT_BEAMS) if strict else self.num_beams,
            max_batch_size=0,
            max_decoding_length=self._max_length(longest),
            repetition_penalty=STRICT_REPETITION_PENALTY if strict else self.repetition_penalty,
            no_repeat_ngram_size=STRICT_NO_REPEAT_NGRAM if strict else self.no_repeat_ngram_size,
            return_scores=False,
        )
        target_tokens = 0
        for i, prefix, result in zip(batch, prefixes, results, strict=True):
            tokens = list(result.hypotheses[0])
            target_tokens += len(tokens)
            tokens = tokens[len(prefix or []) :][: self._max_length(len(encoded[i]))]
            outputs[i] = self._decode(tokens)
        seconds = time.perf_counter() - started
        metrics.record_batch(len(batch), sum(len(encoded[i]) for i in batch), target_tokens)
        log.debug(
            "batch of %d rows, longest %d tokens, %d target tokens in %.3f s",
            len(batch),
            longest,
            target_tokens,
            seconds,
        )
        release_free_memory()

    # Internals

    def batch_cost(self, rows: int, width: int, beams: int = 1) -> int:
        """Decoder positions a batch of ``rows`` sources ``width`` tokens long can fill.

        Each row keeps attention caches for its source (cross-attention) and for every
        token it may decode (self-attention), times the beams searched; random or
        degenerate output decodes to the bound, so the bound is what must fit.
        """
        return rows * beams * (width + self._max_length(width))

    def _batches(
        self, order: list[int], encoded: list[list[str]], beams: int = 1
    ) -> list[list[int]]:
        """Consecutive runs of ``order`` (sorted by length) within the batch budget.

        A sentence too long to share the budget with any other still gets a batch
        of its own: it was already checked against the model's input limit.
        """
        runs = cut_batches(
            [len(encoded[i]) for i in order],
            lambda rows, width: self.batch_cost(rows, width, beams),
            self.max_batch_tokens,
        )
        return [[order[position] for position in run] for run in runs]

    def _encode(self, segments: list[Segment]) -> list[list[str]]:
        """Source tokens per segment (language and end tokens included); blank -> []."""
        result: list[list[str]] = [[] for _ in segments]
        groups: dict[tuple[str, str], list[int]] = {}
        for index, segment in enumerate(segments):
            if segment.text.strip():
                groups.setdefault((segment.source, segment.target), []).append(index)
        for (source, target), indices in groups.items():
            encoded = self._codec.encode([segments[i].text for i in indices], source, target)
            for i, tokens in zip(indices, encoded, strict=True):
                result[i] = tokens
        return result

    def _target_prefix(self, target: str) -> list[str] | None:
        return self._codec.target_prefix(target)

    def _max_length(self, input_tokens: int) -> int:
        # Degenerate output may never end; a translation rarely needs more than twice
        # the source length, and the decoder has a position limit.
        return min(self.max_input_tokens, 2 * input_tokens + 16)

    def _decode(self, tokens: list[str]) -> str:
        return self._codec.decode(tokens)

    def __repr__(self) -> str:
        return f"CTranslate2Translator({self.model_name!r}, {self.device}, {self.compute_type})"


def model_languages(name: str) -> list[str]:
    """Languages of a CTranslate2 model directory, from its vocabulary alone."""
    if not is_ctranslate2_dir(name):
        raise ModelUnavailable(f"{name!r} is not a CTranslate2 model directory.", model=name)
    try:
        codec = SentencePieceCodec(Path(name).expanduser())
    except _load_errors() as exc:
        raise ModelUnavailable(
            f"CTranslate2 model {name!r} cannot be read ({str(exc).splitlines()[0][:200]}).",
            model=name,
        ) from exc
    return codec.language_map.languages()

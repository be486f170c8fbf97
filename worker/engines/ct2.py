"""The CTranslate2 translation engine: int8 inference on CPU, float16 on CUDA.

Runs a model directory converted by ``dragoman models pull`` (or CTranslate2's own
converter with the tokenizer files copied along). Text is tokenised with the
model's own Hugging Face tokenizer; CTranslate2 decodes. Segments of any language
pairs share one call: the source language is in each token sequence and the
target language is each row's decoder prefix, so a batch can mix languages and
jobs freely.

The model runs on two CTranslate2 replicas sharing one copy of the weights: ordinary
batches use one; a priority call (an interactive request) runs on the other while the
ordinary batch waits at its next decoding step (``PriorityGate``), so a short request
never waits for a long batch to finish.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

from service.errors import ModelUnavailable, TextTooLong
from service.settings import Settings
from worker import metrics
from worker.engines.base import (
    Backend,
    Decoding,
    MappedLanguages,
    PlannedBatch,
    PriorityGate,
    Segment,
    Translator,
    distinct,
)
from worker.engines.checkpoints import load_errors
from worker.engines.convert import is_ctranslate2_dir, read_metadata
from worker.engines.device import ctranslate2_device, run_splitting_on_oom
from worker.engines.libraries import import_libraries
from worker.engines.memory import release_free_memory
from worker.engines.planning import plan_batches
from worker.engines.spm import SentencePieceCodec

log = logging.getLogger(__name__)

_NO_LIMIT = 1_000_000


def available_cores() -> int:
    """Cores this process may run on (a container or taskset may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class CTranslate2Translator(MappedLanguages, Translator):
    """A converted seq2seq model run by CTranslate2.

    Args:
        name: Directory of the converted model.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when this CTranslate2
            build finds a GPU).
        compute_type: Weight type; ``default`` is int8 on CPU and int8_float16 on CUDA.
        threads: Threads for one batch (CTranslate2 ``intra_threads``); 0 uses every
            core this process may run on.
        max_batch_tokens: Decoder positions in one batch: rows x beams x (longest
            source + the output bound of that length). This bounds a batch's scratch
            memory (attention caches grow with it; about 150 KB per position for a
            model of NLLB-600M's size), whatever the sentences' lengths.
        num_beams: Beam width; 1 is greedy search.
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
        no_repeat_ngram_size: int = 0,
        repetition_penalty: float = 1.0,
    ) -> None:
        self.model_name = name
        self.device = device = ctranslate2_device(device)
        self.decoding = Decoding(num_beams, repetition_penalty, no_repeat_ngram_size)
        self.max_batch_tokens = max_batch_tokens
        self.threads = threads or available_cores()
        self.gate: PriorityGate = PriorityGate()
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
                # Two replicas (the weights are loaded once): one for ordinary batches,
                # one for a priority call while the ordinary batch is paused.
                inter_threads=2,
            )
            codec = SentencePieceCodec(path)
        except load_errors() as exc:
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

    # Translator

    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        target = next(iter(self.language_map.targets))
        return [len(t) for t in self._encode([Segment(x, source, target) for x in texts])]

    def describe(self) -> dict[str, Any]:
        return {
            "engine": "ctranslate2",
            "device": self.device,
            "compute_type": self.compute_type,
            "threads": self.threads,
            "max_batch_tokens": self.max_batch_tokens,
        }

    def translate_segments(
        self, segments: list[Segment], tokens: Sequence[Any] | None = None
    ) -> list[str]:
        """Translate segments of any language pairs in length-sorted, token-budgeted batches.

        ``tokens``, when given, are the segments' source tokens from ``plan_batches``
        (a planned batch); they are used as they are instead of encoding again.
        """
        encoded: Sequence[Any] = self._encode(segments) if tokens is None else tokens
        if len(encoded) != len(segments):
            raise ValueError("one token sequence per segment expected")
        for sequence in encoded:
            if len(sequence) > self.max_input_tokens:
                raise TextTooLong(
                    f"A sentence is {len(sequence)} tokens long; {self.model_name} accepts "
                    f"at most {self.max_input_tokens}.",
                    tokens=len(sequence),
                    limit=self.max_input_tokens,
                )
        outputs = [""] * len(segments)
        for batch in self._plan(segments, encoded):
            run_splitting_on_oom(
                batch.indices,
                lambda rows: self._run_batch(rows, segments, encoded, outputs),
                lambda failed: self._shrink(failed, encoded, segments[failed[0]].strict),
            )
        return outputs

    def _shrink(self, failed: list[int], encoded: Sequence[Any], strict: bool) -> None:
        """Lower the budget below a batch that ran out of memory, for good."""
        width = max(len(encoded[i]) for i in failed)
        cost = self.batch_cost(len(failed), width, self.decoding.use(strict).beams)
        self.max_batch_tokens = max(1, min(self.max_batch_tokens, cost // 2))
        log.warning("batch budget lowered to %d positions", self.max_batch_tokens)

    def plan_batches(self, segments: list[Segment]) -> list[PlannedBatch]:
        return self._plan(segments, self._encode(segments))

    def translate_alternatives(self, segments: list[Segment], count: int) -> list[list[str]]:
        """n-best by beam search (``num_hypotheses``), one segment at a time (they are few)."""
        encoded = self._encode(segments)
        outputs: list[list[str]] = []
        for segment, tokens in zip(segments, encoded, strict=True):
            if not tokens:
                outputs.append([""])
                continue
            if len(tokens) > self.max_input_tokens:
                raise TextTooLong(
                    f"A sentence is {len(tokens)} tokens long; {self.model_name} accepts "
                    f"at most {self.max_input_tokens}.",
                    tokens=len(tokens),
                    limit=self.max_input_tokens,
                )
            prefix = self._target_prefix(segment.target)
            decoding = self.decoding.use(segment.strict)
            (result,) = self._translator.translate_batch(
                [list(tokens)],
                target_prefix=[prefix] if prefix else None,
                beam_size=max(decoding.beams, count),
                num_hypotheses=count,
                max_batch_size=0,
                max_decoding_length=self._max_length(len(tokens)),
                repetition_penalty=decoding.repetition_penalty,
                no_repeat_ngram_size=decoding.no_repeat_ngram,
                return_scores=False,
            )
            limit = self._max_length(len(tokens))
            texts = [
                self._decode(list(hypothesis)[len(prefix or []) :][:limit])
                for hypothesis in result.hypotheses
            ]
            outputs.append(distinct(texts))
        return outputs

    def _plan(self, segments: list[Segment], encoded: Sequence[Any]) -> list[PlannedBatch]:
        # A batch mixes languages and jobs freely: only strict retries decode apart.
        return plan_batches(
            segments,
            encoded,
            group=lambda segment: segment.strict,
            cost=lambda rows, width, segment: self.batch_cost(
                rows, width, self.decoding.use(segment.strict).beams
            ),
            budget=self.max_batch_tokens,
        )

    def _run_batch(
        self, batch: list[int], segments: list[Segment], encoded: Sequence[Any], outputs: list[str]
    ) -> None:
        prefixes = [self._target_prefix(segments[i].target) for i in batch]
        longest = max(len(encoded[i]) for i in batch)
        decoding = self.decoding.use(segments[batch[0]].strict)
        # Greedy decoding calls back after every step, where an ordinary batch waits
        # while a priority call runs (CTranslate2 calls back only without beams).
        pausable = decoding.beams == 1 and not self.gate.is_priority_thread()
        if pausable:
            self.gate.wait()  # nor start one (its encoder pass) during a priority call
        started = time.perf_counter()
        results = self._translator.translate_batch(
            [list(encoded[i]) for i in batch],
            target_prefix=prefixes if any(prefixes) else None,
            beam_size=decoding.beams,
            max_batch_size=0,
            max_decoding_length=self._max_length(longest),
            repetition_penalty=decoding.repetition_penalty,
            no_repeat_ngram_size=decoding.no_repeat_ngram,
            return_scores=False,
            # The gate's own method: a callback holding the engine could be the last
            # reference to it, dropped on CTranslate2's thread, which cannot end itself.
            callback=self.gate.step if pausable else None,
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
    except load_errors() as exc:
        raise ModelUnavailable(
            f"CTranslate2 model {name!r} cannot be read ({str(exc).splitlines()[0][:200]}).",
            model=name,
        ) from exc
    return codec.language_map.languages()


def _options(settings: Settings) -> dict[str, Hashable]:
    return {
        "compute_type": settings.compute_type,
        "threads": settings.threads,
        "max_batch_tokens": settings.translation_max_batch_tokens,
        "num_beams": settings.translation_beams,
    }


BACKEND = Backend(
    name="ctranslate2",
    create=CTranslate2Translator,
    options=_options,
    languages=model_languages,
    runs=is_ctranslate2_dir,
    libraries=("ctranslate2",),
)

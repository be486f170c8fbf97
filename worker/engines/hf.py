"""The transformers translation engine: NLLB-200, M2M100 and Marian (OPUS-MT) on PyTorch.

Loads a Hugging Face id or a local folder (``worker.engines.checkpoints``) with
``AutoTokenizer`` and ``AutoModelForSeq2SeqLM``, plans length-sorted batches within a
memory budget (one target language and decoding per ``generate`` call), and translates
them on the CPU or a GPU.

On CUDA the weights are bfloat16 (float16 where the GPU lacks it), attention is
PyTorch's scaled-dot-product kernel (SDPA), the batch budget is sized from the free GPU
memory after loading (``worker.engines.device.gpu_batch_budget``), a batch's inputs are
built on the device in one copy and its outputs come back in one, and a batch that runs
out of memory is split in halves with the budget shrunk for good.

A priority call (an interactive request, from another thread) pauses the running
``generate`` at its next step and runs beside it on the same weights
(``PriorityGate``); the paused call then goes on where it stopped.
"""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.errors import ModelUnavailable, TextTooLong
from service.settings import Settings
from worker import metrics
from worker.engines import device as devices
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
from worker.engines.checkpoints import (
    Family,
    detect_family,
    from_pretrained,
    language_map_for,
    load_errors,
    locate,
    model_languages,
    unavailable,
)
from worker.engines.libraries import import_libraries, model_loading
from worker.engines.planning import plan_batches

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
DEFAULT_BATCH_TOKENS = 4096
# Tokenizers without a limit report this sentinel (about 1e30) as model_max_length.
_NO_LIMIT = 1_000_000
_MARIAN_SACREMOSES = "Recommended: pip install sacremoses"


class TransformersTranslator(MappedLanguages, Translator):
    """A seq2seq translation model run with PyTorch through transformers.

    Args:
        name: Hugging Face model id (``facebook/nllb-200-distilled-600M``) or a local
            directory holding a saved model.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when PyTorch has it).
        batch_size: Most sentences in one ``generate`` call; 0: 32 on the CPU,
            ``GPU_MAX_ROWS`` on CUDA.
        max_batch_tokens: Decoder positions in one call: rows x beams x (longest source
            + its output bound), which bounds the call's memory (on the CPU).
        gpu_batch_tokens: The same on CUDA; 0 sizes it from the GPU memory free after
            loading (``device.gpu_batch_budget``).
        num_beams: Beam width; 1 is greedy search, the fastest.
        max_input_tokens: Longest accepted sentence in tokens; defaults to the model's
            limit. Longer sentences raise ``TextTooLong`` rather than being truncated.
        no_repeat_ngram_size: Forbid repeating n-grams of this size (0: off).
        repetition_penalty: Penalty for tokens already generated (1.0: off).
        threads: ``torch.set_num_threads`` value (process-wide); None leaves it alone.
        dtype: Torch dtype name for the weights (``float32``, ``float16``, ``bfloat16``);
            ``auto`` is float32 on the CPU and bfloat16 (or float16) on CUDA.
        local_files_only: Never contact the hub, even when the cache misses.
    """

    def __init__(
        self,
        name: str,
        device: str = "cpu",
        *,
        batch_size: int = 0,
        max_batch_tokens: int = DEFAULT_BATCH_TOKENS,
        gpu_batch_tokens: int = 0,
        num_beams: int = 1,
        max_input_tokens: int | None = None,
        no_repeat_ngram_size: int = 0,
        repetition_penalty: float = 1.0,
        threads: int | None = None,
        dtype: str = "auto",
        local_files_only: bool = False,
    ) -> None:
        if batch_size < 0 or num_beams < 1 or max_batch_tokens < 1 or gpu_batch_tokens < 0:
            raise ValueError("max_batch_tokens and num_beams must be at least 1")
        self.model_name = name
        self.decoding = Decoding(num_beams, repetition_penalty, no_repeat_ngram_size)
        # The tokenizer's source language is mutable state; one caller at a time.
        self._tokenizer_lock = threading.Lock()
        self.gate: PriorityGate = PriorityGate()
        import_libraries("transformers")
        import torch

        self.device = devices.torch_device(device)
        self.on_gpu = self.device.startswith("cuda")
        if self.on_gpu and not torch.cuda.is_available():
            raise ModelUnavailable(
                f"Device {device!r} was requested for {name!r} but CUDA is not available",
                model=name,
            )
        self.dtype = devices.torch_dtype_name(dtype, self.device, torch.cuda.is_bf16_supported)
        self.batch_size = batch_size or (
            devices.GPU_MAX_ROWS if self.on_gpu else DEFAULT_BATCH_SIZE
        )
        with model_loading:
            self._tokenizer, self._model = self._load(
                name, self.device, self.dtype, threads, local_files_only
            )
        self.max_batch_tokens = (
            (gpu_batch_tokens or self._gpu_budget()) if self.on_gpu else max_batch_tokens
        )
        self.oom_splits = 0  # batches split after running out of memory
        self.family = detect_family(self._model.config.model_type, self._tokenizer)
        self.language_map = language_map_for(self.family, self._tokenizer)
        self.max_input_tokens = self._input_limit(max_input_tokens)
        self.max_output_tokens = self._output_limit()

    def _load(
        self, name: str, device: str, dtype: str, threads: int | None, local_only: bool
    ) -> tuple[Any, Any]:
        import_libraries("transformers")
        import torch
        from transformers import AutoTokenizer

        if threads is not None:
            torch.set_num_threads(threads)
        torch_dtype = getattr(torch, dtype, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise ValueError(f"unknown torch dtype {dtype!r}")

        local, source = locate(name)
        if local and not Path(source).is_dir():
            raise ModelUnavailable(
                f"Translation model directory {name!r} does not exist. Download the model "
                "there (`huggingface-cli download NAME --local-dir DIR`) or set "
                "DRAGOMAN_TRANSLATION_MODEL to a Hugging Face id or an existing directory.",
                model=name,
            )
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                tokenizer = from_pretrained(AutoTokenizer, source, local, local_only)
            self._relay_warnings(caught)
            model = self._load_model(source, local, local_only, torch_dtype, device)
            family = detect_family(model.config.model_type, tokenizer)
        except ModelUnavailable:
            raise
        except load_errors() as exc:
            raise unavailable(name, local, exc) from exc
        log.info("loaded %s model %s on %s (%s)", family.value, name, device, dtype)
        return tokenizer, model.to(device).eval()

    @staticmethod
    def _load_model(
        source: str, local: bool, local_only: bool, dtype: torch.dtype, device: str
    ) -> Any:
        from transformers import AutoModelForSeq2SeqLM

        options: dict[str, Any] = {"dtype": dtype}
        if device.startswith("cuda"):
            # PyTorch's fused attention kernels (flash or memory-efficient) on the GPU;
            # every supported family (M2M100, NLLB, Marian) has them.
            options["attn_implementation"] = "sdpa"
        return from_pretrained(AutoModelForSeq2SeqLM, source, local, local_only, **options)

    def _gpu_budget(self) -> int:
        """Decoder positions a batch may hold, from the memory free after loading."""
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(self.device))
        config = self._model.config
        budget = devices.gpu_batch_budget(
            free,
            decoder_layers=int(config.decoder_layers),
            d_model=int(config.d_model),
            heads=int(config.decoder_attention_heads),
            dtype=self.dtype,
        )
        log.info("%.1f GiB of GPU memory free: batches of %d positions", free / 2**30, budget)
        return budget

    @staticmethod
    def _relay_warnings(caught: Sequence[warnings.WarningMessage]) -> None:
        """Re-issue tokenizer warnings, except sacremoses' hint, which only goes to the log.

        MarianTokenizer warns on every load when the optional sacremoses package is
        missing; it then skips Moses punctuation normalisation, slightly lowering quality.
        """
        for item in caught:
            if _MARIAN_SACREMOSES in str(item.message):
                log.warning(
                    "sacremoses is not installed; Marian input punctuation is not normalised"
                )
            else:
                warnings.warn_explicit(
                    item.message, item.category, item.filename, item.lineno, source=item.source
                )

    def _input_limit(self, requested: int | None) -> int:
        limits = [getattr(self._model.config, "max_position_embeddings", None)]
        limits.append(getattr(self._tokenizer, "model_max_length", None))
        known = [int(v) for v in limits if isinstance(v, int) and 0 < v < _NO_LIMIT]
        model_limit = min(known) if known else 512
        return min(requested, model_limit) if requested else model_limit

    def _output_limit(self) -> int:
        positions = getattr(self._model.config, "max_position_embeddings", None)
        return positions if isinstance(positions, int) and 0 < positions < _NO_LIMIT else 512

    # Translator

    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        target = next(iter(self.language_map.targets))
        return [len(ids) for ids in self.encode(texts, source, target)]

    def describe(self) -> dict[str, Any]:
        return {
            "engine": "transformers",
            "device": self.device,
            "dtype": self.dtype,
            "max_batch_tokens": self.max_batch_tokens,
            "max_batch_sentences": self.batch_size,
            "attention": str(getattr(self._model.config, "_attn_implementation", "eager")),
        }

    def plan_batches(self, segments: list[Segment]) -> list[PlannedBatch]:
        return self._plan(segments, self._encode_segments(segments))

    def translate_segments(
        self, segments: list[Segment], tokens: Sequence[Any] | None = None
    ) -> list[str]:
        encoded: Sequence[Any] = self._encode_segments(segments) if tokens is None else tokens
        if len(encoded) != len(segments):
            raise ValueError("one token sequence per segment expected")
        self._check_lengths(encoded)
        outputs = [""] * len(segments)

        def run(indices: list[int]) -> None:
            target = segments[indices[0]].target
            generated = self._generate_batch(
                [list(encoded[i]) for i in indices],
                target,
                self.decoding.use(segments[indices[0]].strict),
            )
            for i, text in zip(indices, self._decode(generated, target), strict=True):
                outputs[i] = text

        for batch in self._plan(segments, encoded):
            self._run_splitting(batch.indices, run, encoded, segments[batch.indices[0]].strict)
        return outputs

    def translate_alternatives(self, segments: list[Segment], count: int) -> list[list[str]]:
        """n-best by beam search (``num_return_sequences``), one segment at a time."""
        encoded = self._encode_segments(segments)
        self._check_lengths(encoded)
        outputs: list[list[str]] = []
        for segment, ids in zip(segments, encoded, strict=True):
            if not ids:
                outputs.append([""])
                continue
            forced = self._forced_bos(self.language_map.target_code(segment.target))
            decoding = self.decoding.use(segment.strict)
            wide = Decoding(
                max(decoding.beams, count), decoding.repetition_penalty, decoding.no_repeat_ngram
            )
            generated = self._generate([list(ids)], forced, wide, hypotheses=count)
            limit = self._max_length(len(ids))
            texts = self._decode([row[:limit] for row in generated], segment.target)
            outputs.append(distinct(texts))
        return outputs

    # Lower level, for tests and tools

    def encode(self, sentences: list[str], source: str, target: str) -> list[list[int]]:
        """Model input ids per sentence, special and target-selection tokens included.

        Blank sentences get ``[]``. Nothing is checked against ``max_input_tokens``, so
        callers can use this to measure sentences before splitting them.
        """
        source_code = self.language_map.source_code(source)
        target_code = self.language_map.target_code(target)
        todo = [i for i, text in enumerate(sentences) if text.strip()]
        results: list[list[int]] = [[] for _ in sentences]
        if not todo:
            return results
        texts = [self._prepare(sentences[i], target_code) for i in todo]
        with self._tokenizer_lock:
            self._set_source(source_code)
            encoded = self._tokenizer(texts, add_special_tokens=True, truncation=False)
        for i, ids in zip(todo, encoded["input_ids"], strict=True):
            results[i] = list(ids)
        return results

    def generate_ids(self, sentences: list[str], source: str, target: str) -> list[list[int]]:
        """Generated token ids (decoder start and forced language token included) per sentence.

        Blank sentences get ``[]`` and never reach the model.
        """
        segments = [Segment(s, source, target) for s in sentences]
        encoded = self.encode(sentences, source, target)
        self._check_lengths(encoded)
        results: list[list[int]] = [[] for _ in sentences]

        def run(indices: list[int]) -> None:
            generated = self._generate_batch([encoded[i] for i in indices], target, self.decoding)
            for i, ids in zip(indices, generated, strict=True):
                results[i] = ids

        for batch in self._plan(segments, encoded):
            self._run_splitting(batch.indices, run, encoded, strict=False)
        return results

    # Internals

    def _plan(self, segments: list[Segment], encoded: Sequence[Any]) -> list[PlannedBatch]:
        # One generate call forces one target language and decodes one way.
        return plan_batches(
            segments,
            encoded,
            group=lambda segment: (segment.strict, segment.target),
            cost=lambda rows, width, segment: self._cost(rows, width, segment.strict),
            budget=self.max_batch_tokens,
            max_rows=self.batch_size,
        )

    def _cost(self, rows: int, width: int, strict: bool) -> int:
        return rows * self.decoding.use(strict).beams * (width + self._max_length(width))

    def _run_splitting(
        self,
        indices: list[int],
        run: Callable[[list[int]], None],
        encoded: Sequence[Any],
        strict: bool,
    ) -> None:
        """``run(indices)``, split in halves while a part runs out of GPU memory."""

        def shrink(failed: list[int]) -> None:
            # The budget falls below what failed, for this batch's rest and every
            # later plan: a size that ran out of memory once will again.
            width = max(len(encoded[i]) for i in failed)
            cost = self._cost(len(failed), width, strict)
            self.max_batch_tokens = max(1, min(self.max_batch_tokens, cost // 2))
            self.oom_splits += 1
            log.warning("batch budget lowered to %d positions", self.max_batch_tokens)

        devices.run_splitting_on_oom(indices, run, shrink, self._free_cached_memory)

    def _free_cached_memory(self) -> None:
        if self.on_gpu:
            import torch

            torch.cuda.empty_cache()

    def _encode_segments(self, segments: list[Segment]) -> list[list[int]]:
        result: list[list[int]] = [[] for _ in segments]
        groups: dict[tuple[str, str], list[int]] = {}
        for index, segment in enumerate(segments):
            groups.setdefault((segment.source, segment.target), []).append(index)
        for (source, target), indices in groups.items():
            encoded = self.encode([segments[i].text for i in indices], source, target)
            for i, ids in zip(indices, encoded, strict=True):
                result[i] = ids
        return result

    def _check_lengths(self, encoded: Sequence[Any]) -> None:
        for index, ids in enumerate(encoded):
            if len(ids) > self.max_input_tokens:
                raise TextTooLong(
                    f"Sentence {index} is {len(ids)} tokens long; {self.model_name} "
                    f"accepts at most {self.max_input_tokens}",
                    sentence=index,
                    tokens=len(ids),
                    limit=self.max_input_tokens,
                )

    def _generate_batch(
        self, batch: list[list[int]], target: str, decoding: Decoding
    ) -> list[list[int]]:
        forced = self._forced_bos(self.language_map.target_code(target))
        outputs = self._generate(batch, forced, decoding)
        metrics.record_batch(len(batch), sum(len(ids) for ids in batch), sum(map(len, outputs)))
        # Cut each row at its own bound so that a sentence's translation does not depend
        # on which longer sentences happened to share its batch.
        return [ids[: self._max_length(len(src))] for src, ids in zip(batch, outputs, strict=True)]

    def _decode(self, generated: list[list[int]], target: str) -> list[str]:
        # Drop the decoder start and forced language token: M2M100's language tokens are
        # not "special" to its tokenizer and would otherwise end up in the text.
        skip = 1 if self._forced_bos(self.language_map.target_code(target)) is None else 2
        with self._tokenizer_lock:  # encoding may reconfigure the tokenizer meanwhile
            decoded = self._tokenizer.batch_decode(
                [ids[skip:] for ids in generated], skip_special_tokens=True
            )
        return [text.strip() for text in decoded]

    def _max_length(self, input_tokens: int) -> int:
        # Random or degenerate models may never emit EOS; a translation rarely needs
        # more than twice the source length, and the decoder has a position limit.
        return min(self.max_output_tokens, 2 * input_tokens + 16)

    def _prepare(self, text: str, target_code: str) -> str:
        if self.family is Family.MARIAN and target_code.startswith(">>"):
            # Multi-target OPUS-MT models read the target as a leading >>xxx<< token.
            return f"{target_code} {text}"
        return text

    def _set_source(self, source_code: str) -> None:
        if self.family in (Family.NLLB, Family.M2M100):
            self._tokenizer.src_lang = source_code

    def _forced_bos(self, target_code: str) -> int | None:
        if self.family is Family.NLLB:
            return int(self._tokenizer.convert_tokens_to_ids(target_code))
        if self.family is Family.M2M100:
            return int(self._tokenizer.get_lang_id(target_code))
        return None

    def _generate(
        self,
        batch: list[list[int]],
        forced_bos: int | None,
        decoding: Decoding,
        hypotheses: int = 1,
    ) -> list[list[int]]:
        import torch

        pad_id = self._tokenizer.pad_token_id
        width = max(len(ids) for ids in batch)
        # One host-to-device copy per batch: the padded rows and their lengths; the
        # mask is computed where the model runs.
        input_ids = torch.tensor(
            [ids + [pad_id] * (width - len(ids)) for ids in batch], dtype=torch.long
        ).to(self.device, non_blocking=True)
        lengths = torch.tensor([len(ids) for ids in batch], dtype=torch.long).to(
            self.device, non_blocking=True
        )
        mask = (torch.arange(width, device=self.device) < lengths[:, None]).long()
        options: dict[str, Any] = {
            "num_beams": decoding.beams,
            "do_sample": False,
            "max_length": self._max_length(width),
        }
        if hypotheses > 1:
            options["num_return_sequences"] = hypotheses
        if forced_bos is not None:
            options["forced_bos_token_id"] = forced_bos
        if decoding.no_repeat_ngram:
            options["no_repeat_ngram_size"] = decoding.no_repeat_ngram
        if decoding.repetition_penalty != 1.0:
            options["repetition_penalty"] = decoding.repetition_penalty
        if not self.gate.is_priority_thread():
            options["stopping_criteria"] = _pause_point(self.gate)
        with torch.inference_mode():
            output = self._model.generate(input_ids=input_ids, attention_mask=mask, **options)
        rows: list[list[int]] = output.cpu().tolist()  # the batch's one device-to-host copy
        return [_strip_padding(row, pad_id) for row in rows]

    def __repr__(self) -> str:
        return f"TransformersTranslator({self.model_name!r}, family={self.family.value})"


def _pause_point(gate: PriorityGate) -> Any:
    """A stopping criterion that never stops: after each step it waits out priority calls."""
    from transformers import StoppingCriteriaList

    return StoppingCriteriaList([_pause_criterion_class()(gate)])


@functools.cache
def _pause_criterion_class() -> type:
    import torch
    from transformers import StoppingCriteria

    class PausePoint(StoppingCriteria):
        def __init__(self, gate: PriorityGate) -> None:
            self.gate = gate

        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            self.gate.wait()
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return PausePoint


def _strip_padding(ids: list[int], pad_id: int | None) -> list[int]:
    """Drop the trailing pads ``generate`` adds to sequences that finished early."""
    end = len(ids)
    while end > 1 and ids[end - 1] == pad_id:
        end -= 1
    return ids[:end]


TORCH_DTYPES = ("float32", "float16", "bfloat16")


def _options(settings: Settings) -> dict[str, Hashable]:
    dtype = "auto" if settings.compute_type == "default" else settings.compute_type
    if dtype not in (devices.AUTO, *TORCH_DTYPES):
        raise ModelUnavailable(
            f"DRAGOMAN_COMPUTE_TYPE={settings.compute_type!r} is no weight type of the "
            f"transformers engine; choose default or one of {', '.join(TORCH_DTYPES)}.",
            model=settings.translation_model,
        )
    return {
        "max_batch_tokens": settings.translation_max_batch_tokens,
        "gpu_batch_tokens": settings.translation_gpu_batch_tokens,
        "num_beams": settings.translation_beams,
        "threads": settings.threads or None,
        "dtype": dtype,
    }


BACKEND = Backend(
    name="transformers",
    create=TransformersTranslator,
    options=_options,
    languages=model_languages,
    runs=lambda path: False,  # auto runs a CTranslate2 model when there is one
    libraries=("transformers",),
)

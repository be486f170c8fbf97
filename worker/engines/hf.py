"""The transformers translation engine: NLLB-200, M2M100 and Marian (OPUS-MT) checkpoints.

Loads a Hugging Face id or a local directory with ``AutoTokenizer`` and
``AutoModelForSeq2SeqLM`` and translates lists of sentences in length-sorted batches.
Loading never reaches for the network when the model is already in the local cache,
and every loading failure becomes ``ModelUnavailable`` with a message that says how to
get the model onto the machine.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.errors import ModelUnavailable, TextTooLong
from worker.engines.base import (
    STRICT_BEAMS,
    STRICT_NO_REPEAT_NGRAM,
    STRICT_REPETITION_PENALTY,
    Segment,
    translate_by_pair,
)
from worker.engines.languages import (
    LanguageMap,
    m2m100_language_map,
    marian_language_map,
    nllb_language_map,
)
from worker.engines.libraries import import_libraries, model_loading
from worker.runtime import metrics

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 16
# Tokenizers without a limit report this sentinel (about 1e30) as model_max_length.
_NO_LIMIT = 1_000_000
_MARIAN_SACREMOSES = "Recommended: pip install sacremoses"


class Family(StrEnum):
    """Model families this engine knows how to steer between languages."""

    NLLB = "nllb"
    M2M100 = "m2m100"
    MARIAN = "marian"


def _load_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this model cannot be loaded here" rather than a bug.

    Offline misses and bad ids surface as ``OSError`` (huggingface_hub's errors derive
    from it), a directory without a usable config or tokenizer as ``ValueError``, torn
    or mismatched weights as ``RuntimeError`` or ``SafetensorError``.
    """
    from safetensors import SafetensorError

    return (OSError, ValueError, RuntimeError, KeyError, ImportError, SafetensorError)


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or os.path.isabs(name) or "\\" in name


def _hub_offline() -> bool:
    from huggingface_hub import constants

    # huggingface_hub reads the variable once at import; honour a later setting too.
    from_env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    return bool(constants.HF_HUB_OFFLINE) or from_env


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _unavailable(name: str, local: bool, exc: BaseException | None = None) -> ModelUnavailable:
    reason = f" ({_first_line(exc)})" if exc is not None else ""
    if local:
        message = (
            f"Translation model directory {name!r} cannot be loaded{reason}. It must hold "
            "the model's config.json, weights and tokenizer files, as written by "
            "`huggingface-cli download NAME --local-dir DIR` or save_pretrained()."
        )
    else:
        message = (
            f"Translation model {name!r} is not in the local Hugging Face cache and could "
            f"not be downloaded{reason}. On a machine with network access run "
            f"`huggingface-cli download {name}` and copy the cache (HF_HOME) here, or set "
            "DRAGOMAN_TRANSLATION_MODEL to a local directory holding the model."
        )
    return ModelUnavailable(message, model=name)


def _from_pretrained(factory: Any, source: str, local: bool, local_only: bool, **kw: Any) -> Any:
    """``factory.from_pretrained`` that tries the local cache before the network.

    A cached model then never waits on the hub, and an offline machine fails at once.
    """
    if local:
        return factory.from_pretrained(source, **kw)
    try:
        return factory.from_pretrained(source, local_files_only=True, **kw)
    except OSError:
        if local_only or _hub_offline():
            raise
    return factory.from_pretrained(source, **kw)


def detect_family(model_type: str, tokenizer: Any) -> Family:
    """The family of a loaded checkpoint from its config's model type and tokenizer."""
    tokenizer_class = type(tokenizer).__name__
    if model_type == "m2m_100":
        return Family.NLLB if tokenizer_class.startswith("Nllb") else Family.M2M100
    if model_type == "marian":
        return Family.MARIAN
    raise ValueError(f"unsupported model type {model_type!r} with {tokenizer_class}")


def language_map_for(family: Family, tokenizer: Any) -> LanguageMap:
    """Build the model's language map from its tokenizer's language tokens."""
    if family is Family.NLLB:
        return nllb_language_map(tokenizer.added_tokens_encoder)
    if family is Family.M2M100:
        return m2m100_language_map(tokenizer.lang_token_to_id)
    return marian_language_map(
        getattr(tokenizer, "source_lang", None),
        getattr(tokenizer, "target_lang", None),
        tokenizer.get_vocab(),
    )


def model_languages(name: str) -> list[str]:
    """Languages of model ``name`` read from its config and tokenizer, without the weights.

    Cheap enough for a worker to announce its model's languages before any job loads it.

    Raises:
        ModelUnavailable: The model's files are not on this machine and cannot be fetched.
    """
    import_libraries("transformers")
    from transformers import AutoConfig, AutoTokenizer

    local = _looks_like_path(name) or Path(name).expanduser().is_dir()
    source = str(Path(name).expanduser()) if local else name
    if local and not Path(source).is_dir():
        raise _unavailable(name, local)
    try:
        with model_loading:
            tokenizer = _from_pretrained(AutoTokenizer, source, local, False)
            config = _from_pretrained(AutoConfig, source, local, False)
        family = detect_family(config.model_type, tokenizer)
    except _load_errors() as exc:
        raise _unavailable(name, local, exc) from exc
    return language_map_for(family, tokenizer).languages()


class TransformersTranslator:
    """A seq2seq translation model run with PyTorch through transformers.

    Args:
        name: Hugging Face model id (``facebook/nllb-200-distilled-600M``) or a local
            directory holding a saved model.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        batch_size: Sentences per ``generate`` call.
        num_beams: Beam width; 1 is greedy search, the fastest.
        max_input_tokens: Longest accepted sentence in tokens; defaults to the model's
            limit. Longer sentences raise ``TextTooLong`` rather than being truncated.
        no_repeat_ngram_size: Forbid repeating n-grams of this size (0: off).
        repetition_penalty: Penalty for tokens already generated (1.0: off).
        threads: ``torch.set_num_threads`` value (process-wide); None leaves it alone.
        dtype: Torch dtype name for the weights (``float32``, ``float16``, ``bfloat16``).
        local_files_only: Never contact the hub, even when the cache misses.
    """

    def __init__(
        self,
        name: str,
        device: str = "cpu",
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        num_beams: int = 1,
        max_input_tokens: int | None = None,
        no_repeat_ngram_size: int = 0,
        repetition_penalty: float = 1.0,
        threads: int | None = None,
        dtype: str = "float32",
        local_files_only: bool = False,
    ) -> None:
        if batch_size < 1 or num_beams < 1:
            raise ValueError("batch_size and num_beams must be at least 1")
        self.model_name = name
        self.device = device
        self.batch_size = batch_size
        self.num_beams = num_beams
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.repetition_penalty = repetition_penalty
        # The tokenizer's source language is mutable state; one caller at a time.
        self._tokenizer_lock = threading.Lock()
        # Strict retries change decoding settings for one call at a time.
        self._decoding_lock = threading.Lock()
        with model_loading:
            self._tokenizer, self._model = self._load(
                name, device, dtype, threads, local_files_only
            )
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
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelUnavailable(
                f"Device {device!r} was requested for {name!r} but CUDA is not available",
                model=name,
            )
        torch_dtype = getattr(torch, dtype, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise ValueError(f"unknown torch dtype {dtype!r}")

        local = _looks_like_path(name) or Path(name).expanduser().is_dir()
        source = str(Path(name).expanduser()) if local else name
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
                tokenizer = _from_pretrained(AutoTokenizer, source, local, local_only)
            self._relay_warnings(caught)
            model = self._load_model(source, local, local_only, torch_dtype)
            family = detect_family(model.config.model_type, tokenizer)
        except ModelUnavailable:
            raise
        except _load_errors() as exc:
            raise _unavailable(name, local, exc) from exc
        log.info("loaded %s model %s on %s", family.value, name, device)
        return tokenizer, model.to(device).eval()

    @staticmethod
    def _load_model(source: str, local: bool, local_only: bool, dtype: torch.dtype) -> Any:
        from transformers import AutoModelForSeq2SeqLM

        return _from_pretrained(AutoModelForSeq2SeqLM, source, local, local_only, dtype=dtype)

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

    # Translator protocol

    def languages(self) -> list[str]:
        """ISO codes this model can translate from and into, sorted."""
        return self.language_map.languages()

    def supports(self, source: str, target: str) -> bool:
        """Whether the model can translate from ``source`` into ``target``."""
        return self.language_map.supports(source, target)

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        """Translate ``sentences`` from ``source`` into ``target``; one output per input.

        Raises:
            UnsupportedLanguage: The model cannot translate this pair.
            TextTooLong: A sentence exceeds ``max_input_tokens`` tokens.
        """
        generated = self.generate_ids(sentences, source, target)
        # Drop the decoder start and forced language token: M2M100's language tokens
        # are not "special" to its tokenizer and would otherwise end up in the text.
        skip = 1 if self._forced_bos(self.language_map.target_code(target)) is None else 2
        decoded = self._tokenizer.batch_decode(
            [ids[skip:] for ids in generated if ids], skip_special_tokens=True
        )
        texts = iter(decoded)
        return [next(texts).strip() if ids else "" for ids in generated]

    def translate_segments(self, segments: list[Segment]) -> list[str]:
        """Translate segments of mixed language pairs, one generate call per pair and batch."""
        return translate_by_pair(self, segments)

    def translate_strict(self, sentences: list[str], source: str, target: str) -> list[str]:
        """``translate`` with the stricter decoding used to retry flagged output."""
        saved = (self.num_beams, self.repetition_penalty, self.no_repeat_ngram_size)
        with self._decoding_lock:
            self.num_beams = max(self.num_beams, STRICT_BEAMS)
            self.repetition_penalty = STRICT_REPETITION_PENALTY
            self.no_repeat_ngram_size = STRICT_NO_REPEAT_NGRAM
            try:
                return self.translate(sentences, source, target)
            finally:
                self.num_beams, self.repetition_penalty, self.no_repeat_ngram_size = saved

    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        target = next(iter(self.language_map.targets))
        return [len(ids) for ids in self.encode(texts, source, target)]

    def check_segments(self, segments: list[Segment]) -> None:
        """Raise ``UnsupportedLanguage`` or ``TextTooLong`` before any work is queued."""
        groups: dict[tuple[str, str], list[str]] = {}
        for segment in segments:
            groups.setdefault((segment.source, segment.target), []).append(segment.text)
        for (source, target), texts in groups.items():
            for index, ids in enumerate(self.encode(texts, source, target)):
                if len(ids) > self.max_input_tokens:
                    raise TextTooLong(
                        f"A sentence is {len(ids)} tokens long; {self.model_name} accepts at "
                        f"most {self.max_input_tokens}: {texts[index][:80]!r}...",
                        tokens=len(ids),
                        limit=self.max_input_tokens,
                    )

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
        encoded = self.encode(sentences, source, target)
        for index, ids in enumerate(encoded):
            if len(ids) > self.max_input_tokens:
                raise TextTooLong(
                    f"Sentence {index} is {len(ids)} tokens long; {self.model_name} "
                    f"accepts at most {self.max_input_tokens}",
                    sentence=index,
                    tokens=len(ids),
                    limit=self.max_input_tokens,
                )
        results: list[list[int]] = [[] for _ in sentences]
        todo = [i for i, ids in enumerate(encoded) if ids]
        # Longest first: similar lengths share a batch, so little padding is computed.
        todo.sort(key=lambda i: -len(encoded[i]))
        forced = self._forced_bos(self.language_map.target_code(target))
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            outputs = self._generate([encoded[i] for i in chunk], forced)
            metrics.record_batch(
                len(chunk), sum(len(encoded[i]) for i in chunk), sum(len(o) for o in outputs)
            )
            for i, ids in zip(chunk, outputs, strict=True):
                # Cut each row at its own bound so that a sentence's translation does not
                # depend on which longer sentences happened to share its batch.
                results[i] = ids[: self._max_length(len(encoded[i]))]
        return results

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

    def _generate(self, batch: list[list[int]], forced_bos: int | None) -> list[list[int]]:
        import torch

        pad_id = self._tokenizer.pad_token_id
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[row, : len(ids)] = 1
        options: dict[str, Any] = {
            "num_beams": self.num_beams,
            "do_sample": False,
            "max_length": self._max_length(width),
        }
        if forced_bos is not None:
            options["forced_bos_token_id"] = forced_bos
        if self.no_repeat_ngram_size:
            options["no_repeat_ngram_size"] = self.no_repeat_ngram_size
        if self.repetition_penalty != 1.0:
            options["repetition_penalty"] = self.repetition_penalty
        with torch.inference_mode():
            output = self._model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=mask.to(self.device),
                **options,
            )
        rows: list[list[int]] = output.cpu().tolist()
        return [_strip_padding(row, pad_id) for row in rows]

    def __repr__(self) -> str:
        return f"TransformersTranslator({self.model_name!r}, family={self.family.value})"


def _strip_padding(ids: list[int], pad_id: int | None) -> list[int]:
    """Drop the trailing pads ``generate`` adds to sequences that finished early."""
    end = len(ids)
    while end > 1 and ids[end - 1] == pad_id:
        end -= 1
    return ids[:end]

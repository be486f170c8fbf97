"""Hugging Face checkpoints: where one is, which family it is, its languages, its errors.

Shared by both engines and the model store: a model is a Hub id or a local folder;
loading tries the local cache before the network (a cached model never waits on the
Hub, an offline machine fails at once); every failure that means "this model cannot be
loaded here" becomes ``ModelUnavailable`` with a message that says how to get the model
onto the machine.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from service.errors import ModelUnavailable
from worker.engines.languages import (
    LanguageMap,
    m2m100_language_map,
    marian_language_map,
    nllb_language_map,
)
from worker.engines.libraries import import_libraries, model_loading


class Family(StrEnum):
    """Model families this engine knows how to steer between languages."""

    NLLB = "nllb"
    M2M100 = "m2m100"
    MARIAN = "marian"


def load_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this model cannot be loaded here" rather than a bug.

    Offline misses and bad ids surface as ``OSError`` (huggingface_hub's errors derive
    from it), a directory without a usable config or tokenizer as ``ValueError``, torn
    or mismatched weights as ``RuntimeError`` or ``SafetensorError``.
    """
    from safetensors import SafetensorError

    return (OSError, ValueError, RuntimeError, KeyError, ImportError, SafetensorError)


def looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or os.path.isabs(name) or "\\" in name


def locate(name: str) -> tuple[bool, str]:
    """``(is a local folder, where to load it from)`` for a Hub id or a folder."""
    local = looks_like_path(name) or Path(name).expanduser().is_dir()
    return local, str(Path(name).expanduser()) if local else name


def hub_offline() -> bool:
    from huggingface_hub import constants

    # huggingface_hub reads the variable once at import; honour a later setting too.
    from_env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    return bool(constants.HF_HUB_OFFLINE) or from_env


def first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def unavailable(name: str, local: bool, exc: BaseException | None = None) -> ModelUnavailable:
    reason = f" ({first_line(exc)})" if exc is not None else ""
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


def from_pretrained(factory: Any, source: str, local: bool, local_only: bool, **kw: Any) -> Any:
    """``factory.from_pretrained`` that tries the local cache before the network.

    A cached model then never waits on the hub, and an offline machine fails at once.
    """
    if local:
        return factory.from_pretrained(source, **kw)
    try:
        return factory.from_pretrained(source, local_files_only=True, **kw)
    except OSError:
        if local_only or hub_offline():
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

    local, source = locate(name)
    if local and not Path(source).is_dir():
        raise unavailable(name, local)
    try:
        with model_loading:
            tokenizer = from_pretrained(AutoTokenizer, source, local, False)
            config = from_pretrained(AutoConfig, source, local, False)
        family = detect_family(config.model_type, tokenizer)
    except load_errors() as exc:
        raise unavailable(name, local, exc) from exc
    return language_map_for(family, tokenizer).languages()

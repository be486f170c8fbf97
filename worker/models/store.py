"""The local model store: converted models by Hub id, their facts, and when to pull one.

Each model lives in ``models_dir/<owner>--<name>`` (``facebook/nllb-200-distilled-600M``
becomes ``facebook--nllb-200-distilled-600M``) as a CTranslate2 directory whose
``dragoman.json`` records the Hub id, the commit it was pulled at, its licence and its
languages (``worker.models.pull`` puts them there). Hidden folders are never models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from service.errors import InvalidInput
from worker.engines.convert import TOKENIZER_FILES, is_ctranslate2_dir, read_metadata

# CTranslate2's weight types (ctranslate2.specs.model_spec.ACCEPTED_MODEL_TYPES); checked
# before downloading so a typo does not cost a multi-gigabyte download.
QUANTIZATIONS = (
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)
# Files a translation checkpoint needs besides its weights. README.md carries the licence.
CHECKPOINT_FILES = frozenset({"config.json", "README.md", *TOKENIZER_FILES})
_NON_COMMERCIAL = re.compile(r"(^|-)nc(-|$)")


@dataclass(frozen=True)
class InstalledModel:
    """A converted model in the store, as described by its ``dragoman.json``."""

    name: str
    path: Path
    size_bytes: int
    languages: tuple[str, ...]
    licence: str | None
    quantization: str | None
    source: str | None
    revision: str | None


def store_path(models_dir: Path, name: str) -> Path:
    """The store folder of Hub id ``name``.

    Raises:
        InvalidInput: ``name`` is not a Hugging Face model id (``owner/name`` or ``name``).
    """
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]

    try:
        # The Hub forbids "--" and ".." in ids, so the folder name maps back to one id
        # and cannot climb out of the store.
        validate_repo_id(name)
    except HFValidationError as exc:
        raise InvalidInput(
            f"{name!r} is not a Hugging Face model id such as 'facebook/nllb-200-distilled-600M'",
            model=name,
        ) from exc
    return Path(models_dir) / name.replace("/", "--")


def resolve(name: str, models_dir: Path) -> Path | None:
    """The installed CTranslate2 directory of Hub id ``name``, or None if not pulled.

    A name that is not a Hub id (a local path, say) is never in the store: None.
    """
    try:
        path = store_path(models_dir, name)
    except InvalidInput:
        return None
    return path if is_ctranslate2_dir(path) else None


def installed(models_dir: Path) -> list[InstalledModel]:
    """The models in the store, sorted by name."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    models = [
        describe(folder)
        for folder in root.iterdir()
        if not folder.name.startswith(".") and is_ctranslate2_dir(folder)
    ]
    return sorted(models, key=lambda model: model.name)


def licence_note(licence: str | None) -> str | None:
    """A warning to show with a model whose licence forbids commercial use, else None."""
    if licence and _NON_COMMERCIAL.search(licence.strip().lower()):
        return (
            f"The {licence} licence forbids commercial use: a newsroom that sells its "
            "content or runs ads may not use this model's translations."
        )
    return None


def describe(path: Path) -> InstalledModel:
    meta = read_metadata(path)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return InstalledModel(
        name=meta.get("source") or path.name.replace("--", "/"),
        path=path,
        size_bytes=size,
        languages=tuple(meta.get("languages") or ()),
        licence=meta.get("licence"),
        quantization=meta.get("quantization"),
        source=meta.get("source"),
        revision=meta.get("revision"),
    )

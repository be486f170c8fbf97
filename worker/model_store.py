"""The local model store: Hugging Face checkpoints pulled and converted to CTranslate2.

Each model lives in ``models_dir/<owner>--<name>`` (``facebook/nllb-200-distilled-600M``
becomes ``facebook--nllb-200-distilled-600M``) as a CTranslate2 directory whose
``dragoman.json`` records the Hub id, the commit it was pulled at, its licence and its
languages. The languages are read from the transformers checkpoint at pull time: the
converted directory's ``config.json`` is CTranslate2's and no longer describes the
tokenizer's family.

A pull downloads into a hidden ``.pull-*`` folder of the store (same filesystem as the
destination, so large checkpoints do not fill ``/tmp``) and removes it afterwards;
hidden folders are never listed as models.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.errors import InvalidInput, ModelUnavailable
from worker.engines.convert import (
    TOKENIZER_FILES,
    convert_to_ctranslate2,
    is_ctranslate2_dir,
    read_metadata,
)

if TYPE_CHECKING:
    from huggingface_hub.hf_api import ModelInfo

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
    from huggingface_hub.utils import validate_repo_id

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
        _describe(folder)
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


def pull(
    name: str,
    models_dir: Path,
    *,
    revision: str | None = None,
    quantization: str = "int8",
    progress: bool = True,
) -> InstalledModel:
    """Download Hub model ``name``, convert it to CTranslate2 and install it in the store.

    Args:
        name: Hugging Face model id, e.g. ``facebook/nllb-200-distilled-600M``.
        models_dir: The store (``settings.effective_models_dir``).
        revision: Branch, tag or commit to pull; the default branch if None.
        quantization: CTranslate2 weight type (``int8`` suits CPUs).
        progress: Show download progress bars (on a terminal).

    Raises:
        InvalidInput: ``name`` is not a model id or ``quantization`` is unknown.
        ModelUnavailable: The Hub cannot be reached or refuses the model, or the
            checkpoint is not a translation model this service can convert.
    """
    destination = store_path(models_dir, name)
    if quantization not in QUANTIZATIONS:
        raise InvalidInput(
            f"Unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}",
            quantization=quantization,
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".pull-") as tmp:
        checkpoint = Path(tmp) / "checkpoint"
        info = _download(name, revision, checkpoint, Path(tmp) / "cache", progress)
        languages = _languages(name, checkpoint)
        metadata = {
            "source": name,
            "revision": info.sha,
            "licence": _licence(checkpoint, info),
            "languages": languages,
            "pulled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            convert_to_ctranslate2(
                checkpoint, destination, quantization=quantization, metadata=metadata
            )
        except (ValueError, KeyError, RuntimeError, NotImplementedError, OSError) as exc:
            raise ModelUnavailable(
                f"Model {name!r} was downloaded but could not be converted to CTranslate2 "
                f"({_first_line(exc)})",
                model=name,
            ) from exc
    return _describe(destination)


def _download(
    name: str, revision: str | None, checkpoint: Path, cache: Path, progress: bool
) -> ModelInfo:
    """Fetch the checkpoint's files into ``checkpoint``; the Hub's answer about the model."""
    from huggingface_hub import HfApi, snapshot_download

    try:
        info = HfApi().model_info(name, revision=revision)
        files = _files_to_fetch(name, [s.rfilename for s in info.siblings or []])
        # Pinning the commit the model info named keeps the files consistent with it even
        # if the branch moves during the download.
        snapshot_download(
            name,
            revision=info.sha,
            local_dir=checkpoint,
            cache_dir=cache,
            allow_patterns=files,
            tqdm_class=None if progress else _quiet_tqdm(),
        )
    except _hub_errors() as exc:
        raise _hub_unavailable(name, revision, exc) from exc
    return info


def _files_to_fetch(name: str, repo_files: list[str]) -> list[str]:
    """The repository files a conversion needs: config, tokenizer, card and one weight format.

    Safetensors are preferred; ``pytorch_model.bin`` (a pickle) only when a checkpoint
    has nothing else. Files in sub-folders (ONNX exports, other variants) are skipped.
    """
    top = [f for f in repo_files if "/" not in f]
    safetensors = [
        f for f in top if f.endswith(".safetensors") or f.endswith(".safetensors.index.json")
    ]
    pickles = [
        f for f in top if re.fullmatch(r"pytorch_model(-\d+-of-\d+)?\.bin(\.index\.json)?", f)
    ]
    weights = safetensors if any(f.endswith(".safetensors") for f in safetensors) else pickles
    if "config.json" not in top or not weights:
        raise ModelUnavailable(
            f"Model {name!r} on the Hugging Face Hub has no transformers checkpoint "
            "(config.json with safetensors or pytorch_model.bin weights) to convert",
            model=name,
        )
    other = [f for f in top if f in CHECKPOINT_FILES or f.endswith(".spm")]
    return sorted({*other, *weights})


def _languages(name: str, checkpoint: Path) -> list[str]:
    from worker.engines.hf import model_languages

    try:
        return model_languages(str(checkpoint))
    except ModelUnavailable as exc:
        # The engine's message names the temporary folder; the user knows the model by id.
        raise ModelUnavailable(
            f"Model {name!r} is not a translation model this service supports "
            "(NLLB-200, M2M100 or Marian/OPUS-MT)",
            model=name,
        ) from exc


def _licence(checkpoint: Path, info: ModelInfo) -> str | None:
    """The licence in the model card's front matter, else the Hub's card data."""
    from huggingface_hub.repocard import metadata_load

    readme = checkpoint / "README.md"
    card: dict[str, Any] = {}
    if readme.is_file():
        try:
            card = metadata_load(readme) or {}
        except ValueError:  # malformed YAML front matter: fall back to the Hub's view
            card = {}
    if not card and info.card_data is not None:
        card = info.card_data.to_dict()
    licence = card.get("license")
    if licence == "other" and card.get("license_name"):
        licence = card["license_name"]
    return str(licence) if licence else None


def _describe(path: Path) -> InstalledModel:
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


def _hub_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the Hub could not provide this model".

    huggingface_hub's HTTP errors derive from ``OSError``; a refused connection or a
    timeout surfaces as the error of its HTTP client (httpx2 in huggingface_hub 2.x).
    """
    import httpx2

    return (OSError, ValueError, httpx2.HTTPError)


def _hub_unavailable(name: str, revision: str | None, exc: BaseException) -> ModelUnavailable:
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = constants.ENDPOINT
    if isinstance(exc, OfflineModeIsEnabled) or isinstance(exc.__cause__, OfflineModeIsEnabled):
        message = (
            f"Cannot pull {name!r}: Hugging Face Hub offline mode is on (HF_HUB_OFFLINE). "
            "Unset it on a machine with network access, or copy a pulled model store here."
        )
    elif isinstance(exc, GatedRepoError):
        message = (
            f"Model {name!r} is gated: accept its conditions on {endpoint}/{name} and set "
            "HF_TOKEN to a token of that account."
        )
    elif isinstance(exc, RevisionNotFoundError):
        message = f"Model {name!r} has no revision {revision!r} on {endpoint}."
    elif isinstance(exc, RepositoryNotFoundError):
        message = (
            f"Model {name!r} was not found on {endpoint}. Check the id (for example "
            "'facebook/nllb-200-distilled-600M'); a private model also needs HF_TOKEN."
        )
    else:
        message = f"Cannot download model {name!r} from {endpoint} ({_first_line(exc)})."
    return ModelUnavailable(message, model=name)


def _first_line(exc: BaseException, limit: int = 200) -> str:
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _quiet_tqdm() -> type[Any]:
    from huggingface_hub.utils import tqdm

    class QuietTqdm(tqdm):
        """huggingface_hub's progress bar, always hidden."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return QuietTqdm

"""Pulling a model: download a Hub checkpoint (or take it from the local Hugging Face
cache), convert it to CTranslate2 and install it in the model store.

A pull downloads into a hidden ``.pull-*`` folder of the store (same filesystem as the
destination, so large checkpoints do not fill ``/tmp``) and removes it afterwards. The
languages are read from the transformers checkpoint at pull time: the converted
directory's ``config.json`` is CTranslate2's and no longer describes the tokenizer.
One pull of a model at a time per store, across processes (a file lock).
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.errors import InvalidInput, ModelUnavailable
from worker.engines.checkpoints import first_line, hub_offline
from worker.engines.convert import TOKENIZER_FILES, convert_to_ctranslate2, is_ctranslate2_dir
from worker.models.store import (
    CHECKPOINT_FILES,
    QUANTIZATIONS,
    InstalledModel,
    describe,
    resolve,
    store_path,
)

if TYPE_CHECKING:
    from huggingface_hub.hf_api import ModelInfo

log = logging.getLogger("dragoman.models")


def pull(
    name: str,
    models_dir: Path,
    *,
    revision: str | None = None,
    quantization: str = "int8",
    progress: bool | str = True,
    if_missing: bool = False,
) -> InstalledModel:
    """Download Hub model ``name``, convert it to CTranslate2 and install it in the store.

    One pull of a model at a time per store, across processes: a second caller waits
    for the first and then finds the model installed.

    Args:
        name: Hugging Face model id, e.g. ``facebook/nllb-200-distilled-600M``.
        models_dir: The store (``settings.effective_models_dir``).
        revision: Branch, tag or commit to pull; the default branch if None.
        quantization: CTranslate2 weight type (``int8`` suits CPUs).
        progress: True shows progress bars (on a terminal), False nothing, ``"log"``
            progress lines in the log (for a service whose output is not a terminal).
        if_missing: Keep a model already installed under that name (what a worker
            pulling at start wants); otherwise pull again and replace it.

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
    with _pull_lock(destination):
        if if_missing and is_ctranslate2_dir(destination):
            return describe(destination)
        return _pull(name, destination, revision, quantization, progress)


def _pull_lock(destination: Path) -> Any:
    from filelock import FileLock

    locks = destination.parent / ".locks"
    locks.mkdir(exist_ok=True)
    return FileLock(str(locks / f"{destination.name}.lock"))


def _pull(
    name: str, destination: Path, revision: str | None, quantization: str, progress: bool | str
) -> InstalledModel:
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".pull-") as tmp:
        cached = cached_checkpoint(name, revision)
        info: ModelInfo | None = None
        sha: str | None
        if cached is not None:
            # Already in the local Hugging Face cache (`huggingface-cli download`): convert
            # it from there, without a download.
            checkpoint, sha = cached, cached.name  # snapshots/<commit>
            log.info("converting %s from the local Hugging Face cache (%s)", name, checkpoint)
        else:
            checkpoint = Path(tmp) / "checkpoint"
            info = _download(name, revision, checkpoint, Path(tmp) / "cache", progress)
            sha = info.sha
        languages = _languages(name, checkpoint)
        metadata = {
            "source": name,
            "revision": sha,
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
                f"({first_line(exc)})",
                model=name,
            ) from exc
    return describe(destination)


def cached_checkpoint(name: str, revision: str | None = None) -> Path | None:
    """The snapshot folder of Hub model ``name`` in the local Hugging Face cache, if whole.

    Whole means a config, weights (safetensors or ``pytorch_model.bin``) and tokenizer
    files; looking never touches the network.
    """
    from huggingface_hub import snapshot_download

    try:
        folder = Path(str(snapshot_download(name, revision=revision, local_files_only=True)))
    except (OSError, ValueError):  # not cached (LocalEntryNotFoundError), or a bad id
        return None
    names = {p.name for p in folder.iterdir()}
    weights = any(
        n.endswith(".safetensors") or re.fullmatch(r"pytorch_model(-\d+-of-\d+)?\.bin", n)
        for n in names
    )
    tokenizer = bool(names & set(TOKENIZER_FILES))
    return folder if "config.json" in names and weights and tokenizer else None


def _download(
    name: str, revision: str | None, checkpoint: Path, cache: Path, progress: bool | str
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
            tqdm_class=_progress_class(name, progress),
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
    from worker.engines.checkpoints import model_languages

    try:
        return model_languages(str(checkpoint))
    except ModelUnavailable as exc:
        # The engine's message names the temporary folder; the user knows the model by id.
        raise ModelUnavailable(
            f"Model {name!r} is not a translation model this service supports "
            "(NLLB-200, M2M100 or Marian/OPUS-MT)",
            model=name,
        ) from exc


def _licence(checkpoint: Path, info: ModelInfo | None) -> str | None:
    """The licence in the model card's front matter, else the Hub's card data."""
    from huggingface_hub.repocard import metadata_load

    readme = checkpoint / "README.md"
    card: dict[str, Any] = {}
    if readme.is_file():
        try:
            card = metadata_load(readme) or {}
        except ValueError:  # malformed YAML front matter: fall back to the Hub's view
            card = {}
    if not card and info is not None and info.card_data is not None:
        card = info.card_data.to_dict()  # type: ignore[no-untyped-call]
    licence = card.get("license")
    if licence == "other" and card.get("license_name"):
        licence = card["license_name"]
    return str(licence) if licence else None


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
        message = f"Cannot download model {name!r} from {endpoint} ({first_line(exc)})."
    return ModelUnavailable(message, model=name)


def _progress_class(name: str, progress: bool | str) -> type[Any] | None:
    if progress == "log":
        return _logging_tqdm(name)
    return None if progress else _quiet_tqdm()


def _logging_tqdm(name: str) -> type[Any]:
    from huggingface_hub.utils import tqdm  # type: ignore[attr-defined]

    class LoggingTqdm(tqdm):
        """huggingface_hub's progress bar as log lines: every 10% or 30 seconds."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
            self._label = str(kwargs.get("desc") or "")
            self._count = 0.0
            self._logged_share = -1
            self._logged_at = 0.0

        def update(self, n: float | None = 1) -> bool | None:
            self._count += n or 0
            total = self.total or 0
            if total and self._label.startswith("Downloading bytes"):
                share = int(100 * min(self._count / total, 1.0)) // 10 * 10
                now = time.monotonic()
                if share > self._logged_share or now - self._logged_at >= 30:
                    self._logged_share, self._logged_at = share, now
                    log.info("pulling %s: %d%% of %.1f MB downloaded", name, share, total / 1e6)
            return None

    return LoggingTqdm


def _quiet_tqdm() -> type[Any]:
    from huggingface_hub.utils import tqdm  # type: ignore[attr-defined]

    class QuietTqdm(tqdm):
        """huggingface_hub's progress bar, always hidden."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

    return QuietTqdm


def needs_pull(name: str, backend: str, models_dir: Path, *, enabled: bool) -> bool:
    """Whether a worker should pull ``name`` into the store before loading it.

    Only a Hugging Face id (not a local folder) that is not installed yet, run by the
    CTranslate2 engine (``auto`` or ``ctranslate2``), with pulling enabled, and either
    the Hub allowed (not ``HF_HUB_OFFLINE``) or the checkpoint in the local cache.
    """
    if not enabled or backend not in ("auto", "ctranslate2"):
        return False
    if name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().exists():
        return False
    try:
        store_path(models_dir, name)
    except InvalidInput:
        return False
    if resolve(name, models_dir) is not None:
        return False
    return not hub_offline() or cached_checkpoint(name) is not None

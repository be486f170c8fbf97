"""The engines this worker can run, and which one runs the configured model.

Each engine module describes itself with a :class:`~worker.engines.base.Backend`;
registering it here is all it takes for ``DRAGOMAN_TRANSLATION_BACKEND`` to accept
its name. ``auto`` runs a CTranslate2 folder, or a Hub id installed in the model store,
with CTranslate2, and anything else with transformers. On a machine whose GPU PyTorch
can use but CTranslate2 cannot (its wheels need CUDA 12's libraries), ``auto`` runs a
Hub id with transformers on the GPU instead of pulling it for CTranslate2 on the CPU.
"""

from __future__ import annotations

from typing import Any

from service.errors import ModelUnavailable
from service.settings import Settings
from worker.engines import ct2, echo, hf
from worker.engines import device as devices
from worker.engines.base import Backend
from worker.engines.libraries import Group
from worker.models.pull import needs_pull
from worker.models.store import resolve as installed_path

BACKENDS: dict[str, Backend] = {
    backend.name: backend for backend in (ct2.BACKEND, hf.BACKEND, echo.BACKEND)
}
AUTO = "auto"
# What ``auto`` picks for a model no engine claims to run as it is.
FALLBACK = hf.BACKEND.name


def resolve(settings: Settings) -> tuple[str, Backend]:
    """``(model path or id, backend)`` for the configured translation model.

    Raises:
        ModelUnavailable: ``DRAGOMAN_TRANSLATION_BACKEND`` names no registered engine.
    """
    name, choice = settings.translation_model, settings.translation_backend
    if choice != AUTO and choice not in BACKENDS:
        raise ModelUnavailable(
            f"DRAGOMAN_TRANSLATION_BACKEND={choice!r} is no engine of this worker; choose "
            f"{AUTO} or one of {', '.join(sorted(BACKENDS))}.",
            model=name,
        )
    if choice == echo.BACKEND.name:
        return "echo", echo.BACKEND
    for backend in BACKENDS.values():
        if backend.runs(name) and choice in (AUTO, backend.name):
            return name, backend
    if choice == AUTO and gpu_needs_transformers(settings):
        return name, hf.BACKEND
    installed = installed_path(name, settings.effective_models_dir)
    if installed is not None and choice in (AUTO, ct2.BACKEND.name):
        return str(installed), ct2.BACKEND
    return name, BACKENDS[FALLBACK if choice == AUTO else choice]


def gpu_needs_transformers(settings: Settings) -> bool:
    """Whether ``auto`` should run a Hub id with transformers: the device allows a GPU,
    PyTorch can use one and CTranslate2 cannot. Imports nothing where no GPU is present."""
    if settings.device == "cpu" or not devices.gpu_present():
        return False
    return not devices.ctranslate2_has_cuda() and devices.torch_device(devices.AUTO) == "cuda"


def backend_choice(settings: Settings) -> str:
    """The engine the settings ask for, ``auto`` made definite where the GPU decides it."""
    choice = settings.translation_backend
    if choice == AUTO and gpu_needs_transformers(settings):
        return hf.BACKEND.name
    return choice


def libraries_for(settings: Settings) -> list[Group]:
    """The library groups the configured models need (imported before the worker's threads)."""
    _, backend = resolve(settings)
    groups: set[Group] = set(backend.libraries)
    if settings.summary_model != "extractive" or needs_pull(
        settings.translation_model,
        backend_choice(settings),
        settings.effective_models_dir,
        enabled=settings.auto_pull,
    ):
        groups |= {"transformers", "ctranslate2"}  # a model conversion needs both
    return sorted(groups)


def model_languages(settings: Settings) -> list[str]:
    """Languages of the configured model, read without loading its weights."""
    name, backend = resolve(settings)
    return backend.languages(name)


def describe_model(settings: Settings) -> dict[str, Any]:
    """Which engine runs the configured model, on what (before it is loaded)."""
    name, backend = resolve(settings)
    return {"engine": backend.name, "device": settings.device, "path": name}

"""Per-process cache of loaded models.

Models are loaded lazily, on first use, once per worker process, and kept for the
life of the process. Each entry is keyed by ``(kind, name, backend, device, options)``;
two threads asking for the same model wait for one load, and loads run one at a time
(``model_loading``: transformers' loading is not thread-safe). A failed load is not
cached: the operator can download the model and the next task retries.

Celery's prefork pool forks children from a parent that may already have imported
this module; a registry (and its locks) must never cross a fork, so both the
``registry()`` accessor and the registry itself check ``os.getpid()``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import Any, cast

from service.errors import ModelUnavailable
from service.settings import Settings
from worker.engines.base import Summarizer, Translator
from worker.engines.libraries import model_loading
from worker.models.backends import BACKENDS, resolve

TRANSLATOR = "translator"
SUMMARIZER = "summarizer"

Factory = Callable[..., Any]
"""``factory(name, device, **options)`` returns a loaded model or raises."""

Key = tuple[str, str, str, str, tuple[tuple[str, Hashable], ...]]


class ModelRegistry:
    """Loads models on first request and returns the same object afterwards."""

    def __init__(self) -> None:
        # Translators load through the registered engines (worker.models.backends);
        # these are the loaders registered here on top of them.
        self._loaders: dict[tuple[str, str], Factory] = {}
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._guard = threading.Lock()
        self._locks: dict[Key, threading.Lock] = {}
        self._models: dict[Key, Any] = {}

    def _check_process(self) -> None:
        # After a fork the inherited locks may be held by threads that no longer
        # exist and the models share memory with the parent: start afresh.
        if self._pid != os.getpid():
            self._reset()

    def register_loader(self, kind: str, backend: str, factory: Factory) -> None:
        """Use ``factory(name, device, **options)`` to load ``kind`` models for ``backend``."""
        self._loaders[(kind, backend)] = factory

    def backends(self, kind: str) -> list[str]:
        """Backends that can load models of ``kind``, sorted."""
        return sorted(self._factories(kind))

    def _factories(self, kind: str) -> dict[str, Factory]:
        found: dict[str, Factory] = {}
        if kind == TRANSLATOR:
            found.update({name: backend.create for name, backend in BACKENDS.items()})
        found.update({backend: f for (k, backend), f in self._loaders.items() if k == kind})
        return found

    def get(
        self,
        kind: str,
        name: str,
        backend: str = "transformers",
        device: str = "cpu",
        **options: Any,
    ) -> Any:
        """The ``kind`` model ``name``, loaded on first call; failures are not cached.

        Raises:
            ModelUnavailable: No loader for ``(kind, backend)``, or the loader failed so.
        """
        self._check_process()
        factory = self._factories(kind).get(backend)
        if factory is None:
            raise ModelUnavailable(
                f"No {kind} backend named {backend!r}; available: "
                + (", ".join(self.backends(kind)) or "none"),
                model=name,
            )
        key: Key = (kind, name, backend, device, tuple(sorted(options.items())))
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._models:
                return self._models[key]
            with model_loading:
                model = factory(name, device, **options)
            self._models[key] = model
            return model

    def get_translator(
        self, name: str, backend: str = "transformers", device: str = "cpu", **options: Any
    ) -> Translator:
        """The translation model ``name`` for ``backend`` on ``device``."""
        return cast(Translator, self.get(TRANSLATOR, name, backend, device, **options))

    def get_summarizer(
        self,
        name: str,
        device: str = "cpu",
        backend: str = "transformers",
        create: Factory | None = None,
        **options: Any,
    ) -> Summarizer:
        """The summarisation model ``name`` on ``device``.

        ``create`` loads it when no loader is registered for ``backend`` yet (the
        pipeline owns its summarisers; this registry only keeps them loaded).
        """
        if create is not None:
            with self._guard:
                self._loaders.setdefault((SUMMARIZER, backend), create)
        return cast(Summarizer, self.get(SUMMARIZER, name, backend, device, **options))

    def loaded(self) -> list[Key]:
        """Keys of the models loaded in this process."""
        self._check_process()
        with self._guard:
            return list(self._models)

    def clear(self) -> None:
        """Forget every loaded model (they are freed once no caller holds them)."""
        self._check_process()
        with self._guard:
            self._models.clear()
            self._locks.clear()


_registry: ModelRegistry | None = None
_registry_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # The parent's lock may have been held by one of its threads at fork time.
    global _registry, _registry_lock
    _registry = None
    _registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def registry() -> ModelRegistry:
    """This process's registry, created on first call (never at import, never inherited)."""
    global _registry
    current = _registry
    if current is not None and current._pid == os.getpid():
        return current
    with _registry_lock:
        if _registry is None or _registry._pid != os.getpid():
            _registry = ModelRegistry()
        return _registry


def load_model(settings: Settings) -> Translator:
    """Load (once per process, through the registry) the configured translation model."""
    name, backend = resolve(settings)
    options = backend.options(settings)
    return registry().get_translator(name, backend=backend.name, device=settings.device, **options)

"""The worker's translation model, made ready in the background once the worker is up.

A :class:`ModelLoader` thread pulls the configured model into the model store when
it is a Hugging Face id not installed yet (``DRAGOMAN_AUTO_PULL``), reads its
languages, and loads it, so the first jobs do not wait for it on their own. Its state
(``pulling``, ``loading``, ``ready``, ``unavailable`` with the reason) goes out with
the worker's heartbeat, where ``/readyz`` and ``/v1/languages`` read it. Jobs that
arrive meanwhile wait for the pull to end; if it failed they fail at once with
``model_unavailable``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from service.errors import ModelUnavailable
from service.settings import Settings
from worker import metrics

log = logging.getLogger("dragoman.models")


class ModelState(StrEnum):
    PENDING = "pending"
    PULLING = "pulling"
    LOADING = "loading"
    READY = "ready"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ModelReport:
    """What a worker says about its model in its heartbeat."""

    state: ModelState
    languages: list[str] | None = None
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


class ModelLoader:
    """Prepares the translation model: pull when needed, describe, load (``load=True``).

    Args:
        settings: The worker's settings.
        load: Load the weights too. A prefork worker's main process only pulls and
            describes; each pool process loads its own copy.
        pull: Pull a missing model (when the settings allow); a pool process leaves
            that to its main process.
    """

    def __init__(self, settings: Settings, *, load: bool = True, pull: bool = True) -> None:
        self.settings = settings
        self.load = load
        self.pull = pull
        self.on_change: Callable[[], None] = lambda: None  # the heartbeat's wake-up
        self._lock = threading.Lock()
        self._report = ModelReport(ModelState.PENDING)
        self._settled = threading.Event()
        self._failure: ModelUnavailable | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Prepare the model in a thread of its own."""
        self._thread = threading.Thread(target=self.run, name="dragoman-model-loader", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Pull (if needed), describe and load; never raises."""
        try:
            self._prepare()
        finally:
            self._settled.set()

    def _prepare(self) -> None:
        try:
            self._pull()
        except ModelUnavailable as exc:
            self._failure = exc
            self._set(ModelReport(ModelState.UNAVAILABLE, error=exc.message))
            log.error("translation model unavailable: %s", exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - reported, and jobs fail with a clear code
            log.exception("pulling the translation model failed")
            self._failure = ModelUnavailable(
                f"Pulling {self.settings.translation_model!r} failed ({type(exc).__name__}); "
                "see the worker log.",
                model=self.settings.translation_model,
            )
            self._set(ModelReport(ModelState.UNAVAILABLE, error=self._failure.message))
            return
        self._describe_and_load()

    def _pull(self) -> None:
        from worker.models.backends import backend_choice
        from worker.models.pull import needs_pull, pull
        from worker.models.store import licence_note

        settings = self.settings
        name = settings.translation_model
        models_dir = settings.effective_models_dir
        if not needs_pull(
            name, backend_choice(settings), models_dir, enabled=self.pull and settings.auto_pull
        ):
            return
        self._set(ModelReport(ModelState.PULLING))
        log.info(
            "%s is not in the model store %s: pulling it from the Hugging Face Hub and "
            "converting it for CTranslate2 (once; DRAGOMAN_AUTO_PULL=false turns this off)",
            name,
            models_dir,
        )
        started = time.monotonic()
        progress: bool | str = True if sys.stderr.isatty() else "log"
        model = pull(name, models_dir, progress=progress, if_missing=True)
        log.info(
            "installed %s in %s in %.0fs (licence: %s)",
            model.name,
            model.path,
            time.monotonic() - started,
            model.licence or "unknown, read the model card",
        )
        note = licence_note(model.licence)
        if note:
            log.warning("licence of %s: %s", model.name, note)

    def _describe_and_load(self) -> None:
        from worker.models.backends import describe_model, model_languages
        from worker.models.registry import load_model

        try:
            languages = model_languages(self.settings)
            info = describe_model(self.settings)
            if not self.load:
                self._set(ModelReport(ModelState.READY, languages, info=info))
                return
            self._set(ModelReport(ModelState.LOADING, languages, info=info))
            self._warm_detectors()
            started = time.monotonic()
            translator = load_model(self.settings)
            elapsed = time.monotonic() - started
            metrics.MODEL_LOAD.observe(elapsed)
            log.info("translation model ready in %.1fs: %s", elapsed, translator.describe())
            info.update(translator.describe())
            self._set(ModelReport(ModelState.READY, translator.languages(), info=info))
        except ModelUnavailable as exc:
            log.error("translation model unavailable: %s", exc.message)
            self._set(ModelReport(ModelState.UNAVAILABLE, error=exc.message))
        except Exception as exc:  # noqa: BLE001 - a job would meet it again and report it
            log.exception("loading the translation model failed")
            self._set(
                ModelReport(
                    ModelState.UNAVAILABLE,
                    error=f"Loading failed ({type(exc).__name__}); see the worker log.",
                )
            )

    def _warm_detectors(self) -> None:
        """Load the language detectors beside the model (checks and detection need them),
        so the first job does not pay for them after waiting for the model."""
        if self.settings.quality_checks == "off":
            return

        def warm() -> None:
            from worker.pipeline.detect import warm_up

            try:
                log.info("language detectors ready in %.1fs", warm_up())
            except Exception:  # noqa: BLE001 - the first job would load them itself
                log.exception("loading the language detectors failed")

        threading.Thread(target=warm, name="dragoman-detectors", daemon=True).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the model is ready or known to be unavailable; False on timeout."""
        return self._settled.wait(timeout)

    def check_pulled(self) -> None:
        """Raise the pull's failure, unless the model has been installed since.

        Raises:
            ModelUnavailable: The pull failed and the model is still not in the store.
        """
        failure = self._failure
        if failure is not None:
            from worker.models.store import resolve

            installed = resolve(self.settings.translation_model, self.settings.effective_models_dir)
            if installed is None:
                raise failure

    def report(self) -> ModelReport:
        with self._lock:
            return self._report

    def _set(self, report: ModelReport) -> None:
        with self._lock:
            self._report = report
        self.on_change()


_loader: ModelLoader | None = None


def install(loader: ModelLoader | None) -> None:
    """Make ``loader`` the process's model loader (None: there is none)."""
    global _loader
    _loader = loader


def current() -> ModelLoader | None:
    """The process's model loader; None outside a worker (tests, command-line tools)."""
    return _loader

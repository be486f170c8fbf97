"""The engines' heavy libraries, imported once per process before threads need them.

transformers' top-level module is lazy: ``from transformers import AutoTokenizer``
imports the submodule on first use, and ``AutoTokenizer.from_pretrained`` imports the
tokenizer class of each family the same way. Two threads doing that at once can see a
half-initialised module (``ImportError: cannot import name 'AutoTokenizer'``). The
worker calls :func:`import_libraries` in its main thread before it starts any pool,
heartbeat or loader thread, and every engine calls it again before it touches these
libraries: one lock, and a no-op once a group is imported, so no path can race.

Loading itself is serialised too (:data:`model_loading`): transformers builds a model
on the meta device under process-wide state, and two ``from_pretrained`` calls at once
fail with "Cannot copy out of meta tensor".

Groups are imported only where needed: a CTranslate2 worker never loads PyTorch or
transformers unless it converts a model.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from typing import Literal

log = logging.getLogger(__name__)

Group = Literal["transformers", "ctranslate2"]

# transformers' lazy names the engines and the summariser use, and the classes that the
# Auto* factories resolve for the supported families (NLLB, M2M100, Marian).
TRANSFORMERS_NAMES = (
    "AutoConfig",
    "AutoTokenizer",
    "AutoModelForSeq2SeqLM",
    "GenerationConfig",
    "PreTrainedTokenizerFast",
    "NllbTokenizer",
    "NllbTokenizerFast",
    "M2M100Config",
    "M2M100Tokenizer",
    "M2M100ForConditionalGeneration",
    "MarianConfig",
    "MarianTokenizer",
    "MarianMTModel",
)
MODULES: dict[Group, tuple[str, ...]] = {
    "transformers": (
        "torch",
        "safetensors",
        "transformers",
        "transformers.models.nllb.tokenization_nllb",
    ),
    "ctranslate2": ("ctranslate2", "sentencepiece"),
}

_lock = threading.Lock()
_imported: set[Group] = set()

model_loading = threading.RLock()
"""Held while transformers loads a tokenizer, config or model: one load at a time."""


def import_libraries(*groups: Group) -> None:
    """Import each group's modules (transformers' lazy names resolved), once per process."""
    if all(group in _imported for group in groups):
        return
    with _lock:
        for group in groups:
            if group in _imported:
                continue
            started = time.perf_counter()
            for module in MODULES[group]:
                importlib.import_module(module)
            if group == "transformers":
                import transformers

                for name in TRANSFORMERS_NAMES:
                    getattr(transformers, name, None)  # resolves the name and its module
            _imported.add(group)
            log.debug("%s imported in %.1fs", group, time.perf_counter() - started)

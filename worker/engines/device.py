"""Where an engine runs, and how much it takes at once there.

``DRAGOMAN_DEVICE=auto`` (the default) runs on a GPU when the engine's library can use
one and on the CPU otherwise, so a CPU machine behaves as before. On a GPU the
transformers engine keeps its weights in bfloat16 (float16 where the GPU lacks it)
and sizes its batch budget from the free GPU memory (:func:`gpu_batch_budget`), and
the worker takes many jobs' sentences at once (:func:`take_size`,
:func:`worker_concurrency`) so that the GPU gets batches of hundreds of sentences.

A batch that runs out of GPU memory anyway is split in halves and run again, and the
engine's budget shrinks to what ran (:func:`run_splitting_on_oom`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

AUTO = "auto"
# Jobs a worker runs at once, and sentences its scheduler takes from their queues at
# once, when the settings leave them to the device (0).
CPU_CONCURRENCY = 4
GPU_CONCURRENCY = 16
CPU_TAKE = 128
GPU_TAKE = 4096
# Rows of one generate call on a GPU: each row holds its logits over the whole
# vocabulary (1 MB in float32 for NLLB's 256k pieces) while it decodes.
GPU_MAX_ROWS = 1024
# Share of the free GPU memory given to the attention caches that the budget counts;
# the rest is for what it does not count (the step's logits over the vocabulary, the
# encoder's activations, the allocator's fragmentation).
GPU_MEMORY_SHARE = 0.5
_NVIDIA_PATHS = ("/dev/nvidia0", "/proc/driver/nvidia/gpus")


def gpu_present() -> bool:
    """Whether this machine shows an NVIDIA GPU, without importing any GPU library."""
    for name in _NVIDIA_PATHS:
        path = Path(name)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            return True
    return False


def torch_device(requested: str) -> str:
    """``auto`` as torch sees it: ``cuda`` when CUDA is available, else ``cpu``."""
    if requested != AUTO:
        return requested
    if not gpu_present():
        return "cpu"  # no torch import needed to know
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def ctranslate2_device(requested: str) -> str:
    """``auto`` as CTranslate2 sees it: ``cuda`` when its build finds a CUDA device."""
    if requested != AUTO:
        return requested
    return "cuda" if ctranslate2_has_cuda() else "cpu"


def ctranslate2_has_cuda() -> bool:
    """Whether CTranslate2 can run on a GPU here (its wheels need CUDA 12's libraries)."""
    if not gpu_present():
        return False
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count()) > 0
    except (ImportError, RuntimeError, OSError):
        return False


def torch_dtype_name(requested: str, device: str, bf16_supported: Callable[[], bool]) -> str:
    """The weight type: ``auto`` is float32 on the CPU, bfloat16 on CUDA (float16 without).

    ``bf16_supported`` is ``torch.cuda.is_bf16_supported``, asked only on CUDA.
    """
    if requested != AUTO:
        return requested
    if not device.startswith("cuda"):
        return "float32"
    return "bfloat16" if bf16_supported() else "float16"


def dtype_bytes(dtype: str) -> int:
    return {"float32": 4, "float16": 2, "bfloat16": 2}.get(dtype, 4)


def bytes_per_position(*, decoder_layers: int, d_model: int, heads: int, dtype: str) -> int:
    """GPU memory one decoder position of a batch's budget may take, in bytes.

    A batch's budget counts positions: rows x beams x (longest source + its output
    bound). Each source position holds its cross-attention keys and values in every
    decoder layer, each output position its self-attention keys and values: 2 x layers
    x d_model values either way. The cache grows by concatenation, so old and new
    copies meet during a step (x2); a layer's attention scores for the position are
    computed in float32 (heads x 4 bytes).
    """
    cache = 2 * decoder_layers * d_model * dtype_bytes(dtype)
    return 2 * cache + heads * 4


def gpu_batch_budget(
    free_bytes: int,
    *,
    decoder_layers: int,
    d_model: int,
    heads: int,
    dtype: str,
    share: float = GPU_MEMORY_SHARE,
) -> int:
    """Decoder positions a GPU batch may hold: ``share`` of the free memory over
    :func:`bytes_per_position`.

    With 130 GiB free, the NLLB-600M shape (12 decoder layers, d_model 1024, 16 heads,
    bfloat16) gets about 710,000 positions, the 3.3B shape (24 layers, 2048) about
    177,000.
    """
    per_position = bytes_per_position(
        decoder_layers=decoder_layers, d_model=d_model, heads=heads, dtype=dtype
    )
    return max(1, int(free_bytes * share) // per_position)


def take_size(configured: int, device: str) -> int:
    """Sentences the scheduler takes at once: the setting, or by device when it is 0."""
    if configured:
        return configured
    return GPU_TAKE if device.startswith("cuda") else CPU_TAKE


def worker_concurrency(configured: int) -> int:
    """Jobs a worker runs at once: the setting, or by device when it is 0.

    A GPU worker runs many jobs so that their sentences fill the GPU's batches; the
    probe needs no GPU library, so the worker decides before it imports any.
    """
    if configured:
        return configured
    return GPU_CONCURRENCY if gpu_present() else CPU_CONCURRENCY


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a device running out of memory.

    PyTorch raises ``torch.cuda.OutOfMemoryError``; CTranslate2 a ``RuntimeError``
    whose message says ``out of memory``.
    """
    if type(exc).__name__ == "OutOfMemoryError" or isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def run_splitting_on_oom(
    rows: list[int],
    run: Callable[[list[int]], Any],
    shrink: Callable[[list[int]], None],
    after_oom: Callable[[], None] = lambda: None,
) -> None:
    """``run(rows)``; when it runs out of memory, shrink the budget and run each half.

    Halves run in order, each split again if it fails the same way, so every row runs
    exactly once; a single row that runs out of memory raises.

    Args:
        run: Runs a batch (writes its results itself); must leave nothing behind when
            it raises.
        shrink: Told the rows that failed, so the engine lowers its budget below them.
        after_oom: Frees what the failed attempt left cached (``torch.cuda.empty_cache``).
    """
    todo = [rows]
    while todo:
        part = todo.pop()
        try:
            run(part)
        except Exception as exc:
            if len(part) < 2 or not is_out_of_memory(exc):
                raise
            log.warning("batch of %d rows ran out of memory; splitting it in halves", len(part))
            shrink(part)
            after_oom()
            half = len(part) // 2
            todo += [part[half:], part[:half]]

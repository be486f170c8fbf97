"""Keeping a worker's resident memory at its model's size between batches (glibc).

A CTranslate2 batch allocates hundreds of megabytes of scratch memory (attention
caches, logits over the whole vocabulary) from the decoder's threads and frees it at
the end. glibc keeps freed memory for reuse, and each thread that allocates may get
its own arena, so without help a worker's resident size sits at the sum of its
threads' largest batches. Two remedies, both measured with the 600M-shape model:

- ``release_free_memory`` (``malloc_trim``) after each batch returns the freed
  workspace: resident memory falls back to within a few MB of the loaded model;
- ``limit_malloc_arenas`` caps the arenas, so the threads' scratch shares one heap
  instead of each keeping its own high-water mark.

Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

# mallopt's parameter number for the arena limit (glibc <malloc.h>).
M_ARENA_MAX = -8
DEFAULT_ARENAS = 2


def _glibc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - both must exist
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


_libc = _glibc()


def release_free_memory() -> None:
    """Hand memory freed by the last batch back to the system."""
    if _libc is not None:
        _libc.malloc_trim(0)


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads started from now on.

    Call it before the worker starts its threads. ``MALLOC_ARENA_MAX`` in the
    environment, glibc's own setting, wins. Returns whether the cap was set.
    """
    if _libc is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    if _libc.mallopt(M_ARENA_MAX, arenas) != 1:
        log.warning("could not limit malloc arenas to %d", arenas)
        return False
    return True

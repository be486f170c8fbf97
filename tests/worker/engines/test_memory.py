"""glibc memory controls of the worker process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from worker.engines import memory

pytestmark = pytest.mark.skipif(memory._libc is None, reason="not glibc")

# Threads that allocate at the same time: without a cap each gets an arena of its own.
THREADS = """
import ctypes, threading
def work():
    blocks = [ctypes.create_string_buffer(4096) for _ in range(2000)]
    barrier.wait()
barrier = threading.Barrier(8)
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
ctypes.CDLL("libc.so.6").malloc_stats()  # one "Arena N:" block per arena, on stderr
"""


def _run(setup: str, **env: str) -> tuple[str, int]:
    """Run ``setup`` then the threads in a fresh interpreter: (its output, arenas used)."""
    clean = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    result = subprocess.run(
        [sys.executable, "-c", setup + THREADS],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=True,
        timeout=120,
    )
    return result.stdout.strip(), result.stderr.count("Arena ")


def test_the_arena_cap_holds_for_threads_started_later() -> None:
    limited, arenas = _run(
        "from worker.engines import memory; print(memory.limit_malloc_arenas(1))"
    )
    assert (limited, arenas) == ("True", 1)
    _, uncapped = _run("", MALLOC_ARENA_MAX="8")
    assert uncapped > 1


def test_glibc_s_own_setting_wins() -> None:
    setup = "from worker.engines import memory; print(memory.limit_malloc_arenas(1))"
    limited, arenas = _run(setup, MALLOC_ARENA_MAX="3")
    assert limited == "False"
    assert 1 < arenas <= 3


def test_the_worker_app_caps_arenas_on_import() -> None:
    _, arenas = _run("import worker.runtime.celery_app\n")
    assert 1 <= arenas <= memory.DEFAULT_ARENAS

"""How a worker process ends: drained on SIGTERM within a bound, and never outliving its parent.

On SIGTERM (Celery's warm shutdown) the worker stops taking jobs and sets the
drain flag; each running job sees it at its next look (a fraction of a second),
stops, drops its queued sentences and hands itself back to the queue
(``worker.pipeline.context.HandedBack``), which does not count as a failed attempt. A watchdog
ends the process if it is still alive ``worker_shutdown_seconds`` after the
signal, whatever it was doing.

A worker started by ``dragoman serve`` also ends when ``serve`` dies, however it
dies: the kernel sends it SIGTERM (``PR_SET_PDEATHSIG``) and, where that is not
available, a thread notices the parent is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time

log = logging.getLogger("dragoman.worker")

PARENT_PID_ENV = "DRAGOMAN_PARENT_PID"
# This worker's identity in heartbeats and job claims. Fixed when the worker process
# starts (pool children forked from it inherit it): a restarted worker is a new one.
WORKER_ID = f"dragoman@{socket.gethostname()}/{os.getpid()}"
_PR_SET_PDEATHSIG = 1

_draining = threading.Event()


def draining() -> bool:
    """Whether this worker is shutting down and must not go on with its jobs."""
    return _draining.is_set()


def begin_drain(bound: float) -> None:
    """Stop running jobs at their next look, and end the process after ``bound`` seconds."""
    if _draining.is_set():
        return
    _draining.set()
    log.info("shutting down: running jobs go back to the queue (at most %.0fs)", bound)
    threading.Thread(
        target=_exit_after, args=(bound,), name="dragoman-shutdown-watchdog", daemon=True
    ).start()


def reset_drain() -> None:
    """Forget a drain (a test, or a pool child forked from a draining parent)."""
    _draining.clear()


def _exit_after(bound: float) -> None:
    time.sleep(bound)
    log.warning("still running %.0fs after SIGTERM: exiting now", bound)
    _flush()
    os._exit(1)


def _flush() -> None:
    for item in [*logging.getLogger().handlers, sys.stdout, sys.stderr]:
        with contextlib.suppress(OSError, ValueError):
            item.flush()


def end_process(code: int) -> None:
    """Exit now without running interpreter finalisation.

    An engine batch may still be running in a native thread; finalising the
    interpreter under it can hang or crash, and its work is already handed back.
    """
    _flush()
    os._exit(code)


def die_with_parent() -> None:
    """In a child between fork and exec: ask the kernel for SIGTERM when the parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: watch_parent covers it
        pass


def watch_parent(parent: int, interval: float = 0.5) -> threading.Thread | None:
    """A thread that sends this process SIGTERM once ``parent`` is no longer its parent.

    Covers what ``PR_SET_PDEATHSIG`` misses: systems without it, and a parent that
    died before the request took effect.
    """
    if parent <= 1:
        return None
    if os.getppid() != parent:  # gone before we got here
        os.kill(os.getpid(), signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.warning("parent process %d is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="dragoman-parent-watch", daemon=True)
    thread.start()
    return thread


def parent_from_env() -> int:
    """The pid ``dragoman serve`` left in the environment for its worker, else 0.

    The variable is removed, so processes this worker starts do not inherit it.
    """
    try:
        return int(os.environ.pop(PARENT_PID_ENV, "0"))
    except ValueError:
        return 0

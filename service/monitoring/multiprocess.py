"""The folder where the processes of one ``dragoman api`` or ``serve`` keep their metrics.

prometheus-client's multiprocess mode: each process writes its counters and
histograms to files in ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them, so
any API process answers for all of them. The variable must be set before
prometheus_client is imported (it picks its storage at import), hence a module of
its own that does not import it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger(__name__)


def prepare(data_dir: Path) -> Path:
    """Set up a fresh folder for this process and its children, and name it in the environment.

    A folder the operator named in ``PROMETHEUS_MULTIPROC_DIR`` is used as it is (its
    metric files emptied); otherwise it is ``data_dir/metrics/<pid>``, and the folders
    of processes that are gone are removed.

    Call it before anything imports prometheus_client: metrics made before would keep
    this process's values to themselves (a warning says so).
    """
    if "prometheus_client" in sys.modules and not os.environ.get(ENV):
        log.warning("prometheus_client was imported before its folder was set up")
    named = os.environ.get(ENV)
    if named:
        folder = Path(named)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
        return folder
    root = data_dir / "metrics"
    root.mkdir(parents=True, exist_ok=True)
    for other in root.iterdir():
        if other.is_dir() and (not other.name.isdigit() or not _alive(int(other.name))):
            shutil.rmtree(other, ignore_errors=True)
    folder = root / str(os.getpid())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    os.environ[ENV] = str(folder)
    return folder


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def mark_dead(pid: int) -> None:
    """Drop the live gauges of a process that ended (its counters still count)."""
    if enabled():
        from prometheus_client import multiprocess

        with contextlib.suppress(FileNotFoundError):
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # an earlier process that had our number: its folder is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

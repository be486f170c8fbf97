"""What the processes of a run use: memory and CPU from ``/proc``, and the machine's load.

The benchmark shares the machine with whatever else runs there; the CPU share of
each part (CPU seconds over wall seconds times cores) says whether the figures
were measured on an otherwise idle machine.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit``, so that a stopped benchmark stops the API and
    worker it started (they would go on working and skew whatever runs next)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; fields resume after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    tree = _children()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def status_kib(pid: int, field: str) -> int:
    """A `/proc/PID/status` field in KiB (VmRSS, VmHWM); 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU seconds used so far by ``pids`` (those still running)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / _TICKS


def cpu_share(cpu: float, seconds: float, cores: int) -> float:
    """The fraction of the machine's cores a measurement had (1.0: all of them, all along)."""
    return round(cpu / (seconds * cores), 3) if seconds > 0 else 0.0


class MemorySampler(threading.Thread):
    """Samples the VmRSS of a process tree and the load average; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_tree_kib = 0
        self.peak_process_kib = 0
        self.processes = 1
        self.peak_load = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def sample(self) -> None:
        pids = process_tree(self.pid)
        sizes = [status_kib(pid, "VmRSS") for pid in pids]
        self.processes = max(self.processes, len(pids))
        self.peak_tree_kib = max(self.peak_tree_kib, sum(sizes))
        self.peak_process_kib = max(self.peak_process_kib, *sizes)
        self.peak_load = max(self.peak_load, os.getloadavg()[0])

    def finish(self) -> dict[str, Any]:
        """Stop sampling; the peaks, with the kernel's high-water mark of each process."""
        self.sample()
        hwm = max(status_kib(pid, "VmHWM") for pid in process_tree(self.pid))
        self._halt.set()
        self.join()
        peak_process = max(self.peak_process_kib, hwm)
        return {
            "peak_rss_mib": round(peak_process / 1024, 1),
            "peak_rss_tree_mib": round(max(self.peak_tree_kib, peak_process) / 1024, 1),
            "processes": self.processes,
            "peak_load_average": round(self.peak_load, 2),
        }

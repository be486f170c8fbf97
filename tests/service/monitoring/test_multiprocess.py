"""The metrics folder of ``dragoman api`` and ``serve``: one per process tree, fresh at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testkit.procs import REPO

SCRIPT = """
import os, sys
from pathlib import Path
from service.monitoring import multiprocess
folder = multiprocess.prepare(Path(sys.argv[1]))
assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)
from service.monitoring import metrics
metrics.record_job_submitted("text")
print(folder)
"""


def run(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data_dir)],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_each_start_gets_a_fresh_folder_and_stale_ones_go(tmp_path: Path) -> None:
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr
    old = Path(first.stdout.strip())
    assert old.parent == tmp_path / "metrics" and any(old.glob("*.db"))
    leftover = tmp_path / "metrics" / "not-a-pid"
    leftover.mkdir()
    second = run(tmp_path)
    assert second.returncode == 0, second.stderr
    # the first process has ended: its folder (and anything else stale) is gone
    assert [p.name for p in (tmp_path / "metrics").iterdir()] == [Path(second.stdout.strip()).name]


def test_a_folder_the_operator_names_is_used_and_emptied(tmp_path: Path) -> None:
    named = tmp_path / "named"
    named.mkdir()
    (named / "counter_1.db").write_bytes(b"stale")
    (named / "keep.txt").write_text("not ours")
    done = run(tmp_path / "data", PROMETHEUS_MULTIPROC_DIR=str(named))
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == named
    assert not (named / "counter_1.db").exists()
    assert (named / "keep.txt").exists()
    assert not (tmp_path / "data" / "metrics").exists()

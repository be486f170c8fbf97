"""The engine libraries are safe to reach from many threads at once in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from testkit.procs import REPO

# Six threads start at one barrier in a process that has imported nothing heavy yet:
# half read the model's languages (what the heartbeat did), half load it (what each
# job did). transformers' lazy module raised ImportError in some of them.
COLD_START = textwrap.dedent(
    """
    import sys, threading
    from worker.engines import hf

    path = sys.argv[1]
    barrier = threading.Barrier(6)
    errors = []

    def run(load):
        barrier.wait()
        try:
            if load:
                hf.TransformersTranslator(path).translate(["Hello."], "en", "fa")
            else:
                hf.model_languages(path)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(i % 2 == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("\\n".join(errors))
    sys.exit(1 if errors else 0)
    """
)


def test_threads_that_load_a_model_at_once_in_a_fresh_process(tiny_nllb_dir: Path) -> None:
    for _ in range(2):  # the race needed no more than this to show
        result = subprocess.run(
            [sys.executable, "-c", COLD_START, str(tiny_nllb_dir)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def test_a_ctranslate2_worker_does_not_import_torch() -> None:
    script = (
        "import sys; import worker.runtime.tasks; "
        "from worker.engines.libraries import import_libraries; "
        "import_libraries('ctranslate2'); "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]

"""Memory soak: one worker, the 600M-shape model, many consecutive jobs.

``python -m bench.soak [--jobs 500]`` starts the API and one worker as the
end-to-end benchmark does, then keeps a few short jobs in flight until ``--jobs``
have finished, each with sentences no earlier job had (so the translation cache
does not hide the work). The worker's resident memory is read after every job;
the result says how much it grew from the end of the warm-up to the end, and
the peak. Written to ``bench/results/soak.json`` and ``soak.md``. Not a test:
it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.e2e import FINISHED, Service, read_counters
from bench.load import exit_on_sigterm, process_tree, status_kib
from bench.model import ensure_model
from bench.run import FULL, QUICK_CHECK

log = logging.getLogger("bench.soak")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PLACES = ["Baku", "Yerevan", "Tehran", "Tbilisi", "Ganja", "Tabriz", "Gyumri", "Shusha"]


def job_text(number: int) -> str:
    """Two sentences no other job has, about the length of a news sentence."""
    place = PLACES[number % len(PLACES)]
    return (
        f"Delegation {number} arrived in {place} on Monday for talks on the border. "
        f"Officials said meeting {number} would continue for {number % 9 + 2} days."
    )


def worker_rss_mib(service: Service) -> float:
    pids = process_tree(service.worker.popen.pid)
    return round(sum(status_kib(pid, "VmRSS") for pid in pids) / 1024, 1)


def soak(jobs: int, in_flight: int, warmup: int, quick: bool) -> dict[str, Any]:
    profile = QUICK_CHECK if quick else FULL
    built = ensure_model(profile.shape)
    log_dir = Path(__file__).resolve().parent / ".cache" / "logs" / "soak"
    # Polling every pending job each second is far more than the default per-key
    # request rate; the soak measures the worker, not the limits.
    env = {"DRAGOMAN_QUALITY_CHECKS": "flag", "DRAGOMAN_RATE_LIMIT_PER_MINUTE": "1000000"}
    service = Service(built.ct2_dir, log_dir, env)
    samples: list[tuple[int, float]] = []
    try:
        service.wait(lambda: service.client.get("/readyz").status_code == 200, 180, "readyz")
        before = read_counters(service.metrics_port)
        started = time.time()
        pending: list[str] = []
        submitted = finished = 0
        while finished < jobs:
            while submitted < jobs and len(pending) < in_flight:
                pending.append(
                    service.submit(
                        {
                            "text": job_text(submitted),
                            "source_language": "en",
                            "target_languages": ["fa"],
                            "summary": None,
                            "translate": ["body"],
                        }
                    )
                )
                submitted += 1
            # One GET per pending job: a slow job must not drop out of a "newest" page.
            states = {}
            for job_id in pending:
                response = service.client.get(f"/v1/jobs/{job_id}")
                if response.status_code != 200:
                    raise service.fail(f"GET job {job_id}: {response.status_code} {response.text}")
                states[job_id] = response.json()
            done = [job_id for job_id, job in states.items() if job["status"] in FINISHED]
            for job_id in done:
                if states[job_id]["status"] != "succeeded":
                    raise service.fail(f"job {job_id} ended {states[job_id]['status']}")
                pending.remove(job_id)
                finished += 1
                samples.append((finished, worker_rss_mib(service)))
            if not done:
                time.sleep(0.5)
        seconds = time.time() - started
        after = read_counters(service.metrics_port)
        memory = service.memory.finish()
    finally:
        service.stop()
    steady = [rss for number, rss in samples if number >= warmup]
    first = statistics.fmean(steady[:20])
    last = statistics.fmean(steady[-20:])
    return {
        "profile": profile.name,
        "machine": report.machine(),
        "jobs": jobs,
        "in_flight": in_flight,
        "seconds": round(seconds, 1),
        "target_tokens": int(
            after["dragoman_translation_target_tokens_total"]
            - before["dragoman_translation_target_tokens_total"]
        ),
        "rss_mib_after_warmup": round(first, 1),
        "rss_mib_at_end": round(last, 1),
        "growth_mib": round(last - first, 1),
        "peak_rss_mib": memory["peak_rss_mib"],
        "rss_every_50_jobs": [rss for number, rss in samples if number % 50 == 0],
    }


def markdown(result: dict[str, Any]) -> str:
    machine = result["machine"]
    return "\n".join(
        [
            "# Worker memory over consecutive jobs",
            "",
            f"{machine.get('date')} on {machine.get('cpu')}, {machine.get('cores')} cores. "
            f"One worker, model of the {result['profile']} profile (CTranslate2 int8), "
            f"{result['jobs']} jobs of two new sentences each into fa, "
            f"{result['in_flight']} in flight.",
            "",
            "| | |",
            "|---|---:|",
            f"| resident memory after warm-up | {result['rss_mib_after_warmup']} MiB |",
            f"| resident memory at the end | {result['rss_mib_at_end']} MiB |",
            f"| growth | {result['growth_mib']} MiB |",
            f"| peak resident memory | {result['peak_rss_mib']} MiB |",
            f"| time | {result['seconds']} s |",
            "",
            "Resident memory every 50 jobs (MiB): "
            + ", ".join(str(value) for value in result["rss_every_50_jobs"]),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=50, help="jobs before growth is measured")
    parser.add_argument("--quick", action="store_true", help="tiny model (pipeline check)")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    result = soak(args.jobs, args.in_flight, args.warmup, args.quick)
    stem = "soak-quick" if args.quick else "soak"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (RESULTS_DIR / f"{stem}.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

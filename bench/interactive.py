"""The interactive lane under load: ``python -m bench.interactive [--quick]``
(``make bench-interactive``).

With the throughput benchmark's model (a random-weight NLLB-200-distilled-600M shape,
CTranslate2 int8; ``--quick``: the small shape) and its articles, on real API and
worker processes (``bench.e2e.Service``), measures:

1. one-sentence LibreTranslate ``/translate`` calls on an idle worker: latency p50/p95;
2. the articles (20 into az, fa, hy) alone: article throughput;
3. the same articles on a fresh service while one-sentence calls come at a steady
   rate (one every ``--call-interval`` seconds, each sent without waiting for the
   previous answer, as independent users do): their latency p50/p95, and article
   throughput;
4. a burst of 50 concurrent calls: every status, latency p50/p95/max.

Each article run starts on a fresh store, so neither finds the other's sentences in
the translation cache; every call translates a sentence of its own. The worker's
counters give the engine time the calls themselves took (priority engine time), so
the report separates the throughput the calls' own decoding costs from any other
loss. Goals: p95 under load at most 3x the idle p95, throughput with calls at least
0.9x without. Writes ``bench/results/interactive.json`` and ``.md``
(``interactive-quick.*`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench import report
from bench.articles import BenchArticle, build_articles
from bench.e2e import FINISHED, E2EError, Service, breakdown, read_counters
from bench.load import exit_on_sigterm
from bench.model import NLLB_600M, QUICK, ensure_model

log = logging.getLogger("bench.interactive")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LOG_DIR = Path(__file__).resolve().parent / ".cache" / "logs"
TARGETS = ("az", "fa", "hy")
CALL_TARGETS = ("az", "fa", "hy")
IDLE_CALLS = 30
# Seconds between calls under load: a desk's editors and their tools together sending
# a sentence every half minute or so.
CALL_INTERVAL = 30.0
QUICK_CALL_INTERVAL = 1.0
PRIORITY_BUSY = "dragoman_engine_priority_seconds_total"
BURST = 50
P95_GOAL = 3.0
THROUGHPUT_GOAL = 0.9


def sentence(n: int) -> str:
    """A distinct one-sentence call (never a cache hit)."""
    return f"Officials in the capital confirmed on Monday that talks number {n} will resume."


def percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return round(ordered[index], 3)


def summary(latencies: Sequence[float]) -> dict[str, Any]:
    return {
        "calls": len(latencies),
        "p50_s": percentile(latencies, 0.5),
        "p95_s": percentile(latencies, 0.95),
        "max_s": round(max(latencies), 3) if latencies else None,
        "mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
    }


def call(client: httpx.Client, n: int) -> tuple[int, float]:
    started = time.monotonic()
    response = client.post(
        "/translate",
        json={"q": sentence(n), "source": "en", "target": CALL_TARGETS[n % len(CALL_TARGETS)]},
        timeout=120,
    )
    return response.status_code, time.monotonic() - started


def payload(article: BenchArticle) -> dict[str, Any]:
    return {
        "title": article.title,
        "text": article.text,
        "source_language": "en",
        "target_languages": list(TARGETS),
        "summary": {"sentences": 3},
        "translate": ["title", "summary", "body"],
    }


def warm_up(service: Service) -> None:
    service.wait(lambda: service.client.get("/readyz").status_code == 200, 600, "/readyz")
    status, _ = call(service.client, -1)  # loads the model
    if status != 200:
        raise service.fail(f"the warm-up call answered {status}")


def run_articles(
    service: Service,
    articles: Sequence[BenchArticle],
    calls_from: int | None,
    interval: float = CALL_INTERVAL,
) -> dict[str, Any]:
    """Post the articles; with ``calls_from``, send a call every ``interval`` seconds
    (each on its own thread) until they finish."""
    latencies: list[float] = []
    errors: list[int] = []
    done = threading.Event()
    callers: list[threading.Thread] = []

    def one_call(n: int) -> None:
        with httpx.Client(base_url=service.base, headers=service.client.headers) as client:
            status, seconds = call(client, n)
        (latencies if status == 200 else errors).append(seconds if status == 200 else status)

    def caller() -> None:
        assert calls_from is not None
        n = calls_from
        while not done.wait(interval):
            thread = threading.Thread(target=one_call, args=(n,), daemon=True)
            thread.start()
            callers.append(thread)
            n += 1

    load_before = os.getloadavg()[0]
    counters = read_counters(service.metrics_port)
    start = time.time()
    ids = [service.submit(payload(article)) for article in articles]
    thread = threading.Thread(target=caller, daemon=True) if calls_from is not None else None
    if thread is not None:
        thread.start()

    def all_done() -> dict[str, dict[str, Any]] | None:
        jobs = service.jobs(ids)
        finished = len(jobs) == len(ids) and all(j["status"] in FINISHED for j in jobs.values())
        return jobs if finished else None

    try:
        jobs = service.wait(all_done, 7200, f"{len(ids)} articles")
    finally:
        done.set()
        if thread is not None:
            thread.join(timeout=interval + 5)
        for each in callers:
            each.join(timeout=130)
    after = read_counters(service.metrics_port)
    failed = [j["id"] for j in jobs.values() if j["status"] != "succeeded"]
    if failed:
        raise service.fail(f"{len(failed)} articles did not succeed")
    last = max(
        dt.datetime.fromisoformat(j["finished_at"].replace("Z", "+00:00")).timestamp()
        for j in jobs.values()
    )
    seconds = last - start if last > start else time.time() - start
    result: dict[str, Any] = {
        "articles": len(ids),
        "seconds": round(seconds, 2),
        "articles_per_min": round(len(ids) / seconds * 60, 3),
        "engine_busy_seconds": breakdown(counters, after, seconds)["engine_busy_seconds"],
        "priority_engine_seconds": round(
            after.get(PRIORITY_BUSY, 0) - counters.get(PRIORITY_BUSY, 0), 2
        ),
        "load_average_before": round(load_before, 2),
    }
    if calls_from is not None:
        result["call_interval_s"] = interval
        result["calls"] = summary(latencies)
        result["call_errors"] = errors
    return result


def burst(service: Service, first: int) -> dict[str, Any]:
    with (
        httpx.Client(base_url=service.base, headers=service.client.headers) as client,
        ThreadPoolExecutor(BURST) as pool,
    ):
        results = list(pool.map(lambda n: call(client, n), range(first, first + BURST)))
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {**summary([s for _, s in results]), "statuses": statuses}


def measure(
    model_dir: Path, articles: list[BenchArticle], log_dir: Path, interval: float
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    service = Service(model_dir, log_dir / "alone", {})
    try:
        warm_up(service)
        latencies = []
        for n in range(IDLE_CALLS):
            status, seconds = call(service.client, n)
            if status != 200:
                raise service.fail(f"an idle call answered {status}")
            latencies.append(seconds)
        results["idle"] = summary(latencies)
        log.info("idle calls: %s", results["idle"])
        results["articles_alone"] = run_articles(service, articles, None)
        log.info("articles alone: %s", results["articles_alone"])
    finally:
        service.stop()
    service = Service(model_dir, log_dir / "with-calls", {})
    try:
        warm_up(service)
        results["articles_with_calls"] = run_articles(service, articles, 1000, interval)
        log.info("articles with calls: %s", results["articles_with_calls"])
        results["burst"] = burst(service, 100_000)
        log.info("burst: %s", results["burst"])
    finally:
        service.stop()
    idle_p95 = results["idle"]["p95_s"]
    load_p95 = results["articles_with_calls"]["calls"]["p95_s"]
    alone = results["articles_alone"]["articles_per_min"]
    loaded = results["articles_with_calls"]["articles_per_min"]
    with_calls = results["articles_with_calls"]
    # The articles' wall time with the calls' own decoding taken out: what is left of
    # the loss is what the lane costs beyond the work the calls asked for.
    net_seconds = with_calls["seconds"] - with_calls["priority_engine_seconds"]
    results["ratios"] = {
        "p95_under_load_over_idle": round(load_p95 / idle_p95, 2) if load_p95 else None,
        "p95_goal": P95_GOAL,
        "throughput_with_calls_over_alone": round(loaded / alone, 3),
        "throughput_goal": THROUGHPUT_GOAL,
        "calls_engine_share": round(
            with_calls["priority_engine_seconds"] / with_calls["seconds"], 3
        ),
        "throughput_net_of_calls_over_alone": round(
            results["articles_alone"]["seconds"] / net_seconds, 3
        ),
        "burst_all_answered": results["burst"]["statuses"] == {"200": BURST},
    }
    return results


def markdown(results: dict[str, Any]) -> str:
    r = results["ratios"]
    idle, load = results["idle"], results["articles_with_calls"]["calls"]
    alone, loaded = results["articles_alone"], results["articles_with_calls"]
    b = results["burst"]
    met_p95 = (
        r["p95_under_load_over_idle"] is not None and r["p95_under_load_over_idle"] <= P95_GOAL
    )
    met_tp = r["throughput_with_calls_over_alone"] >= THROUGHPUT_GOAL
    machine = results["machine"]
    errors = loaded["call_errors"]
    return "\n".join(
        [
            f"# Interactive lane under load ({results['model']}, {alone['articles']} articles)",
            "",
            f"{results['profile']}: {alone['articles']} articles into {', '.join(TARGETS)}; "
            f"one-sentence `/translate` calls, one every {loaded['call_interval_s']:g} s while "
            f"the articles run. Machine: {machine.get('cpu', '?')}, "
            f"{machine.get('cores', '?')} cores; 1-minute load average as each article run "
            f"began (the benchmark's own previous phase included): "
            f"{alone['load_average_before']} and {loaded['load_average_before']}.",
            "",
            "| | calls | p50 s | p95 s | max s |",
            "|---|---|---|---|---|",
            f"| idle worker | {idle['calls']} | {idle['p50_s']} | {idle['p95_s']} | "
            f"{idle['max_s']} |",
            f"| worker busy with the articles | {load['calls']} | {load['p50_s']} | "
            f"{load['p95_s']} | {load['max_s']} |",
            f"| burst of {BURST} at once | {b['calls']} | {b['p50_s']} | {b['p95_s']} | "
            f"{b['max_s']} |",
            "",
            "| articles | seconds | articles/min | engine busy s | calls' own engine s |",
            "|---|---|---|---|---|",
            f"| alone | {alone['seconds']} | {alone['articles_per_min']} | "
            f"{alone['engine_busy_seconds']} | - |",
            f"| with calls | {loaded['seconds']} | {loaded['articles_per_min']} | "
            f"{loaded['engine_busy_seconds']} | {loaded['priority_engine_seconds']} |",
            "",
            f"- p95 under load / idle p95: {r['p95_under_load_over_idle']} "
            f"(goal <= {P95_GOAL}: {'met' if met_p95 else 'not met'})"
            + (f"; {len(errors)} calls under load failed: {errors}" if errors else ""),
            f"- article throughput with calls / alone: {r['throughput_with_calls_over_alone']} "
            f"(goal >= {THROUGHPUT_GOAL}: {'met' if met_tp else 'not met'}); the calls' own "
            f"decoding took {r['calls_engine_share']:.1%} of the run's wall time; with it "
            f"taken out: {r['throughput_net_of_calls_over_alone']}",
            f"- burst statuses: {json.dumps(b['statuses'])}",
            f"- duration: {results['duration_s']} s",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interactive")
    parser.add_argument("--quick", action="store_true", help="small model, 3 articles")
    parser.add_argument("--articles", type=int, help="articles (default 20, quick 3)")
    parser.add_argument(
        "--call-interval",
        type=float,
        help=f"seconds between calls under load (default {CALL_INTERVAL:g}; quick "
        f"{QUICK_CALL_INTERVAL:g}: its articles take seconds)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    exit_on_sigterm()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    shape = QUICK if args.quick else NLLB_600M
    stem = "interactive-quick" if args.quick else "interactive"
    started = time.monotonic()
    built = ensure_model(shape)
    articles = build_articles(args.articles or (3 if args.quick else 20))
    try:
        interval = args.call_interval or (QUICK_CALL_INTERVAL if args.quick else CALL_INTERVAL)
        results = measure(built.ct2_dir, articles, LOG_DIR / stem, interval)
    except E2EError as exc:
        print(f"the benchmark failed: {exc}", file=sys.stderr)
        return 1
    results.update(
        {
            "profile": "Quick check" if args.quick else "Benchmark",
            "model": shape.name,
            "machine": report.machine(),
            "duration_s": round(time.monotonic() - started, 1),
        }
    )
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (args.output / f"{stem}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

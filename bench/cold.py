"""The cold 4-article run (``python -m bench.run --cold``): a fresh worker against the raw engine.

Four held-out articles (no sentence of them is in the standard 20-article set) are
posted to a fresh API and worker into az, fa and hy as soon as the worker's heartbeat
is seen (its model loading since the worker started), so the first job waits for the
rest of the load. The raw engine translates exactly the
distinct sentences of those articles with CTranslate2's ``translate_batch``: the same
model, greedy, each batch bounded at 2n+16 tokens of its longest source (the
worker's bound), batches cut by the worker's default memory budget and row limit,
tokenised beforehand. Both are compared excluding and including the model's load.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import report
from bench.articles import held_out_articles
from bench.engine import Item, decoding_bound, tokenize
from bench.load import cpu_share
from worker.engines.planning import MAX_BATCH_SENTENCES, cut_batches

log = logging.getLogger("bench.cold")

GOAL = 0.85


def measure_raw_exact(
    ct2_dir: Path, items: Sequence[Item], *, budget: int, threads: int
) -> dict[str, Any]:
    """Load the model, then translate ``items`` as the worker's engine would batch them."""
    import ctranslate2

    started = time.perf_counter()
    translator = ctranslate2.Translator(
        str(ct2_dir), device="cpu", compute_type="int8", intra_threads=threads, inter_threads=1
    )
    load = time.perf_counter() - started
    ordered = sorted(items, key=lambda item: len(item.tokens))
    runs = cut_batches(
        [len(item.tokens) for item in ordered],
        lambda rows, width: rows * (width + decoding_bound(width)),
        budget,
        MAX_BATCH_SENTENCES,
    )
    tokens = 0
    cpu, start = time.process_time(), time.perf_counter()
    for run in runs:
        batch = [ordered[position] for position in run]
        longest = max(len(item.tokens) for item in batch)
        results = translator.translate_batch(
            [list(item.tokens) for item in batch],
            target_prefix=[[item.target] for item in batch],
            beam_size=1,
            max_batch_size=0,
            max_decoding_length=decoding_bound(longest),
            return_scores=False,
        )
        tokens += sum(len(result.hypotheses[0]) for result in results)
    seconds = time.perf_counter() - start
    return {
        "engine": f"ctranslate2 {ctranslate2.__version__} int8, {threads} threads",
        "items": len(ordered),
        "batches": len(runs),
        "budget": budget,
        "target_tokens": tokens,
        "load_seconds": round(load, 3),
        "seconds": round(seconds, 3),
        "target_tokens_per_s": round(tokens / seconds, 2),
        "cpu_share": cpu_share(time.process_time() - cpu, seconds, threads),
    }


def run_cold(
    ct2_dir: Path, *, budget: int, log_dir: Path, extra_env: dict[str, str]
) -> dict[str, Any]:
    """The cold end-to-end run, then the raw engine on the same sentences."""
    from bench.e2e import E2EError, measure_e2e
    from bench.run import TARGET_LANGUAGES, article_sentences

    articles = held_out_articles()
    sentences = article_sentences(articles)
    threads = len(os.sched_getaffinity(0))
    results: dict[str, Any] = {
        "articles": len(articles),
        "distinct_sentences": len(sentences),
        "targets": list(TARGET_LANGUAGES),
        "e2e": None,
        "raw": None,
        "errors": {},
        "load_before": os.getloadavg(),
    }
    try:
        results["e2e"] = measure_e2e(
            ct2_dir, articles, TARGET_LANGUAGES, log_dir=log_dir, extra_env=extra_env, cold=True
        )
    except E2EError as exc:
        log.error("cold end to end failed: %s", exc)
        results["errors"]["e2e"] = str(exc)
    # The end-to-end figures survive a raw part that is stopped (it can take as long).
    (log_dir / "cold-e2e.json").write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    items = tokenize(ct2_dir, sentences, TARGET_LANGUAGES)
    results["raw"] = measure_raw_exact(ct2_dir, items, budget=budget, threads=threads)
    results["load_after"] = os.getloadavg()
    results["ratios"] = cold_ratios(results["e2e"], results["raw"])
    return results


def cold_ratios(e2e: dict[str, Any] | None, raw: dict[str, Any]) -> dict[str, Any]:
    """End-to-end speed over the raw engine's (raw seconds / end-to-end seconds, same work).

    Excluding the load: the run's seconds less those before the worker's model was
    ready, against the raw translation alone; including it: the whole run against the
    raw engine's load plus translation. Speeds are in target tokens, so a difference in
    the work done (the worker's summary sentences, cache hits) shows in the figures.
    """
    if not e2e:
        return {}
    e2e_tokens_per_s = e2e["target_tokens"] / e2e["seconds"]
    warm_seconds = max(1e-9, e2e["seconds"] - e2e["model_ready_after_s"])
    raw_with_load = raw["target_tokens"] / (raw["seconds"] + raw["load_seconds"])
    excluding = e2e["target_tokens"] / warm_seconds / raw["target_tokens_per_s"]
    including = e2e_tokens_per_s / raw_with_load
    return {
        "excluding_load": {"value": round(excluding, 3), "met": excluding >= GOAL},
        "including_load": {"value": round(including, 3), "met": including >= GOAL},
        "goal": GOAL,
    }


def markdown(results: dict[str, Any]) -> str:
    """The cold run's figures and the breakdown of the end-to-end time."""
    m, e2e, raw = results["machine"], results.get("e2e") or {}, results["raw"]
    r = results.get("ratios") or {}
    lines = [
        "# Cold run: 4 held-out articles against the raw engine",
        "",
        f"{m['date']} on {m['cpu']}, {m['cores']} cores; load average before "
        f"{results['load_before'][0]:.2f}, after {results['load_after'][0]:.2f} (a machine "
        "shared with other work: compare with care).",
        f"{results['articles']} articles, {results['distinct_sentences']} distinct sentences "
        f"into {', '.join(results['targets'])}; model {results['model']}.",
        "",
        "| measure | seconds | target tokens | target tokens/s | notes |",
        "|---|---:|---:|---:|---|",
        f"| raw engine, load | {raw['load_seconds']} | | | {raw['engine']} |",
        f"| raw engine, translation | {raw['seconds']} | {raw['target_tokens']:,} | "
        f"{raw['target_tokens_per_s']} | {raw['batches']} batches within {raw['budget']:,} "
        "positions, greedy, bound 2n+16 |",
    ]
    if e2e:
        b = e2e["breakdown"]
        lines += [
            f"| end to end via the API (cold) | {e2e['seconds']} | {e2e['target_tokens']:,} | "
            f"{e2e['target_tokens_per_s']} | model ready {e2e['model_ready_after_s']} s into "
            f"the run; {e2e['engine_segments']} sentences to the engine |",
            "",
            "| ratio to the raw engine | value | goal | |",
            "|---|---:|---:|---|",
            f"| excluding the model load | {r['excluding_load']['value']} | >= {GOAL} | "
            f"{report._met(r['excluding_load']['met'])} |",
            f"| including the model load | {r['including_load']['value']} | >= {GOAL} | "
            f"{report._met(r['including_load']['met'])} |",
            "",
            "Where the end-to-end time went (worker counters):",
            "",
            "| part | seconds |",
            "|---|---:|",
            f"| wall time of the run | {b['wall_seconds']} |",
            f"| model load (the worker's whole load, begun at its start) | "
            f"{b['model_load_seconds']} |",
            f"| engine busy (scheduler's engine calls) | {b['engine_busy_seconds']} |",
            f"| batch planning | {b['planning_seconds']} |",
            f"| scheduler idle (nothing queued) | {b['scheduler_idle_seconds']} |",
            f"| scheduler, the rest | {b['scheduler_other_seconds']} |",
            f"| pipeline CPU, all stages | {b['pipeline_cpu_seconds_total']} |",
        ]
        lines += [f"| - {k} | {v} |" for k, v in b["pipeline_cpu_seconds"].items()]
    for part, message in (results.get("errors") or {}).items():
        lines += ["", f"Failed: {part}: {message.splitlines()[0]}"]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], folder: Path, stem: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / f"{stem}.json", folder / f"{stem}.md")
    paths[0].write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    paths[1].write_text(markdown(results), "utf-8")
    return paths

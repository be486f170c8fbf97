"""Run the benchmark: ``python -m bench.run [--quick]`` (``make bench``, ``make bench-quick``).

Measures, on this machine and with a random-weight model of NLLB-200-distilled-600M's
shape converted to CTranslate2 int8:

1. the raw engine ceiling: ``translate_batch`` on pre-tokenised sentences, best batch size;
2. end to end: articles posted to the HTTP API and translated by one worker;
3. the naive baseline: transformers fp32, one sentence at a time, on a subset;

and writes the figures, the ratios (2)/(1) and (2)/(3), where the end-to-end time
went (engine busy, planning, idle, pipeline CPU by stage) and the machine to
``bench/results/latest.json`` and ``latest.md`` (``quick.*`` with ``--quick``, whose
small model only checks that the pipeline of the benchmark works; runs with ``--only``
or ``--articles`` get their own names and never replace ``latest``).

``--cold`` runs the cold 4-article comparison instead (``bench/cold.py``, ``cold.*``);
``--device cuda`` the GPU benchmark (``bench/gpu.py``, ``gpu.*``; ``--smoke`` checks it
on this machine's CPU with a small model).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.articles import BenchArticle, build_articles
from bench.load import exit_on_sigterm
from bench.model import NLLB_600M, QUICK, ModelShape, ensure_model, parameter_count

log = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LOG_DIR = Path(__file__).resolve().parent / ".cache" / "logs"
TARGET_LANGUAGES = ("az", "fa", "hy")


@dataclass(frozen=True)
class Profile:
    """What one run measures, and how much of it."""

    name: str
    shape: ModelShape
    articles: int
    raw_items: int  # sentence x language pairs per batch size in part (1)
    batch_sizes: tuple[int, ...]
    baseline_sentences: int  # sentences (into one language) in part (3)
    stem: str


FULL = Profile("full", NLLB_600M, 20, 128, (8, 16, 32, 64), 30, "latest")
QUICK_CHECK = Profile("quick check", QUICK, 3, 48, (8, 16, 32, 64), 10, "quick")


def article_sentences(articles: list[BenchArticle]) -> list[str]:
    """The distinct sentences the worker translates: titles and bodies, segmented as it does."""
    from worker.pipeline.text import segment_document

    sentences: list[str] = []
    for article in articles:
        sentences += segment_document(article.title, "en").sentences
        sentences += segment_document(article.text, "en").sentences
    return list(dict.fromkeys(sentences))


def worker_budget(args: argparse.Namespace) -> int:
    """The decoder-position budget of the worker's batches in this run."""
    from service.settings import Settings

    for item in args.worker_env:
        key, _, value = item.partition("=")
        if key == "DRAGOMAN_TRANSLATION_MAX_BATCH_TOKENS":
            return int(value)
    default = Settings.model_fields["translation_max_batch_tokens"].default
    return int(os.environ.get("DRAGOMAN_TRANSLATION_MAX_BATCH_TOKENS", default))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small model, 3 articles (~1 min)")
    parser.add_argument(
        "--only",
        choices=("raw", "e2e", "baseline"),
        action="append",
        help="run only this part (repeatable); the report marks the others missing",
    )
    parser.add_argument(
        "--articles", type=int, help="articles of the end-to-end part (default: 20, quick: 3)"
    )
    parser.add_argument("--decode-length", type=int, help="fixed decoding length of part (1)")
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment of the API and worker (e.g. DRAGOMAN_TRANSLATION_BATCH_SIZE=32)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument(
        "--cold", action="store_true", help="4 held-out articles, first job loads the model"
    )
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="cuda: the GPU benchmark"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="with --device: a small model, a few articles"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build what is needed, measure the chosen parts, return the results."""
    from bench import engine

    profile = QUICK_CHECK if args.quick else FULL
    parts = set(args.only or ("raw", "e2e", "baseline"))
    threads = len(os.sched_getaffinity(0))
    started = time.monotonic()
    built = ensure_model(profile.shape)
    log.info("model %s (%s)", built.ct2_dir, "cached" if built.reused else "built")
    articles = build_articles(args.articles or profile.articles)
    sentences = article_sentences(articles)
    items = engine.tokenize(built.ct2_dir, sentences, TARGET_LANGUAGES)
    raw_items = engine.spread(items, profile.raw_items)
    results: dict[str, Any] = {
        "profile": profile.name,
        "machine": report.machine(),
        "model": {
            "shape": profile.shape.name,
            "shape_key": profile.shape.key(),
            "dims": profile.shape.dims,
            "model_vocab_size": profile.shape.model_vocab_size,
            "tokenizer_pieces": profile.shape.spm_vocab_size,
            "parameters": parameter_count(built.hf_dir),
            "ct2_dir": str(built.ct2_dir),
        },
        "workload": {
            "articles": len(articles),
            "body_sentences_per_article": [a.sentence_count for a in articles],
            "distinct_sentences": len(sentences),
            "targets": list(TARGET_LANGUAGES),
            "mean_source_tokens": round(sum(len(i.tokens) for i in items) / len(items), 2),
        },
        "raw": None,
        "e2e": None,
        "baseline": None,
        "errors": {},
    }
    # End to end first, while this process holds no model and no busy thread pool.
    if "e2e" in parts:
        from bench.e2e import E2EError, measure_e2e

        log.info("(2) end to end: %d articles into %s", len(articles), TARGET_LANGUAGES)
        try:
            extra = dict(item.split("=", 1) for item in args.worker_env)
            results["e2e"] = measure_e2e(
                built.ct2_dir,
                articles,
                TARGET_LANGUAGES,
                log_dir=LOG_DIR / profile.stem,
                extra_env=extra,
            )
        except E2EError as exc:
            log.error("(2) end to end failed: %s", exc)
            results["errors"]["e2e"] = str(exc)
    if "raw" in parts:
        # Random weights never stop, so the engine decodes every sentence to a bound; the
        # ceiling is measured at the length the end-to-end run decoded, so that (2)/(1)
        # compares the same work per token.
        decoded = (results["e2e"] or {}).get("target_tokens_per_segment")
        if args.decode_length:
            decode_length, source = args.decode_length, "--decode-length"
        elif decoded:
            decode_length, source = round(decoded), "end-to-end target tokens per sentence"
        else:
            decode_length, source = engine.mean_bound(items), "mean of min(1024, 2n+16)"
        log.info("(1) raw CTranslate2: %d items, decoding length %d", len(raw_items), decode_length)
        results["raw"] = engine.measure_raw(
            built.ct2_dir,
            raw_items,
            batch_sizes=profile.batch_sizes,
            decode_length=decode_length,
            threads=threads,
            budget=worker_budget(args),
        )
        results["raw"]["decode_length_from"] = source
    if "baseline" in parts:
        subset = engine.spread(sentences, profile.baseline_sentences)
        log.info("(3) transformers baseline: %d sentences", len(subset))
        results["baseline"] = engine.measure_baseline(
            built.hf_dir, subset, TARGET_LANGUAGES[0], threads=threads
        )
    results["ratios"] = report.ratios(results)
    results["duration_s"] = round(time.monotonic() - started, 1)
    return results


def results_stem(args: argparse.Namespace) -> str:
    """``latest`` (``quick``) for a standard run; a partial, resized or reconfigured one
    gets its own name, so it never overwrites the standard figures."""
    stem = QUICK_CHECK.stem if args.quick else FULL.stem
    if args.only:
        stem += "-only-" + "-".join(sorted(set(args.only)))
    if args.articles:
        stem += f"-{args.articles}-articles"
    for item in sorted(args.worker_env):
        key, _, value = item.partition("=")
        name = key.removeprefix("DRAGOMAN_").lower().replace("_", "-")
        stem += "-" + re.sub(r"[^a-z0-9.-]+", "-", f"{name}-{value}".lower()).strip("-")
    return stem


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    exit_on_sigterm()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
    # Never reach the Hugging Face Hub: every model here is built locally.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.device == "cuda" or args.smoke:
        from bench import gpu

        return gpu.main(args)
    if args.cold:
        return _cold(args)
    results = run(args)
    json_path, md_path = report.write(results, args.output, results_stem(args))
    print(report.markdown(results))
    print(f"results: {json_path}\n         {md_path}")
    if results["errors"]:
        logs = LOG_DIR / (QUICK_CHECK.stem if args.quick else FULL.stem)
        print(f"failed parts: {', '.join(results['errors'])}; worker logs in {logs}")
        return 1
    return 0


def _cold(args: argparse.Namespace) -> int:
    from bench import cold

    profile = QUICK_CHECK if args.quick else FULL
    built = ensure_model(profile.shape)
    results = cold.run_cold(
        built.ct2_dir,
        budget=worker_budget(args),
        log_dir=LOG_DIR / f"cold-{profile.stem}",
        extra_env=dict(item.split("=", 1) for item in args.worker_env),
    )
    results["machine"] = report.machine()
    results["model"] = f"random weights, {profile.shape.name}, CTranslate2 int8"
    stem = "cold" + ("-quick" if args.quick else "")
    json_path, md_path = cold.write(results, args.output, stem)
    print(cold.markdown(results))
    print(f"results: {json_path}\n         {md_path}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

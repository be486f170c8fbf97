"""In-process measurements: the CTranslate2 ceiling and the naive transformers baseline.

Target tokens are counted as the worker's ``dragoman_translation_target_tokens_total``
counts them: the whole hypothesis, the target-language token included (the decoder
start token is not part of a hypothesis). Random weights never emit the end token, so
every sentence decodes to its length bound and the work is the same on every run.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import cpu_share, status_kib
from worker.engines.memory import release_free_memory
from worker.engines.planning import cut_batches

log = logging.getLogger("bench.engine")

NLLB_SOURCE = "eng_Latn"
NLLB_TARGETS = {"az": "azj_Latn", "fa": "pes_Arab", "hy": "hye_Armn"}


@dataclass(frozen=True)
class Item:
    """One sentence to translate into one language, pre-tokenised."""

    tokens: tuple[str, ...]
    target: str  # the model's code, e.g. azj_Latn


def decoding_bound(source_tokens: int, limit: int = 1024) -> int:
    """The length bound the engines put on a translation of ``source_tokens`` tokens."""
    return min(limit, 2 * source_tokens + 16)


def tokenize(model_dir: Path, sentences: Sequence[str], targets: Sequence[str]) -> list[Item]:
    """Every sentence into every target, tokenised as the engines do (language code first)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), src_lang=NLLB_SOURCE)
    ids = tokenizer(list(sentences), add_special_tokens=True, truncation=False)["input_ids"]
    tokens = [tuple(tokenizer.convert_ids_to_tokens(row)) for row in ids]
    return [Item(t, NLLB_TARGETS[target]) for target in targets for t in tokens]


def spread(items: Sequence[Any], count: int) -> list[Any]:
    """``count`` items taken at even steps, so a subset has the whole set's lengths."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def mean_bound(items: Sequence[Item]) -> int:
    """The mean decoding bound of ``items``: the fixed decoding length of the raw runs."""
    return round(statistics.fmean(decoding_bound(len(item.tokens)) for item in items))


def measure_raw(
    ct2_dir: Path,
    items: Sequence[Item],
    *,
    batch_sizes: Sequence[int],
    decode_length: int,
    threads: int,
    budget: int | None = None,
) -> dict[str, Any]:
    """CTranslate2 ``translate_batch`` throughput at each batch size; the best is the ceiling.

    Items are sorted by length and cut into batches, as the worker's engine does, and
    every hypothesis is forced to ``decode_length`` tokens. Each run records its peak
    resident memory above the loaded model's. With ``budget`` (the worker's
    ``DRAGOMAN_TRANSLATION_MAX_BATCH_TOKENS``), one more run cuts batches as the
    worker does, rows x (longest source + decoding length) within the budget: the
    ceiling at the memory the worker allows itself.
    """
    import ctranslate2

    translator = ctranslate2.Translator(
        str(ct2_dir), device="cpu", compute_type="int8", intra_threads=threads, inter_threads=1
    )
    ordered = sorted(items, key=lambda item: len(item.tokens))
    options = {"beam_size": 1, "return_scores": False, "max_batch_size": 0}
    # One short batch first: allocators and thread pools warm up outside the timings.
    translator.translate_batch(
        [list(item.tokens) for item in ordered[:4]],
        target_prefix=[[item.target] for item in ordered[:4]],
        max_decoding_length=8,
        min_decoding_length=8,
        **options,
    )
    plans: list[tuple[str, int | None, list[list[Item]]]] = [
        ("batch size", size, [ordered[i : i + size] for i in range(0, len(ordered), size)])
        for size in batch_sizes
    ]
    if budget:
        plans.append(("budget", budget, budgeted(ordered, budget, decode_length)))
    base_kib = status_kib(os.getpid(), "VmRSS")
    runs: list[dict[str, Any]] = []
    for kind, size, batches in plans:
        tokens = 0
        # Hand back what the previous run freed, so that its pages do not count as this
        # run's peak.
        release_free_memory()
        _reset_peak()
        cpu, start = time.process_time(), time.perf_counter()
        for batch in batches:
            results = translator.translate_batch(
                [list(item.tokens) for item in batch],
                target_prefix=[[item.target] for item in batch],
                max_decoding_length=decode_length,
                min_decoding_length=decode_length,
                **options,
            )
            tokens += sum(len(result.hypotheses[0]) for result in results)
        seconds = time.perf_counter() - start
        peak_kib = status_kib(os.getpid(), "VmHWM")
        run = {
            "batch_size": size if kind == "batch size" else None,
            "budget": size if kind == "budget" else None,
            "batches": len(batches),
            "mean_rows": round(len(ordered) / len(batches), 1),
            "sentences": len(ordered),
            "target_tokens": tokens,
            "seconds": round(seconds, 3),
            "target_tokens_per_s": round(tokens / seconds, 2),
            "cpu_share": cpu_share(time.process_time() - cpu, seconds, threads),
            "peak_rss_over_model_mib": round(max(0, peak_kib - base_kib) / 1024, 1),
        }
        runs.append(run)
        log.info("raw %s %s: %.1f target tokens/s", kind, size, tokens / seconds)
    del translator
    gc.collect()
    sized = [run for run in runs if run["batch_size"] is not None]
    best = max(sized, key=lambda run: run["target_tokens_per_s"])
    within = next((run for run in runs if run["budget"] is not None), None)
    return {
        "engine": f"ctranslate2 {ctranslate2.__version__} int8",
        "intra_threads": threads,
        "inter_threads": 1,
        "decode_length": decode_length,
        "mean_source_tokens": round(statistics.fmean(len(i.tokens) for i in items), 2),
        "runs": runs,
        "best_batch_size": best["batch_size"],
        "target_tokens_per_s": best["target_tokens_per_s"],
        "cpu_share": best["cpu_share"],
        "peak_rss_over_model_mib": best["peak_rss_over_model_mib"],
        "within_budget": within,
    }


def budgeted(ordered: Sequence[Item], budget: int, decode_length: int) -> list[list[Item]]:
    """Length-sorted items cut as the worker's engine cuts them, at a fixed decoding length."""
    runs = cut_batches(
        [len(item.tokens) for item in ordered],
        lambda rows, width: rows * (width + decode_length),
        budget,
    )
    return [[ordered[position] for position in run] for run in runs]


def _reset_peak() -> None:
    """Start VmHWM afresh from the current resident size (Linux)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def measure_baseline(
    hf_dir: Path, sentences: Sequence[str], target: str, *, threads: int
) -> dict[str, Any]:
    """transformers fp32, one sentence per ``generate`` call, greedy: the naive way.

    Runs the product's ``TransformersTranslator`` with batch size 1; each sentence
    decodes to the engine's bound (twice its length plus 16 tokens).
    """
    import torch

    from worker.engines.hf import TransformersTranslator

    translator = TransformersTranslator(
        str(hf_dir),
        batch_size=1,
        num_beams=1,
        threads=threads,
        dtype="float32",
        local_files_only=True,
    )
    translator.generate_ids(["A short warm-up sentence."], "en", target)
    tokens = 0
    cpu, start = time.process_time(), time.perf_counter()
    for sentence in sentences:
        (ids,) = translator.generate_ids([sentence], "en", target)
        tokens += len(ids) - 1  # the decoder start token is no hypothesis token
    seconds = time.perf_counter() - start
    share = cpu_share(time.process_time() - cpu, seconds, threads)
    del translator
    gc.collect()
    log.info("baseline: %.2f target tokens/s", tokens / seconds)
    return {
        "engine": f"transformers PyTorch {torch.__version__} float32, batch 1, greedy",
        "threads": threads,
        "sentences": len(sentences),
        "target_language": target,
        "subset": f"{len(sentences)} sentences x 1 language ({target}) of the article set",
        "target_tokens": tokens,
        "seconds": round(seconds, 3),
        "target_tokens_per_s": round(tokens / seconds, 2),
        "cpu_share": share,
    }

"""The GPU benchmark: ``python -m bench.run --device cuda`` (``make bench-gpu``, ``bench/gpu.sh``).

For the NLLB-200-distilled-600M shape and the NLLB-200-3.3B shape (random weights,
bfloat16 checkpoints built here), on one GPU:

1. end to end: articles posted to the HTTP API and translated by one worker running
   the transformers engine on CUDA (the device's defaults: bf16, SDPA, batch budget
   from the free GPU memory, take size and concurrency for a GPU), SQLite and the
   embedded broker; the worker's GPU memory sampled with ``nvidia-smi``;
2. the raw engine ceiling: ``generate`` on pre-tokenised sentences at the best batch
   size, every row decoded to the length the end-to-end run decoded per sentence.

Reported as target tokens/s and articles/min, with GPU memory, the ratio (1)/(2)
and the ratio of (1) to the CPU end-to-end figure in ``bench/results/latest.json``;
written to ``bench/results/gpu.json`` and ``gpu.md`` after each shape, so a run cut
short keeps what it measured. ``--smoke`` runs the same code on the CPU with the
quick shape (``gpu-smoke.*``), to check the benchmark itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.articles import build_articles
from bench.engine import NLLB_SOURCE, NLLB_TARGETS, decoding_bound, spread
from bench.model import NLLB_3B3, NLLB_600M, QUICK, ModelShape, ensure_hf, parameter_count

log = logging.getLogger("bench.gpu")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LOG_DIR = Path(__file__).resolve().parent / ".cache" / "logs"
TARGETS = ("az", "fa", "hy")
E2E_GOAL = 0.85
CPU_GOAL = 30.0


@dataclass(frozen=True)
class Run:
    """One shape of a GPU benchmark and how much of it to measure."""

    shape: ModelShape
    articles: int
    raw_items: int


@dataclass(frozen=True)
class Profile:
    device: str
    dtype: str
    runs: tuple[Run, ...]
    batch_sizes: tuple[int, ...]
    stem: str


GPU = Profile(
    "cuda",
    "bfloat16",
    (Run(NLLB_600M, 60, 2048), Run(NLLB_3B3, 24, 1024)),
    (128, 256, 512, 1024),
    "gpu",
)
SMOKE = Profile("cpu", "float32", (Run(QUICK, 2, 24),), (8, 24), "gpu-smoke")


class GpuMemory:
    """Peak GPU memory in use (MiB) while it runs, from ``nvidia-smi``; None without it."""

    def __init__(self) -> None:
        self.peak: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            try:
                out = subprocess.run(
                    ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                ).stdout
                used = max(int(line) for line in out.split() if line.strip().isdigit())
            except (OSError, ValueError, subprocess.SubprocessError):
                continue
            self.peak = max(self.peak or 0, used)

    def finish(self) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        return self.peak


def _encode(hf_dir: Path, sentences: Sequence[str]) -> tuple[list[tuple[list[int], int]], Any]:
    """Every sentence into every target: (input ids, forced target token)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(hf_dir), src_lang=NLLB_SOURCE)
    ids = tokenizer(list(sentences), add_special_tokens=True, truncation=False)["input_ids"]
    items = []
    for target in TARGETS:
        forced = int(tokenizer.convert_tokens_to_ids(NLLB_TARGETS[target]))
        items += [(list(row), forced) for row in ids]
    return items, tokenizer


def measure_raw(
    hf_dir: Path,
    items: Sequence[tuple[list[int], int]],
    *,
    pad_id: int,
    batch_sizes: Sequence[int],
    decode_length: int,
    device: str,
    dtype: str,
) -> dict[str, Any]:
    """``generate`` throughput on pre-tokenised input at each batch size; the best is the
    ceiling. Rows of one target share a batch (one forced language token per call)."""
    import torch
    from transformers import AutoModelForSeq2SeqLM

    on_gpu = device.startswith("cuda")
    options: dict[str, Any] = {"dtype": getattr(torch, dtype)}
    if on_gpu:
        options["attn_implementation"] = "sdpa"
    started = time.perf_counter()
    model = AutoModelForSeq2SeqLM.from_pretrained(str(hf_dir), **options).to(device).eval()
    load = time.perf_counter() - started
    by_target: dict[int, list[list[int]]] = {}
    for ids, forced in items:
        by_target.setdefault(forced, []).append(ids)

    def generate(rows: list[list[int]], forced: int, length: int) -> int:
        width = max(map(len, rows))
        inputs = torch.tensor([r + [pad_id] * (width - len(r)) for r in rows]).to(device)
        lengths = torch.tensor([len(r) for r in rows]).to(device)
        mask = (torch.arange(width, device=device) < lengths[:, None]).long()
        with torch.inference_mode():
            out = model.generate(
                input_ids=inputs,
                attention_mask=mask,
                forced_bos_token_id=forced,
                num_beams=1,
                do_sample=False,
                max_length=length,
                min_length=length,
            )
        return int(out.shape[0] * out.shape[1])  # the one device-to-host copy is the shape

    first = next(iter(by_target.items()))
    generate(first[1][:4], first[0], 8)  # kernels and allocator warm up outside the timings
    runs = []
    for size in batch_sizes:
        if on_gpu:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        tokens = 0
        start = time.perf_counter()
        for forced, rows in by_target.items():
            ordered = sorted(rows, key=len)
            for i in range(0, len(ordered), size):
                tokens += generate(ordered[i : i + size], forced, decode_length)
        if on_gpu:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() / 2**20 if on_gpu else None
        runs.append(
            {
                "batch_size": size,
                "target_tokens": tokens,
                "seconds": round(seconds, 3),
                "target_tokens_per_s": round(tokens / seconds, 2),
                "peak_gpu_memory_mib": round(peak, 1) if peak is not None else None,
            }
        )
        log.info("raw batch %d: %.1f target tokens/s", size, tokens / seconds)
    best = max(runs, key=lambda run: run["target_tokens_per_s"])
    return {
        "engine": f"transformers {dtype} on {device}" + (", sdpa" if on_gpu else ""),
        "items": len(items),
        "decode_length": decode_length,
        "load_seconds": round(load, 3),
        "runs": runs,
        "best_batch_size": best["batch_size"],
        "target_tokens_per_s": best["target_tokens_per_s"],
        "peak_gpu_memory_mib": best["peak_gpu_memory_mib"],
    }


def measure_shape(profile: Profile, run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Build (or reuse) the shape's checkpoint, then end to end, then the raw ceiling."""
    from bench.e2e import E2EError, measure_e2e
    from bench.run import article_sentences

    started = time.monotonic()
    hf_dir = ensure_hf(run.shape, profile.dtype)
    built = time.monotonic() - started
    articles = build_articles(args.articles or run.articles)
    sentences = article_sentences(articles)
    items, tokenizer = _encode(hf_dir, sentences)
    result: dict[str, Any] = {
        "shape": run.shape.name,
        "dims": run.shape.dims,
        "parameters": parameter_count(hf_dir),
        "checkpoint_dtype": profile.dtype,
        "build_seconds": round(built, 1),
        "e2e": None,
        "raw": None,
        "errors": {},
    }
    checks = "flag" if importlib.util.find_spec("lingua") else "off"
    env = {
        "DRAGOMAN_DEVICE": profile.device,
        "DRAGOMAN_QUALITY_CHECKS": checks,
        **dict(item.split("=", 1) for item in args.worker_env),
    }
    memory = GpuMemory() if profile.device == "cuda" else None
    try:
        result["e2e"] = measure_e2e(
            hf_dir,
            articles,
            TARGETS,
            log_dir=LOG_DIR / f"{profile.stem}-{run.shape.key()}",
            extra_env=env,
            backend="transformers",
        )
    except E2EError as exc:
        log.error("end to end failed: %s", exc)
        result["errors"]["e2e"] = str(exc)
    finally:
        if memory is not None:
            peak = memory.finish()
            if result["e2e"] is not None:
                result["e2e"]["peak_gpu_memory_mib"] = peak
    decoded = (result["e2e"] or {}).get("target_tokens_per_segment")
    decode_length = round(decoded) if decoded else decoding_bound(32)
    result["raw"] = measure_raw(
        hf_dir,
        spread(items, run.raw_items),
        pad_id=int(tokenizer.pad_token_id),
        batch_sizes=profile.batch_sizes,
        decode_length=decode_length,
        device=profile.device,
        dtype=profile.dtype,
    )
    result["ratios"] = _ratios(result)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _cpu_reference() -> dict[str, Any] | None:
    try:
        latest = json.loads((RESULTS_DIR / "latest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    e2e = latest.get("e2e") or {}
    if not e2e.get("target_tokens_per_s"):
        return None
    return {
        "target_tokens_per_s": e2e["target_tokens_per_s"],
        "articles_per_min": e2e["articles_per_min"],
        "machine": f"{latest['machine']['cpu']}, {latest['machine']['cores']} cores",
        "date": latest["machine"]["date"],
    }


def _ratios(result: dict[str, Any]) -> dict[str, Any]:
    e2e, raw = result["e2e"] or {}, result["raw"] or {}
    cpu = _cpu_reference()
    ratios: dict[str, Any] = {"e2e_over_raw": None, "e2e_over_cpu": None}
    if e2e and raw:
        value = e2e["target_tokens_per_s"] / raw["target_tokens_per_s"]
        ratios["e2e_over_raw"] = {"value": round(value, 3), "met": value >= E2E_GOAL}
    if e2e and cpu:
        value = e2e["target_tokens_per_s"] / cpu["target_tokens_per_s"]
        ratios["e2e_over_cpu"] = {"value": round(value, 2), "met": value >= CPU_GOAL}
    ratios["cpu_reference"] = cpu
    return ratios


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"# GPU throughput ({results['profile']})",
        "",
        f"{m['date']} on {results.get('gpu') or 'no GPU'}; host {m['cpu']}, {m['cores']} "
        f"cores; {', '.join(f'{k} {v}' for k, v in m['versions'].items())}.",
        "Random weights; the transformers engine through the API with the device's defaults.",
        "",
        "| shape | measure | target tokens/s | articles/min | GPU memory | notes |",
        "|---|---|---:|---:|---:|---|",
    ]
    for shape in results["shapes"]:
        e2e, raw, r = shape["e2e"] or {}, shape["raw"] or {}, shape["ratios"]
        name = f"{shape['shape']} ({shape['parameters']:,})"
        if e2e:
            lines.append(
                f"| {name} | end to end via the API | {e2e['target_tokens_per_s']} | "
                f"{e2e['articles_per_min']} | {report._fmt(e2e.get('peak_gpu_memory_mib'))} MiB "
                f"(peak, whole GPU) | {e2e['articles']} articles x 3, {e2e['seconds']} s; "
                f"checks {e2e['worker_env'].get('DRAGOMAN_QUALITY_CHECKS')}; "
                f"{e2e.get('engine') or ''} |"
            )
        if raw:
            lines.append(
                f"| {name} | raw `generate` ceiling | {raw['target_tokens_per_s']} | | "
                f"{report._fmt(raw.get('peak_gpu_memory_mib'))} MiB (peak allocated) | best "
                f"batch {raw['best_batch_size']}, decoding length {raw['decode_length']}, "
                f"{raw['engine']} |"
            )
        for key, label, goal in (
            ("e2e_over_raw", "end to end / raw ceiling", f">= {E2E_GOAL}"),
            ("e2e_over_cpu", "end to end / 2-core CPU end to end", f">= {CPU_GOAL}"),
        ):
            if r.get(key):
                lines.append(
                    f"| {name} | {label} | {r[key]['value']} | | | goal {goal}: "
                    f"{report._met(r[key]['met'])} |"
                )
        if e2e.get("breakdown"):
            b = e2e["breakdown"]
            lines.append(
                f"| {name} | where the time went | | | | engine busy {b['engine_busy_seconds']}"
                f" s, planning {b['planning_seconds']} s, idle {b['scheduler_idle_seconds']} "
                f"s of {b['wall_seconds']} s; pipeline CPU {b['pipeline_cpu_seconds_total']} s |"
            )
        for part, message in shape["errors"].items():
            lines.append(f"| {name} | {part} failed | | | | {message.splitlines()[0]} |")
    return "\n".join(lines) + "\n"


def _gpu_name() -> str | None:
    try:
        import torch

        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
    except ImportError:
        pass
    return None


def main(args: argparse.Namespace) -> int:
    """Measure every shape of the profile, writing the results after each."""
    profile = SMOKE if args.smoke else GPU
    if profile.device == "cuda" and _gpu_name() is None:
        log.error("no CUDA device: run with --smoke to check the benchmark on the CPU")
        return 2
    results: dict[str, Any] = {
        "profile": "smoke check on the CPU" if args.smoke else "GPU",
        "machine": report.machine(),
        "gpu": _gpu_name(),
        "shapes": [],
    }
    folder: Path = args.output
    folder.mkdir(parents=True, exist_ok=True)
    failed = False
    for run in profile.runs:
        log.info("%s: %d articles", run.shape.name, args.articles or run.articles)
        shape = measure_shape(profile, run, args)
        failed = failed or bool(shape["errors"])
        results["shapes"].append(shape)
        (folder / f"{profile.stem}.json").write_text(
            json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (folder / f"{profile.stem}.md").write_text(markdown(results), encoding="utf-8")
        print(markdown(results))
    os.sync()
    return 1 if failed else 0

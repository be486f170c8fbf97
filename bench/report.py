"""The machine's description, the ratios and targets, and the JSON and Markdown reports."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

# (2)/(1): the service keeps the engine busy; (2)/(3): it beats the naive approach.
TARGETS = {"e2e_over_raw": 0.85, "e2e_over_baseline": 8.0}
RSS_TARGET_MIB = 1536
# Below this CPU share a part did not have the machine to itself (or left cores idle).
BUSY_SHARE = 0.9


def _proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """CPU, cores, memory and library versions of this machine, and the date."""
    memory = _proc_field("/proc/meminfo", "MemTotal")
    versions: dict[str, str | None] = {}
    for package in ("ctranslate2", "torch", "transformers"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": len(os.sched_getaffinity(0)),
        "ram_gib": round(int(memory.split()[0]) / 1024**2, 1) if memory else None,
        "python": platform.python_version(),
        "versions": versions,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """(2)/(1) and (2)/(3) with whether each target is met (None where a part is missing)."""
    raw = (results.get("raw") or {}).get("target_tokens_per_s")
    within = ((results.get("raw") or {}).get("within_budget") or {}).get("target_tokens_per_s")
    e2e = (results.get("e2e") or {}).get("target_tokens_per_s")
    base = (results.get("baseline") or {}).get("target_tokens_per_s")
    out: dict[str, Any] = {}
    for name, target, denominator in (
        ("e2e_over_raw", TARGETS["e2e_over_raw"], raw),
        ("e2e_over_raw_within_budget", TARGETS["e2e_over_raw"], within),
        ("e2e_over_baseline", TARGETS["e2e_over_baseline"], base),
    ):
        value = round(e2e / denominator, 3) if e2e and denominator else None
        out[name] = {
            "value": value,
            "target": target,
            "met": None if value is None else value >= target,
        }
    rss = ((results.get("e2e") or {}).get("worker_memory") or {}).get("peak_rss_mib")
    out["worker_peak_rss"] = {
        "value_mib": rss,
        "target_mib": RSS_TARGET_MIB,
        "met": None if rss is None else rss < RSS_TARGET_MIB,
    }
    return out


def _met(flag: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "n/a"}[flag]


def _fmt(value: Any, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:,}{suffix}"


def markdown(results: dict[str, Any]) -> str:
    """A short Markdown table of the figures, targets and machine."""
    m, model = results["machine"], results["model"]
    raw, e2e, base = (results.get(k) or {} for k in ("raw", "e2e", "baseline"))
    within = raw.get("within_budget") or {}
    r = results["ratios"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        f"# Translation throughput ({results['profile']})",
        "",
        f"{m['date']} on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; {versions}.",
        f"Model: random weights, {model['shape']} ({model['parameters']:,} parameters), "
        "CTranslate2 int8.",
        "",
        "| measure | target tokens/s | CPU share | notes |",
        "|---|---:|---:|---|",
        f"| (1) raw CTranslate2 `translate_batch` | {_fmt(raw.get('target_tokens_per_s'))} | "
        f"{_fmt(raw.get('cpu_share'))} | "
        + (
            f"best batch {raw['best_batch_size']}, decoding length {raw['decode_length']}, "
            f"{raw['intra_threads']} threads, peak +{raw['peak_rss_over_model_mib']:,} MiB |"
            if raw
            else "- |"
        ),
        f"| (1b) raw, batches cut by the worker's memory budget | "
        f"{_fmt(within.get('target_tokens_per_s'))} | {_fmt(within.get('cpu_share'))} | "
        + (
            f"{within['budget']:,} decoder positions per batch, mean "
            f"{within['mean_rows']} rows, peak +{within['peak_rss_over_model_mib']:,} MiB |"
            if within
            else "- |"
        ),
        f"| (2) end to end via the API | {_fmt(e2e.get('target_tokens_per_s'))} | "
        f"{_fmt(e2e.get('cpu_share'))} | "
        + (
            f"{e2e['articles']} articles x {len(e2e['target_languages'])} languages, "
            f"{e2e['articles_per_min']} articles/min, {e2e['seconds']} s |"
            if e2e
            else "- |"
        ),
        f"| (3) transformers fp32, one sentence at a time | "
        f"{_fmt(base.get('target_tokens_per_s'))} | {_fmt(base.get('cpu_share'))} | "
        f"{base.get('subset', '-')} |",
        "",
        "| target | value | goal | |",
        "|---|---:|---:|---|",
        f"| (2)/(1) | {_fmt(r['e2e_over_raw']['value'])} | >= {TARGETS['e2e_over_raw']} | "
        f"{_met(r['e2e_over_raw']['met'])} |",
        f"| (2)/(1b) | {_fmt(r['e2e_over_raw_within_budget']['value'])} | "
        f">= {TARGETS['e2e_over_raw']} | {_met(r['e2e_over_raw_within_budget']['met'])} |",
        f"| (2)/(3) | {_fmt(r['e2e_over_baseline']['value'])} | "
        f">= {TARGETS['e2e_over_baseline']} | {_met(r['e2e_over_baseline']['met'])} |",
        f"| worker peak RSS | {_fmt(r['worker_peak_rss']['value_mib'], ' MiB')} | "
        f"< {RSS_TARGET_MIB} MiB | {_met(r['worker_peak_rss']['met'])} |",
    ]
    shares = [part.get("cpu_share") for part in (raw, e2e, base) if part]
    if any(share is not None and share < BUSY_SHARE for share in shares):
        lines += [
            "",
            f"Warning: a part had under {BUSY_SHARE:.0%} of the {m['cores']} cores (CPU share "
            "= CPU seconds / (wall seconds x cores)); the machine was busy with other work "
            "or the part left cores idle, so compare figures with care.",
        ]
    b = e2e.get("breakdown")
    if b:
        stages = ", ".join(f"{k} {v}" for k, v in b["pipeline_cpu_seconds"].items())
        lines += [
            "",
            f"Where the end-to-end {b['wall_seconds']} s went (worker counters): engine busy "
            f"{b['engine_busy_seconds']} s, batch planning {b['planning_seconds']} s, "
            f"scheduler idle {b['scheduler_idle_seconds']} s, the scheduler's rest "
            f"{b['scheduler_other_seconds']} s; pipeline CPU {b['pipeline_cpu_seconds_total']} "
            f"s ({stages or 'none'}).",
        ]
    errors = results.get("errors") or {}
    if errors:
        lines += ["", "Parts that failed:", ""]
        lines += [f"- {part}: {message.splitlines()[0]}" for part, message in errors.items()]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], folder: Path, stem: str) -> tuple[Path, Path]:
    """Write ``stem.json`` and ``stem.md`` into ``folder`` (each replaced whole)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / f"{stem}.json", folder / f"{stem}.md")
    texts = (json.dumps(results, indent=2, ensure_ascii=False) + "\n", markdown(results))
    for path, text in zip(paths, texts, strict=True):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return paths

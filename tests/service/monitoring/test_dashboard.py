"""The Grafana dashboard in docs/grafana: every query is valid PromQL and names only
metrics the API and the workers export."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY, Metric

import worker.metrics
from service.monitoring.metrics import BacklogCollector
from testkit.procs import REPO

DASHBOARD = REPO / "docs" / "grafana" / "dragoman.json"
# PromQL words that look like names but are not metrics
KEYWORDS = frozenset({"bool", "offset", "and", "or", "unless", "inf", "nan"})
# Grafana's variables, as a range Prometheus accepts
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def exported() -> set[str]:
    """Sample names of the metrics the code registers, families without samples included."""
    assert worker.metrics.JOBS  # the worker's metrics are registered in this process too
    families: list[Metric] = [*REGISTRY.collect(), *BacklogCollector(None, None).describe()]
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_count", "_sum"),
        "gauge": ("",),
    }
    return {
        family.name + suffix
        for family in families
        if family.name.startswith("dragoman_")
        for suffix in suffixes[family.type]
    }


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    # label lists of aggregations and vector matching
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group().lower() not in KEYWORDS:
            names.add(match.group())
    return names


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    return found


def expressions() -> list[str]:
    return [target["expr"] for panel in panels() for target in panel["targets"]]


def test_names_are_found_in_expressions() -> None:
    expr = 'sum by (status) (rate(dragoman_nope_total{status="x"}[5m])) * 60 / on() up'
    assert metric_names(expr) == {"dragoman_nope_total", "up"}
    assert metric_names(
        "histogram_quantile(0.95, sum by (le) (rate(a_bucket[$__rate_interval])))"
    ) == {"a_bucket"}


def test_every_query_names_an_exported_metric() -> None:
    known = exported()
    assert {
        "dragoman_jobs_finished_total",
        "dragoman_jobs",
        "dragoman_job_duration_seconds_bucket",
    } <= known
    for expr in expressions():
        names = metric_names(expr)
        assert names, expr
        assert names <= known, f"{sorted(names - known)} in {expr!r} are not exported"


def test_the_panels_cover_what_operators_watch() -> None:
    titles = " | ".join(panel["title"].lower() for panel in panels())
    for topic in (
        "jobs finished per minute, by status", "queue depth", "job duration p50 / p95",
        "queue wait", "sentences", "tokens", "batch fill", "cache hit ratio",
        "flags", "webhook", "model load time", "interactive latency",
    ):  # fmt: skip
        assert topic in titles, topic
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids))
    for panel in panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool (Prometheus's own parser) checks each query as a recording rule."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian: apt-get install prometheus)")
    rules = []
    for index, expr in enumerate(expressions()):
        for variable, value in GRAFANA_RANGES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dragoman:panel_query_{index}", "expr": expr})
    path = tmp_path / "rules.json"  # YAML is a superset of JSON
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules)} rules found" in checked.stdout

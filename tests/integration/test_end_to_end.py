"""The whole service as it runs in production: API server, Celery worker, broker, store, model.

Each test starts real processes with the `dragoman` command, posts the sample
article over HTTP, and follows the job until it finishes. The model is the
tests' tiny random-weight NLLB checkpoint, so translations are gibberish; what
is checked is structure, counts, codes, states and progress.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.procs import REPO, Proc, free_port
from tests.conftest import SAMPLE_ARTICLE
from tests.integration.conftest import base_env, wait_job, wait_ready, wait_until

pytestmark = pytest.mark.integration

TARGETS = ["az", "fa", "hy"]


def article() -> tuple[str, str]:
    """The sample's headline and its body (everything after the headline)."""
    text = SAMPLE_ARTICLE.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    headline = next(p for p in paragraphs if "Liberated" in p)
    body = "\n\n".join(paragraphs[paragraphs.index(headline) + 1 :])
    return headline, body


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def check_result(job: dict[str, Any], body: str) -> None:
    assert job["status"] == "succeeded", job["error"]
    assert job["error"] is None
    assert job["detected_language"] == "en"
    assert job["detected_confidence"] > 0.5
    assert job["attempts"] == 1
    summary = job["summary"]
    assert len(summary["sentences"]) == 3
    for sentence in summary["sentences"]:
        # one from inside a quotation comes with the quotation's marks ("“Of course, ...”")
        assert squash(sentence.lstrip('“"«').rstrip('”"»')) in squash(body), sentence
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    assert set(job["translations"]) == set(TARGETS)
    for code, result in job["translations"].items():
        assert result["status"] == "succeeded", (code, result)
        assert result["title"] and result["summary"], code
        assert len(result["body"].split("\n\n")) == len(paragraphs), code
        assert result["direction"] == ("rtl" if code == "fa" else "ltr")
    assert job["progress"]["total"] > 0
    assert job["progress"]["done"] == job["progress"]["total"]


def submit(base: str, title: str, body: str, **extra: Any) -> dict[str, Any]:
    payload = {
        "title": title,
        "text": body,
        "source_language": "auto",
        "target_languages": TARGETS,
        "summary": {"sentences": 3},
        "translate": ["title", "summary", "body"],
        **extra,
    }
    response = httpx.post(f"{base}/v1/jobs", json=payload, timeout=30)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def test_postgres_broker_api_and_worker(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    tiny_nllb_ct2_dir: Path,
    postgres_url: str,
    broker_url: str,
) -> None:
    """Production layout: PostgreSQL, Redis or RabbitMQ, a CTranslate2 model, API and
    worker apart."""
    metrics_port = free_port()
    env = base_env(
        tmp_path / "data",
        tiny_nllb_ct2_dir,
        DRAGOMAN_DATABASE_URL=postgres_url,
        DRAGOMAN_BROKER_URL=broker_url,
        DRAGOMAN_METRICS_PORT=str(metrics_port),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = spawn("worker", ["worker", "--concurrency", "1"], env)
    api = spawn("api", ["api", "--port", str(port)], env)
    wait_ready(base, [worker, api])

    languages = {lang["code"] for lang in httpx.get(f"{base}/v1/languages").json()["languages"]}
    assert {"en", "az", "fa", "hy", "azb"} <= languages
    title, body = article()
    job = submit(base, title, body)
    # readable while it runs; per-language results appear as each finishes
    seen_partial = wait_until(
        lambda: _partial_or_done(base, job["id"]), 240, "progress", [worker, api]
    )
    assert seen_partial
    done = wait_job(base, job["id"], [worker, api])
    check_result(done, body)
    # the worker ran the CTranslate2 engine and says so in its metrics
    exposed = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    tokens = _metric(exposed, "dragoman_translation_target_tokens_total")
    assert tokens > done["progress"]["total"]
    assert _metric(exposed, 'dragoman_jobs_finished_total{status="succeeded"}') == 1

    # the CLI talks to the same API and waits for the result
    article_file = tmp_path / "short.txt"
    article_file.write_text("The talks will resume in Baku on Monday.\n\nNo date was set.")
    cli = subprocess.run(
        [
            sys.executable, "-m", "worker.cli", "submit", str(article_file),
            "--to", "az,fa,hy", "--wait", "--json", "--api", base,
        ],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    result = json.loads(cli.stdout)
    assert result["status"] == "succeeded"
    assert set(result["translations"]) == set(TARGETS)
    assert "No date was set." in result["summary"]["sentences"]

    # an unknown code is refused with the model's list
    refused = httpx.post(
        f"{base}/v1/jobs", json={"text": "Hello there.", "target_languages": ["tlh"]}
    )
    assert refused.status_code == 422
    assert "hy" in refused.json()["error"]["details"]["supported"]


def _metric(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not exposed")


def _partial_or_done(base: str, job_id: str) -> bool:
    job = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=5).json()
    if job["status"] == "succeeded":
        return True
    finished = [t for t in job["translations"].values() if t["status"] == "succeeded"]
    return job["status"] == "running" and 0 < len(finished) < len(TARGETS)


def test_embedded_serve_survives_a_restart(
    spawn: Callable[..., Proc], tmp_path: Path, tiny_nllb_ct2_dir: Path
) -> None:
    """No Redis, no PostgreSQL: `dragoman serve` with SQLite and the filesystem broker.

    (The transformers engine runs end to end in test_lifecycle.py.)
    """
    env = base_env(tmp_path / "data", tiny_nllb_ct2_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    title, body = article()

    # the API alone accepts jobs while no worker runs; then it goes down
    api = spawn("api", ["api", "--port", str(port)], env)
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, 60, "api", [api])
    queued = submit(base, title, body)
    assert api.stop(signal.SIGINT) == 0
    assert (tmp_path / "data" / "broker" / "queue").exists()

    # one command brings back API and worker; the job queued before the restart runs
    serve = spawn("serve", ["serve", "--port", str(port)], env)
    wait_ready(base, [serve])
    check_result(wait_job(base, queued["id"], [serve]), body)
    again = submit(base, title, body, translate=["title"])
    finished = wait_job(base, again["id"], [serve])
    assert finished["status"] == "succeeded"
    assert all(t["body"] is None for t in finished["translations"].values())

    # Ctrl-C stops everything cleanly, the worker included
    assert serve.stop(signal.SIGINT) == 0
    assert "Warm shutdown" in serve.log.read_text() or "worker: Warm shutdown" in serve.tail(200)

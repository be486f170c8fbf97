"""The LibreTranslate-compatible API on a real `dragoman serve`: a real client library,
an interactive call while the worker is busy with long articles, a burst of calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from libretranslatepy import LibreTranslateAPI

from testkit.procs import Proc, free_port
from tests.integration.conftest import base_env, wait_ready, wait_until

pytestmark = pytest.mark.integration


def serve(spawn: Callable[..., Proc], tmp_path: Path, model: str, **env: str) -> tuple[str, Proc]:
    port = free_port()
    environment = base_env(tmp_path / "data", Path(model), **env)
    proc = spawn("serve", ["serve", "--port", str(port), "--concurrency", "1"], environment)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, [proc])
    # ready means a heartbeat with the model's languages: /languages lists them
    wait_until(lambda: httpx.get(f"{base}/languages").json(), 60, "languages", [proc])
    return base, proc


def test_libretranslatepy_translates_detects_and_lists(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    base, _ = serve(
        spawn,
        tmp_path,
        "echo",
        DRAGOMAN_TRANSLATION_BACKEND="echo",
        DRAGOMAN_INTERACTIVE_TIMEOUT_SECONDS="120",
    )
    client = LibreTranslateAPI(base)
    assert client.translate("Talks resumed in Baku.", "en", "az") == "Talks resumed in Baku."
    assert client.translate("Prezident bu gün çıxış edib.", "auto", "hy") == (
        "Prezident bu gün çıxış edib."
    )
    detected = client.detect("Prezident bu gün Bakıda çıxış edib.")
    assert detected[0]["language"] == "az"
    assert 50 < detected[0]["confidence"] <= 100
    codes = {language["code"] for language in client.languages()}
    assert {"az", "fa", "hy", "en", "zh", "zt"} <= codes


def long_article(sentences: int) -> str:
    return "\n\n".join(
        f"Delegation {n} met officials in the capital on Monday and discussed the border "
        "crossing, the officials said."
        for n in range(sentences)
    )


def test_an_interactive_call_answers_while_long_articles_run(
    spawn: Callable[..., Proc], tmp_path: Path, tiny_nllb_ct2_dir: Path
) -> None:
    """One pool slot, taken by a long article and another waiting: the call still answers."""
    base, proc = serve(spawn, tmp_path, str(tiny_nllb_ct2_dir))
    jobs = []
    for _ in range(2):
        response = httpx.post(
            f"{base}/v1/jobs",
            json={
                "text": long_article(600),
                "source_language": "en",
                "target_languages": ["az", "fa", "hy"],
                "translate": ["body"],
            },
            timeout=30,
        )
        assert response.status_code == 202, response.text
        jobs.append(response.json()["id"])

    def running() -> bool:
        return bool(httpx.get(f"{base}/v1/jobs/{jobs[0]}").json()["status"] == "running")

    wait_until(running, 300, "the article to be running", [proc])
    started = time.monotonic()
    answer = httpx.post(
        f"{base}/translate",
        json={"q": "Talks resumed today.", "source": "en", "target": "az", "alternatives": 2},
        timeout=60,
    )
    took = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body["translatedText"], str) and body["translatedText"]
    assert isinstance(body["alternatives"], list)
    statuses = [httpx.get(f"{base}/v1/jobs/{job}").json()["status"] for job in jobs]
    # the pool was full all along: the answer did not wait for it
    assert statuses == ["running", "queued"], (statuses, took)


def test_a_burst_of_fifty_calls_all_answer(spawn: Callable[..., Proc], tmp_path: Path) -> None:
    # (a long timeout: what is tested is that every call answers, not how fast a
    # machine busy with other work answers them)
    base, _ = serve(
        spawn,
        tmp_path,
        "echo",
        DRAGOMAN_TRANSLATION_BACKEND="echo",
        DRAGOMAN_INTERACTIVE_TIMEOUT_SECONDS="120",
    )

    def call(n: int) -> tuple[int, Any]:
        response = httpx.post(
            f"{base}/translate",
            data={"q": f"Short sentence number {n}.", "source": "en", "target": "fa"},
            timeout=150,
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(call, range(50)))
    assert [status for status, _ in results] == [200] * 50, results
    assert [body["translatedText"] for _, body in results] == [
        f"Short sentence number {n}." for n in range(50)
    ]

"""Articles from a URL and as HTML, through the API and a real worker.

A local site on loopback serves written news pages; the worker fetches, extracts,
translates (the echo engine: the text comes back as it went, so what is checked is
the plumbing: source, metadata, structure, markup) and records the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.procs import Proc, free_port
from tests.fixtures.site import PAGES, LocalSite, page
from tests.integration.conftest import base_env, wait_job, wait_ready

pytestmark = pytest.mark.integration


@pytest.fixture
def service(spawn: Callable[..., Proc], tmp_path: Path) -> Iterator[str]:
    env = base_env(
        tmp_path / "data",
        Path("echo"),
        DRAGOMAN_TRANSLATION_BACKEND="echo",
        DRAGOMAN_ALLOW_PRIVATE_FETCH="true",  # the site runs on loopback
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = spawn("serve", ["serve", "--port", str(port)], env)
    wait_ready(base, [serve])
    yield base


def post(base: str, **payload: Any) -> dict[str, Any]:
    body = {"target_languages": ["fa"], "translate": ["title", "body"], **payload}
    response = httpx.post(f"{base}/v1/jobs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def test_articles_from_a_url_and_from_html(service: str) -> None:
    with LocalSite() as site:
        site.route("/story", page((PAGES / "en-news.html").read_bytes()))
        site.route("/front", page((PAGES / "front-page.html").read_bytes()))
        url = site.url("/story")
        from_url = post(service, url=url, source_language="auto")
        as_html = post(
            service,
            html=(PAGES / "fa-fragment.html").read_text(encoding="utf-8"),
            source_language="fa",
            target_languages=["en"],
            output="html",
        )
        not_an_article = post(service, url=site.url("/front"))
        done = wait_job(service, from_url["id"], [], timeout=120)
        html_done = wait_job(service, as_html["id"], [], timeout=120)
        refused = wait_job(service, not_an_article["id"], [], timeout=120)

    assert done["status"] == "succeeded", done["error"]
    assert done["source"]["kind"] == "url" and done["source"]["url"] == url
    assert done["source"]["final_url"] == url and done["source"]["fetched_at"]
    assert done["detected_language"] == "en"
    body = done["translations"]["fa"]["body"]
    assert len([p for p in body.split("\n\n") if p.strip()]) >= 3  # the structure survives
    assert "<" not in body  # plain text out: no markup leaked into it

    assert html_done["status"] == "succeeded", html_done["error"]
    out = html_done["translations"]["en"]["body"]
    assert out.count("<a ") >= 1 and "href=" in out  # inline links kept
    assert 'lang="en"' in out
    assert "<script" not in out and "onclick" not in out and "javascript:" not in out

    assert refused["status"] == "failed"
    assert refused["error"]["code"] == "not_an_article"

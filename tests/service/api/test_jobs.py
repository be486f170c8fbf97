"""The HTTP API through TestClient, against a real store and a real (embedded) broker.

Requests carry an API key of tenant "newsroom" (auth is on by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service import store
from service.db import Database
from service.models import Job, WebhookDelivery
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.api import ARTICLE, client_for, queued_messages, register_worker


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings) as c:
        yield c


def test_submit_stores_queues_and_points_to_the_job(client: TestClient, settings: Settings) -> None:
    response = client.post("/v1/jobs", json=ARTICLE)
    assert response.status_code == 202
    job = response.json()
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued"
    assert job["source_language"] == "auto"
    assert list(job["translations"]) == ["az", "fa", "hy"]
    assert job["progress"] == {"done": 0, "total": 0}
    assert job["translate"] == ["title", "summary"]
    # the task message carries only the job id, and really reached the broker
    messages = queued_messages(settings)
    assert len(messages) == 1
    assert job["id"] in messages[0].read_text()
    assert ARTICLE["text"][:20] not in messages[0].read_text()
    assert client.get(response.headers["Location"]).json()["id"] == job["id"]


def test_codes_are_normalised_and_deduplicated(client: TestClient) -> None:
    body = {**ARTICLE, "target_languages": ["AZ", "pes_Arab", "hye", "fa-IR", "azb"]}
    body["source_language"] = "eng"
    job = client.post("/v1/jobs", json=body).json()
    assert list(job["translations"]) == ["az", "fa", "hy", "azb"]
    assert job["source_language"] == "en"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**ARTICLE, "text": ""}, 422, "invalid_input"),
        ({**ARTICLE, "text": "  \n\n "}, 422, "invalid_input"),
        ({**ARTICLE, "target_languages": []}, 422, "invalid_input"),
        ({**ARTICLE, "target_languages": ["xx-not-a-language"]}, 422, "unsupported_language"),
        ({**ARTICLE, "source_language": "klingon"}, 422, "unsupported_language"),
        ({**ARTICLE, "target_languages": "az"}, 422, "invalid_input"),
        ({**ARTICLE, "text": 42}, 422, "invalid_input"),
        ({**ARTICLE, "summary": {"sentences": 0}}, 422, "invalid_input"),
        ({**ARTICLE, "summary": {"sentences": 2, "ratio": 0.5}}, 422, "invalid_input"),
        ({**ARTICLE, "summary": {"ratio": 1.5}}, 422, "invalid_input"),
        ({**ARTICLE, "translate": ["everything"]}, 422, "invalid_input"),
        ({**ARTICLE, "unexpected": True}, 422, "invalid_input"),
        ({"text": "no targets"}, 422, "invalid_input"),
        ([1, 2, 3], 422, "invalid_input"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_kept(
    client: TestClient, settings: Settings, body: object, status: int, code: str
) -> None:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert client.get("/v1/jobs").json()["items"] == []
    assert queued_messages(settings) == []


def test_malformed_json_and_wrong_encoding(client: TestClient) -> None:
    for raw in (b'{"text": "unterminated', b"\xff\xfe\x00garbage", b""):
        response = client.post(
            "/v1/jobs", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, raw
        assert response.json()["error"]["code"] == "invalid_input"
    assert client.get("/v1/jobs").json()["items"] == []


def test_text_over_the_limit_is_413(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_text_chars=100)
    with client_for(settings) as client:
        response = client.post("/v1/jobs", json={**ARTICLE, "text": "word " * 50})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "text_too_long"
        assert "100" in response.json()["error"]["message"]
        assert client.get("/v1/jobs").json()["items"] == []


def test_unknown_language_lists_what_the_model_supports(
    client: TestClient, settings: Settings
) -> None:
    db = Database(settings.effective_database_url)
    register_worker(db, ["az", "en", "fa", "hy"], settings.translation_model)
    response = client.post("/v1/jobs", json={**ARTICLE, "target_languages": ["az", "de"]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unsupported_language"
    assert "de" in error["message"]
    assert error["details"]["supported"] == ["az", "en", "fa", "hy"]
    languages = client.get("/v1/languages").json()
    assert languages["model"] == settings.translation_model
    by_code = {language["code"]: language for language in languages["languages"]}
    assert by_code["fa"] == {
        "code": "fa",
        "name": "Persian",
        "native_name": "فارسی",
        "direction": "rtl",
    }
    assert by_code["hy"]["native_name"] == "հայերեն"
    assert by_code["az"]["native_name"] == "azərbaycan"
    db.dispose()


def test_languages_unknown_before_any_worker(client: TestClient) -> None:
    response = client.get("/v1/languages")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "model_unavailable"


def test_list_paginates_newest_first_and_filters(client: TestClient) -> None:
    ids = [client.post("/v1/jobs", json=ARTICLE).json()["id"] for _ in range(3)]
    first = client.get("/v1/jobs", params={"limit": 2}).json()
    assert [j["id"] for j in first["items"]] == ids[:0:-1]
    second = client.get("/v1/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [j["id"] for j in second["items"]] == [ids[0]]
    assert second["next_cursor"] is None
    assert client.get("/v1/jobs", params={"status": "running"}).json()["items"] == []
    assert client.get("/v1/jobs", params={"status": "bogus"}).status_code == 422
    assert client.get("/v1/jobs", params={"cursor": "%%%"}).status_code == 422
    assert client.get("/v1/jobs", params={"limit": 0}).status_code == 422


def test_cancel(client: TestClient) -> None:
    job_id = client.post("/v1/jobs", json=ARTICLE).json()["id"]
    cancelled = client.delete(f"/v1/jobs/{job_id}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert {t["status"] for t in cancelled.json()["translations"].values()} == {"cancelled"}
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_unknown_job_and_route_are_404(client: TestClient) -> None:
    for response in (
        client.get("/v1/jobs/0f0f0f0f-0000-0000-0000-000000000000"),
        client.delete("/v1/jobs/nope"),
        client.get("/v1/nothing-here"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client.put("/v1/jobs").status_code == 405


def test_broker_down_answers_503_and_keeps_nothing(tmp_path: Path) -> None:
    # nothing listens on port 1: the broker is down
    settings = make_settings(
        tmp_path, broker_url="redis://127.0.0.1:1/0", broker_publish_timeout=0.5
    )
    with client_for(settings) as client:
        response = client.post("/v1/jobs", json=ARTICLE)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "broker_unavailable"
        assert response.headers["Retry-After"]
        assert client.get("/v1/jobs").json()["items"] == []
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"]["ok"] is False


def test_health_and_readiness(client: TestClient, settings: Settings) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["workers"] == {"ok": False, "count": 0}
    db = Database(settings.effective_database_url)
    register_worker(db, ["en"], settings.translation_model)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["status"] == "ready"
    model = ready.json()["checks"]["model"]
    assert model["ok"] and model["status"] == "ready" and model["engine"] == "ctranslate2"
    db.dispose()


@pytest.mark.parametrize("state", ["pulling", "loading"])
def test_a_model_on_its_way_is_ready_to_queue_jobs(
    client: TestClient, settings: Settings, state: str
) -> None:
    db = Database(settings.effective_database_url)
    register_worker(db, None, settings.translation_model, status=state)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"]["model"] == {
        "ok": True,
        "status": state,
        "model": settings.translation_model,
    }
    db.dispose()


def test_readiness_says_why_the_model_is_unavailable(
    client: TestClient, settings: Settings
) -> None:
    db = Database(settings.effective_database_url)
    reason = "Cannot download model 'x' from https://huggingface.co (connection refused)."
    register_worker(db, None, settings.translation_model, status="unavailable", error=reason)
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    checks = not_ready.json()["checks"]
    assert checks["workers"] == {"ok": True, "count": 1}
    assert checks["model"]["ok"] is False and checks["model"]["error"] == reason
    # one worker with the model ready is enough
    register_worker(db, ["en", "fa"], settings.translation_model, name="worker@other")
    assert client.get("/readyz").status_code == 200
    db.dispose()


def test_openapi_documents_the_job_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/languages", "/healthz", "/readyz"} <= set(paths)


def test_callback_url_is_checked_stored_and_echoed_with_deliveries(
    client: TestClient, db: Database
) -> None:
    # an IP literal: checked without a DNS query
    url = "https://93.184.215.14/hooks/dragoman"
    job = client.post("/v1/jobs", json={**ARTICLE, "callback_url": url}).json()
    assert job["webhook"] == {"url": url, "status": "pending", "deliveries": []}
    with db.session() as session:
        stored = session.get(Job, job["id"])
        assert stored is not None and stored.callback_url == url
        stored.webhook_status = "delivered"
        session.add_all(
            [
                WebhookDelivery(job_id=job["id"], attempt=1, status_code=502, delivered=False),
                WebhookDelivery(job_id=job["id"], attempt=2, status_code=200, delivered=True),
            ]
        )
        session.commit()
    for shown in (
        client.get(f"/v1/jobs/{job['id']}").json(),
        client.get("/v1/jobs").json()["items"][0],
    ):
        webhook = shown["webhook"]
        assert webhook["status"] == "delivered"
        assert [
            (d["attempt"], d["status_code"], d["delivered"]) for d in webhook["deliveries"]
        ] == [
            (1, 502, False),
            (2, 200, True),
        ]
        assert webhook["deliveries"][0]["error"] is None
        assert webhook["deliveries"][0]["created_at"]
    # a job without a callback has no webhook
    assert client.post("/v1/jobs", json=ARTICLE).json()["webhook"] is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "ftp://93.184.215.14/hook",
        "https://user:pass@93.184.215.14/hook",
        "not a url",
    ],
)
def test_internal_or_malformed_callback_urls_are_refused(client: TestClient, url: str) -> None:
    response = client.post("/v1/jobs", json={**ARTICLE, "callback_url": url})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert client.get("/v1/jobs").json()["items"] == []


def test_private_callbacks_when_the_operator_allows_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, allow_private_callbacks=True)
    with client_for(settings) as client:
        response = client.post("/v1/jobs", json={**ARTICLE, "callback_url": "http://127.0.0.1/h"})
        assert response.status_code == 202


# -- articles as HTML and as URLs -------------------------------------------------------

TARGETS = {"target_languages": ["fa"]}
FRAGMENT = '<p>Delegations met in <a href="https://example.org/baku">Baku</a> on <b>Monday</b>.</p>'


def stored_job(settings: Settings, job_id: str) -> Job:
    db = Database(settings.effective_database_url)
    try:
        return store.get_job(db, job_id)
    finally:
        db.dispose()


def test_a_text_job_shows_its_source(client: TestClient) -> None:
    job = client.post("/v1/jobs", json=ARTICLE).json()
    assert job["source"] == {"kind": "text", "url": None, "fetched_at": None, "final_url": None}
    assert job["output"] == "text"
    assert (job["author"], job["published"], job["site"]) == (None, None, None)


def test_html_input_is_stored_for_the_worker(client: TestClient, settings: Settings) -> None:
    job = client.post("/v1/jobs", json={**TARGETS, "html": FRAGMENT, "output": "html"}).json()
    assert job["source"]["kind"] == "html" and job["output"] == "html"
    row = stored_job(settings, job["id"])
    assert row.html == FRAGMENT and row.text == ""
    # LibreTranslate's way: text written in HTML; the output keeps the markup.
    job = client.post("/v1/jobs", json={**TARGETS, "text": FRAGMENT, "format": "html"}).json()
    assert job["source"]["kind"] == "html" and job["output"] == "html"
    assert stored_job(settings, job["id"]).html == FRAGMENT
    # HTML input without output=html gives text (the extracted article).
    assert client.post("/v1/jobs", json={**TARGETS, "html": FRAGMENT}).json()["output"] == "text"


def test_a_url_job_is_queued_without_fetching(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, allow_private_fetch=True)
    with client_for(settings) as client:
        url = "http://127.0.0.1:9/article"  # nothing listens there: it is not fetched now
        response = client.post("/v1/jobs", json={**TARGETS, "url": url, "output": "html"})
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["source"] == {"kind": "url", "url": url, "fetched_at": None, "final_url": None}
        assert job["title"] is None and job["status"] == "queued"
        row = stored_job(settings, job["id"])
        assert row.source_url == url and row.text == "" and row.key_id is not None


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/admin", "http://localhost:8000/", "http://[::1]/", "http://10.0.0.7/cms"],
)
def test_an_internal_url_is_refused_at_submission(
    client: TestClient, settings: Settings, url: str
) -> None:
    response = client.post("/v1/jobs", json={**TARGETS, "url": url})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "fetch_refused"
    assert client.get("/v1/jobs").json()["items"] == []
    assert queued_messages(settings) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**TARGETS}, "exactly one of text, html or url"),
        ({**TARGETS, "text": "Words.", "url": "https://example.org/"}, "got text, url"),
        ({**TARGETS, "html": FRAGMENT, "url": "https://example.org/"}, "got html, url"),
        ({**TARGETS, "url": "ftp://example.org/a"}, "http"),
        ({**TARGETS, "url": "https://user:pw@example.org/a"}, "credentials"),
        ({**TARGETS, "text": "Words.", "output": "html"}, "output=html needs HTML input"),
        ({**TARGETS, "html": FRAGMENT, "format": "html"}, "format=html describes text"),
        ({**TARGETS, "html": "   "}, "must not be empty"),
        ({**TARGETS, "url": "https://example.org/", "output": "pdf"}, "output"),
    ],
)
def test_source_rules(client: TestClient, body: dict[str, object], fragment: str) -> None:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] in ("invalid_input", "fetch_refused")
    assert fragment in response.text


def test_html_limits_count_text_not_markup(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_text_chars=100, max_html_chars=5000)
    markup = "<p>" + '<span class="x" data-tracking="abcdefghij">word</span> ' * 20 + "</p>"
    assert len(markup) > 1000  # 99 characters of text
    with client_for(settings) as client:
        response = client.post("/v1/jobs", json={**TARGETS, "html": markup})
        assert response.status_code == 202, response.text
        too_long = client.post("/v1/jobs", json={**TARGETS, "html": "<p>" + "word " * 30 + "</p>"})
        assert too_long.status_code == 413
        huge = client.post("/v1/jobs", json={**TARGETS, "html": "<b></b>" * 1000})
        assert huge.status_code == 413 and "DRAGOMAN_MAX_HTML_CHARS" in huge.text

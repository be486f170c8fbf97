"""``GET /metrics`` through TestClient: recorded counters, backlog gauges, the optional token."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.api.app import create_app
from service.queue import JobQueue
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.api import ARTICLE, bearer, client_for


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


SUBMITTED = ("dragoman_jobs_submitted_total", (("lane", "articles"), ("source_kind", "text")))


def test_metrics_count_submissions_and_read_the_backlog(settings: Settings) -> None:
    with client_for(settings) as client:
        before = samples(client.get("/metrics").text)
        assert before[("dragoman_jobs", (("status", "queued"),))] == 0
        assert before[("dragoman_queue_oldest_age_seconds", ())] == 0
        for _ in range(2):
            assert client.post("/v1/jobs", json=ARTICLE).status_code == 202
        response = client.get("/metrics", headers={"Authorization": ""})  # no key needed
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = samples(response.text)
    assert after[SUBMITTED] - before.get(SUBMITTED, 0) == 2
    assert after[("dragoman_jobs", (("status", "queued"),))] == 2
    assert after[("dragoman_jobs", (("status", "running"),))] == 0
    assert after[("dragoman_queue_messages", (("queue", "dragoman.jobs"),))] == 2
    # every queue is reported, a queue nothing was ever sent to as empty
    for queue in ("dragoman.interactive", "dragoman.webhooks"):
        assert after[("dragoman_queue_messages", (("queue", queue),))] == 0
    assert after[("dragoman_queue_oldest_age_seconds", ())] >= 0
    # aggregates only: no tenant, no text
    assert "newsroom" not in response.text
    assert "Baku" not in response.text


def test_a_refused_job_is_not_counted(settings: Settings) -> None:
    with client_for(settings) as client:
        before = samples(client.get("/metrics").text).get(SUBMITTED, 0)
        refused = client.post("/v1/jobs", json={**ARTICLE, "target_languages": []})
        assert refused.status_code == 422
        assert samples(client.get("/metrics").text).get(SUBMITTED, 0) == before


def test_the_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, metrics_token="scrape-secret")
    with client_for(settings) as client:
        for headers in (
            {"Authorization": ""},
            bearer("wrong"),
            {"Authorization": "Basic scrape-secret"},
            {"X-API-Key": "scrape-secret"},
        ):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 401, headers
            error = response.json()["error"]
            assert error["code"] == "unauthorized"
            assert "DRAGOMAN_METRICS_TOKEN" in error["message"]
        assert client.get("/metrics", headers=bearer("scrape-secret")).status_code == 200


def test_metrics_are_listed_in_the_openapi_document(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert "/metrics" in client.get("/openapi.json").json()["paths"]


def test_the_broker_gauge_counts_each_queue(settings: Settings) -> None:
    with client_for(settings) as client:
        queue = JobQueue(settings)
        try:
            queue.send_interactive("00000000-0000-0000-0000-000000000001")
            for _ in range(3):
                queue.send_webhook("00000000-0000-0000-0000-000000000002")
        finally:
            queue.close()
        counts = samples(client.get("/metrics").text)
    assert counts[("dragoman_queue_messages", (("queue", "dragoman.interactive"),))] == 1
    assert counts[("dragoman_queue_messages", (("queue", "dragoman.webhooks"),))] == 3
    assert counts[("dragoman_queue_messages", (("queue", "dragoman.jobs"),))] == 0

"""Garbage in, 4xx out: the API fuzzed from its own OpenAPI schema, and hand-made abuse.

Schemathesis generates valid and invalid requests for every operation and
checks that none is answered with a 5xx and that every answer matches the
schema (status codes, content types, bodies).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from service.api.app import create_app
from service.db import Database
from tests.conftest import make_settings
from tests.fixtures.api import ARTICLE, client_for, make_key, register_worker

# Not negative_data_rejection: it reports requests as "invalid but accepted" when
# the invalid part vanished on the way (an omitted query value, the generated
# Authorization header replaced by our valid key). Rejection is tested by hand below.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[tuple[schemathesis.BaseSchema, str]]:
    """The app's schema (requests go to the app itself) and a valid key."""
    # Private callbacks and fetches allowed: the fuzzer's random hosts must not send DNS
    # queries.
    app_settings = make_settings(
        tmp_path / "data",
        allow_private_callbacks=True,
        allow_private_fetch=True,
        rate_limit_per_minute=1_000_000,
    )
    key = make_key(app_settings)
    # A live worker, so that /v1/languages and /readyz have something to report.
    db = Database(app_settings.effective_database_url)
    register_worker(db, ["az", "en", "fa", "hy"], app_settings.translation_model)
    db.dispose()
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(app_settings)), key
    shutdown_lifespans()


# Schemathesis' pytest plugin does not run under this pytest, so Hypothesis drives
# its strategies directly: one run over all operations per generation mode.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_makes_a_server_error(
    fuzzed: tuple[schemathesis.BaseSchema, str], mode: GenerationMode
) -> None:
    schema, key = fuzzed

    @given(case=schema.as_strategy(mode))
    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

    check()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(make_settings(tmp_path / "data")) as c:
        yield c


def post_raw(client: TestClient, body: bytes, content_type: str = "application/json") -> int:
    response = client.post("/v1/jobs", content=body, headers={"Content-Type": content_type})
    assert response.json()["error"]["code"], response.text
    return response.status_code


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "unterminated',
        b"{'text': 'single quotes'}",
        b'{"text": "x", "target_languages": ["az"],}',
        b"NaN",
        b"",
    ],
)
def test_malformed_json_is_4xx(client: TestClient, body: bytes) -> None:
    assert 400 <= post_raw(client, body) < 500


@pytest.mark.parametrize(
    "body",
    [
        {**ARTICLE, "text": ["a", "list"]},
        {**ARTICLE, "title": {"an": "object"}},
        {**ARTICLE, "target_languages": [1, 2]},
        {**ARTICLE, "summary": {"sentences": "three"}},
        {**ARTICLE, "summary": {"sentences": 10**100}},
        {**ARTICLE, "callback_url": 12},
        {**ARTICLE, "text": None},
        "just a string",
        None,
    ],
)
def test_wrong_types_are_422(client: TestClient, body: object) -> None:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_input"


def test_invalid_utf8_and_lone_surrogates_are_4xx(client: TestClient) -> None:
    assert 400 <= post_raw(client, b'{"text": "\xff\xfe", "target_languages": ["az"]}') < 500
    assert 400 <= post_raw(client, b"\xc3\x28") < 500
    # valid JSON, but "\ud800" decodes to a string no database can store
    lone = b'{"text": "caf\\ud800", "target_languages": ["az"]}'
    assert post_raw(client, lone) == 422


def test_deeply_nested_json_is_4xx_not_a_recursion_error(client: TestClient) -> None:
    for depth in (10_000, 200_000):
        nested = b"[" * depth + b"]" * depth
        assert 400 <= post_raw(client, nested) < 500
        assert 400 <= post_raw(client, b'{"text": ' + nested + b"}") < 500


def test_huge_strings_over_the_body_limit_are_413(tmp_path: Path) -> None:
    with client_for(make_settings(tmp_path / "data", max_body_bytes=64 * 1024)) as client:
        response = client.post("/v1/jobs", json={**ARTICLE, "text": "x" * 100_000})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        huge_query = client.get("/v1/jobs", params={"cursor": "c" * 10_000})
        assert huge_query.status_code == 422


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_wrong_content_type_is_4xx(client: TestClient, content_type: str) -> None:
    body = b'{"text": "Hello.", "target_languages": ["az"]}'
    assert 400 <= post_raw(client, body, content_type) < 500
    assert client.get("/v1/jobs").json()["items"] == []


def test_garbage_in_paths_and_queries_is_4xx(client: TestClient) -> None:
    for path in (
        "/v1/jobs/%00",
        "/v1/jobs/" + "x" * 5000,
        "/v1/jobs?limit=abc",
        "/v1/jobs?limit=99999999999999999999999",
        "/v1/jobs?status=%ff",
        "/v1/jobs?cursor=%ed%a0%80",
    ):
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.text)
    assert client.delete("/v1/jobs/%ed%a0%80").status_code == 404

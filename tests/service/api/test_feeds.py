"""The feed routes through TestClient, against a real store (auth on: tenant "newsroom")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service import feeds
from service.db import Database
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.api import client_for

FEED = {"url": "http://127.0.0.1:9/rss.xml", "target_languages": ["az", "fa"]}


@pytest.fixture
def feed_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, allow_private_fetch=True, max_feeds_per_tenant=3)


@pytest.fixture
def client(feed_settings: Settings) -> Iterator[TestClient]:
    with client_for(feed_settings) as c:
        yield c


def test_follow_show_and_stop_following(client: TestClient, feed_settings: Settings) -> None:
    body = {**FEED, "summary": {"sentences": 2}, "translate": ["title", "body"], "output": "html"}
    response = client.post("/v1/feeds", json={**body, "interval_minutes": 30})
    assert response.status_code == 201, response.text
    feed = response.json()
    assert response.headers["Location"] == f"/v1/feeds/{feed['id']}"
    assert feed["status"] == "active" and feed["error"] is None
    assert feed["interval_minutes"] == 30 and feed["last_polled_at"] is None
    assert feed["options"]["target_languages"] == ["az", "fa"]
    assert feed["options"]["output"] == "html" and feed["options"]["summary"]["sentences"] == 2
    assert feed["items_seen"] == 0 and feed["items"] == []
    assert [f["id"] for f in client.get("/v1/feeds").json()["items"]] == [feed["id"]]

    # What a poll made shows on the feed.
    db = Database(feed_settings.effective_database_url)
    item = feeds.NewItem(key="k1", guid="cw-1", link="https://example.org/1", title="Story")
    item_id = feeds.claim_item(db, feed["id"], item)
    assert item_id is not None
    feeds.record_item(db, item_id, job_id="0f0f0f0f-0000-0000-0000-000000000001")
    db.dispose()
    shown = client.get(f"/v1/feeds/{feed['id']}").json()
    assert shown["items_seen"] == 1
    assert shown["items"][0]["job_id"] == "0f0f0f0f-0000-0000-0000-000000000001"
    assert shown["items"][0]["guid"] == "cw-1"

    assert client.delete(f"/v1/feeds/{feed['id']}").status_code == 204
    assert client.get(f"/v1/feeds/{feed['id']}").status_code == 404
    assert client.get("/v1/feeds").json()["items"] == []


def test_feeds_belong_to_their_tenant(client: TestClient, feed_settings: Settings) -> None:
    feed_id = client.post("/v1/feeds", json=FEED).json()["id"]
    with client_for(feed_settings, tenant="otherdesk") as other:
        assert other.get(f"/v1/feeds/{feed_id}").status_code == 404
        assert other.delete(f"/v1/feeds/{feed_id}").status_code == 404
        assert other.get("/v1/feeds").json()["items"] == []
    assert client.get(f"/v1/feeds/{feed_id}").status_code == 200


def test_a_tenant_follows_a_limited_number_of_feeds(client: TestClient) -> None:
    for n in range(3):
        assert (
            client.post("/v1/feeds", json={**FEED, "url": f"http://127.0.0.1:9/{n}"}).status_code
            == 201
        )
    response = client.post("/v1/feeds", json=FEED)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "feed_limit"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**FEED, "interval_minutes": 1}, "invalid_input"),
        ({**FEED, "interval_minutes": 0}, "invalid_input"),
        ({**FEED, "url": "ftp://example.org/rss"}, "fetch_refused"),
        ({**FEED, "target_languages": ["xx-nope"]}, "unsupported_language"),
        ({**FEED, "summary": {"sentences": 500}}, "invalid_input"),
        ({**FEED, "text": "not a feed field"}, "invalid_input"),
        ({"target_languages": ["fa"]}, "invalid_input"),
    ],
)
def test_bad_feeds_are_refused(client: TestClient, body: dict[str, object], code: str) -> None:
    response = client.post("/v1/feeds", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert client.get("/v1/feeds").json()["items"] == []


def test_an_internal_feed_url_is_refused(tmp_path: Path) -> None:
    with client_for(make_settings(tmp_path)) as client:
        response = client.post("/v1/feeds", json=FEED)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "fetch_refused"


def test_feeds_need_a_key(feed_settings: Settings) -> None:
    from service.api.app import create_app

    with TestClient(create_app(feed_settings)) as anonymous:
        assert anonymous.post("/v1/feeds", json=FEED).status_code == 401
        assert anonymous.get("/v1/feeds").status_code == 401

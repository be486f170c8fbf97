"""The LibreTranslate-compatible API through TestClient, answered by a real interactive lane.

The lane is the worker's own consumer thread (``worker.runtime.interactive``) reading
the embedded broker, with the echo engine (each sentence comes back as it is), so the
whole path runs: fields, key, limits, the interactive job, the queue, the worker's
pipeline, the stored answer, LibreTranslate's shape.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.contract import JobStatus
from service.db import Database, upgrade_database
from service.models import Job
from service.queue import make_producer
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.api import make_key, register_worker
from worker.pipeline.context import WorkerContext
from worker.pipeline.interactive import run_interactive
from worker.runtime.interactive import InteractiveLane

LANGUAGES = ["az", "en", "fa", "hy", "pt", "zh", "zh-Hant"]


@pytest.fixture
def lt_settings(tmp_path: Path) -> Settings:
    settings = make_settings(
        tmp_path / "data",
        translation_backend="echo",
        translation_model="echo",
        interactive_timeout_seconds=10,
        interactive_char_limit=200,
    )
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)
    return settings


@pytest.fixture
def lt_db(lt_settings: Settings) -> Iterator[Database]:
    database = Database(lt_settings.effective_database_url)
    yield database
    database.dispose()


@pytest.fixture
def lane(lt_settings: Settings, lt_db: Database) -> Iterator[InteractiveLane]:
    """A worker's interactive lane in this process, with its heartbeat recorded."""
    register_worker(lt_db, LANGUAGES, lt_settings.translation_model)
    ctx = WorkerContext(settings=lt_settings, db=lt_db, pid=os.getpid())
    producer = make_producer(lt_settings)
    thread = InteractiveLane(
        lt_settings, producer.connection_for_read, lambda job_id: run_interactive(ctx, job_id)
    )
    thread.start()
    assert thread.consuming.wait(10)
    yield thread
    thread.stop()
    ctx.close()
    producer.close()


@pytest.fixture
def key(lt_settings: Settings) -> str:
    return make_key(lt_settings, "newsroom")


@pytest.fixture
def client(lt_settings: Settings, lane: InteractiveLane) -> Iterator[TestClient]:
    from service.api.app import create_app

    with TestClient(create_app(lt_settings)) as c:
        yield c


def translate(client: TestClient, key: str, **fields: Any) -> Any:
    return client.post("/translate", json={"api_key": key, **fields})


def test_json_string_and_list(client: TestClient, key: str) -> None:
    one = translate(client, key, q="Talks resumed in Baku.", source="en", target="az")
    assert one.status_code == 200, one.text
    assert one.json() == {"translatedText": "Talks resumed in Baku."}
    many = translate(client, key, q=["One.", "Two."], source="en", target="fa")
    assert many.json() == {"translatedText": ["One.", "Two."]}


def test_form_multipart_and_query_string(client: TestClient, key: str) -> None:
    fields = {"q": "Salam dünya.", "source": "az", "target": "en", "api_key": key}
    form = client.post("/translate", data=fields)
    assert form.status_code == 200, form.text
    assert form.json()["translatedText"] == "Salam dünya."
    multipart = client.post("/translate", data=fields, files={"unused": ("a.txt", b"x")})
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["translatedText"] == "Salam dünya."
    query = client.post("/translate", params=fields)
    assert query.status_code == 200, query.text
    assert query.json()["translatedText"] == "Salam dünya."
    header = client.post(
        "/translate",
        json={"q": "Hi.", "source": "en", "target": "hy"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert header.status_code == 200, header.text


def test_auto_detects_one_short_sentence(client: TestClient, key: str) -> None:
    cases = {
        "Prezident bu gün Bakıda çıxış edib.": "az",
        "رئیس جمهور امروز در تهران سخنرانی کرد.": "fa",
        "Նախագահը այսօր ելույթ ունեցավ Երևանում։": "hy",
        "The president spoke in Baku today.": "en",
    }
    for text, language in cases.items():
        body = translate(
            client, key, q=text, source="auto", target="az" if language != "az" else "en"
        ).json()
        detected = body["detectedLanguage"]
        assert detected["language"] == language, (text, body)
        assert 0 < detected["confidence"] <= 100


def test_detect_answers_best_first(client: TestClient, key: str) -> None:
    response = client.post(
        "/detect", data={"q": "Prezident bu gün Bakıda çıxış edib.", "api_key": key}
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert found[0]["language"] == "az"
    confidences = [d["confidence"] for d in found]
    assert confidences == sorted(confidences, reverse=True)


def test_alternatives_and_html(client: TestClient, key: str) -> None:
    body = translate(client, key, q="Hello.", source="en", target="az", alternatives=3).json()
    assert body["translatedText"] == "Hello."
    assert body["alternatives"] == []  # echo knows one translation only
    html = translate(
        client,
        key,
        q='<p>Talks <a href="https://x.test/">resumed</a> <b>today</b>.</p>',
        source="en",
        target="fa",
        format="html",
    ).json()["translatedText"]
    assert '<a href="https://x.test/">resumed</a>' in html
    assert "<b>today</b>" in html
    assert 'dir="rtl"' in html


def test_client_codes_map_to_the_models(client: TestClient, key: str) -> None:
    assert translate(client, key, q="Hi.", source="en", target="zt").status_code == 200
    assert translate(client, key, q="Hi.", source="pb", target="en").status_code == 200
    codes = {entry["code"]: entry for entry in client.get("/languages").json()}
    assert {"az", "fa", "hy", "zh", "zt", "pt"} <= set(codes)
    assert "zt" in codes["en"]["targets"]
    assert codes["hy"]["name"] == "Armenian"


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"source": "en", "target": "az"}, 400, "Invalid request: missing q parameter"),
        ({"q": "", "source": "en", "target": "az"}, 400, "Invalid request: missing q parameter"),
        ({"q": "Hi.", "target": "az"}, 400, "Invalid request: missing source parameter"),
        ({"q": "Hi.", "source": "en"}, 400, "Invalid request: missing target parameter"),
        ({"q": "Hi.", "source": "en", "target": "zz"}, 400, "zz is not supported"),
        ({"q": "Hi.", "source": "zz", "target": "az"}, 400, "zz is not supported"),
        ({"q": "Hi.", "source": "en", "target": "auto"}, 400, "auto is not supported"),
        ({"q": "Hi.", "source": "en", "target": "sw"}, 400, "sw is not supported"),
        (
            {"q": "Hi.", "source": "en", "target": "az", "format": "pdf"},
            400,
            "pdf format is not supported",
        ),
        (
            {"q": "x" * 201, "source": "en", "target": "az"},
            400,
            "Invalid request: request (201) exceeds character limit (200)",
        ),
        (
            {"q": [1, 2], "source": "en", "target": "az"},
            400,
            "Invalid request: q must be a string or a list of strings",
        ),
        (
            {"q": "Hi.", "source": "en", "target": "az", "alternatives": "many"},
            400,
            "Invalid request: alternatives must be a number",
        ),
    ],
)
def test_errors_in_libretranslates_shape(
    client: TestClient, key: str, fields: dict[str, Any], status: int, message: str
) -> None:
    response = client.post("/translate", json={"api_key": key, **fields})
    assert response.status_code == status, response.text
    assert response.json() == {"error": message}


def test_keys(client: TestClient, key: str) -> None:
    missing = client.post("/translate", json={"q": "Hi.", "source": "en", "target": "az"})
    assert missing.status_code == 400
    assert missing.json() == {"error": "Please contact the server operator to get an API key"}
    bad = client.post(
        "/translate", json={"q": "Hi.", "source": "en", "target": "az", "api_key": "nope"}
    )
    assert bad.status_code == 403
    assert bad.json() == {"error": "Invalid API key"}
    not_json = client.post(
        "/translate", content=b"[1]", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json() == {"error": "Invalid JSON format"}


def test_rate_limit_and_quota(client: TestClient, lt_settings: Settings) -> None:
    slow = make_key(lt_settings, "newsroom", requests_per_minute=1)
    assert translate(client, slow, q="Hi.", source="en", target="az").status_code == 200
    limited = translate(client, slow, q="Hi.", source="en", target="az")
    assert limited.status_code == 429
    assert limited.json()["error"].startswith("Slowdown: ")
    small = make_key(lt_settings, "newsroom", chars_per_day=5)
    over = translate(client, small, q="Hello there.", source="en", target="az")
    assert over.status_code == 429
    assert over.json()["error"].startswith("Slowdown: ")


def test_interactive_jobs_are_not_listed_with_articles(
    client: TestClient, key: str, lt_db: Database
) -> None:
    assert translate(client, key, q="Hi.", source="en", target="az").status_code == 200
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/jobs", headers=headers).json()["items"] == []
    listed = client.get("/v1/jobs", params={"lane": "interactive"}, headers=headers).json()
    assert [job["status"] for job in listed["items"]] == ["succeeded"]
    other = make_key(client.app.state.settings, "elsewhere")  # type: ignore[attr-defined]
    theirs = client.get(
        "/v1/jobs", params={"lane": "interactive"}, headers={"Authorization": f"Bearer {other}"}
    )
    assert theirs.json()["items"] == []


def test_translate_file_for_its_tenant_only(
    client: TestClient, key: str, lt_settings: Settings
) -> None:
    response = client.post(
        "/translate_file",
        data={"source": "en", "target": "hy", "api_key": key},
        files={"file": ("note.txt", b"First line.\nSecond line.")},
    )
    assert response.status_code == 200, response.text
    url = response.json()["translatedFileUrl"]
    assert url.endswith("/note_hy.txt")
    path = url.split("://", 1)[1].split("/", 1)[1]
    mine = client.get(f"/{path}", params={"api_key": key})
    assert mine.status_code == 200
    assert mine.text == "First line.\nSecond line."
    other = make_key(lt_settings, "elsewhere")
    assert client.get(f"/{path}", params={"api_key": other}).status_code == 404
    html = client.post(
        "/translate_file",
        data={"source": "en", "target": "fa", "api_key": key},
        files={"file": ("page.html", b"<p>Hello <i>there</i>.</p>")},
    )
    assert html.status_code == 200, html.text
    page = client.get(
        "/" + html.json()["translatedFileUrl"].split("://", 1)[1].split("/", 1)[1],
        params={"api_key": key},
    )
    assert "<i>there</i>" in page.text
    pdf = client.post(
        "/translate_file",
        data={"source": "en", "target": "fa", "api_key": key},
        files={"file": ("a.pdf", b"%PDF-1.4")},
    )
    assert pdf.status_code == 400
    assert pdf.json() == {"error": "Invalid request: file format not supported"}
    nofile = client.post("/translate_file", data={"source": "en", "target": "fa", "api_key": key})
    assert nofile.json() == {"error": "Invalid request: missing file parameter"}


def test_frontend_settings_and_the_desk(client: TestClient) -> None:
    settings = client.get("/frontend/settings").json()
    assert settings["charLimit"] == 200
    assert settings["keyRequired"] is True
    assert settings["suggestions"] is False
    assert settings["language"]["source"]["code"] == "auto"
    assert settings["language"]["target"]["code"] == "az"
    assert ".txt" in settings["supportedFilesFormat"]
    assert ".html" in settings["supportedFilesFormat"]
    desk = client.get("/")
    assert desk.status_code == 200
    assert "text/html" in desk.headers["content-type"]


def test_no_worker_is_503_and_no_answer_is_504(tmp_path: Path) -> None:
    from service.api.app import create_app

    settings = make_settings(
        tmp_path / "data", auth="disabled", translation_model="echo", interactive_timeout_seconds=1
    )
    settings.ensure_dirs()
    with TestClient(create_app(settings)) as client:
        none = client.post("/translate", json={"q": "Hi.", "source": "en", "target": "az"})
        assert none.status_code == 503
        assert "worker" in none.json()["error"]
        db = client.app.state.db  # type: ignore[attr-defined]
        register_worker(db, LANGUAGES, "echo")  # a worker that never answers
        late = client.post("/translate", json={"q": "Hi.", "source": "en", "target": "az"})
        assert late.status_code == 504
        assert "error" in late.json()
        with db.session() as session:
            (job,) = session.query(Job).filter(Job.lane == "interactive").all()
        assert job.status == JobStatus.FAILED  # given up: no worker starts it later
        assert job.error_code == "timeout"


def test_expired_interactive_jobs_are_purged(client: TestClient, key: str, lt_db: Database) -> None:
    from service.store.interactive import purge_expired

    assert translate(client, key, q="Hi.", source="en", target="az").status_code == 200
    with lt_db.session() as session:
        assert purge_expired(session) == 0  # within retention
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=601)
        assert purge_expired(session, now=later) == 1
        session.commit()
    with lt_db.session() as session:
        assert session.query(Job).count() == 0

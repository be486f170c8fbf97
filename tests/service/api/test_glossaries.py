"""The glossary API through TestClient: CRUD, import and export, errors, tenants, jobs.

Requests carry an API key of tenant "newsroom"; ``rival`` is another tenant.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service import store as jobs_store
from service.db import Database
from service.glossary import store
from service.models import Job
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.api import ARTICLE, client_for

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "glossaries"
KARABAKH = {
    "source": "Nagorno-Karabakh",
    "targets": {"az": "Dağlıq Qarabağ", "fa-IR": "قره‌باغ کوهستانی", "hye": "Լեռնային Ղարաբաղ"},
}
KHAMENEI = {"source": "Khamenei", "targets": {"az": "Xamenei", "fa": "خامنه‌ای", "hy": "Խամենեի"}}
OUTLET = {"source": "Dragoman Daily", "keep": True}
DESK = {"name": "Caucasus desk", "entries": [KARABAKH, KHAMENEI, OUTLET]}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings) as c:
        yield c


@pytest.fixture
def rival(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings, "rival") as c:
        yield c


def create(client: TestClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/v1/glossaries", json=body or DESK)
    assert response.status_code == 201, response.text
    return response.json()


def error(response: Any, status: int, code: str = "invalid_input") -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    return str(body["error"]["message"])


# -- CRUD ---------------------------------------------------------------------------------


def test_create_get_list_replace_delete(client: TestClient) -> None:
    created = create(client)
    assert created["name"] == "Caucasus desk"
    assert created["source_language"] == "en" and not created["is_default"]
    assert created["version"] == 1 and len(created["content_hash"]) == 64
    assert created["entry_count"] == 3 and created["languages"] == ["az", "fa", "hy"]
    karabakh = created["entries"][0]
    assert karabakh["targets"] == {
        "az": "Dağlıq Qarabağ",
        "fa": "قره‌باغ کوهستانی",
        "hy": "Լեռնային Ղարաբաղ",
    }
    assert karabakh["id"].startswith("e") and karabakh["whole_word"] and not karabakh["keep"]

    url = f"/v1/glossaries/{created['id']}"
    assert client.get(url).json() == created
    listed = client.get("/v1/glossaries").json()["items"]
    assert [g["id"] for g in listed] == [created["id"]] and "entries" not in listed[0]

    renamed = client.put(url, json={**DESK, "name": "Desk"}).json()
    assert renamed["name"] == "Desk" and renamed["version"] == 1  # same content
    edited = client.put(url, json={**DESK, "entries": [KARABAKH, OUTLET]})
    assert edited.status_code == 200
    assert edited.json()["version"] == 2 and edited.json()["entry_count"] == 2
    assert edited.json()["entries"][0]["id"] == karabakh["id"]  # ids follow the term

    assert client.delete(url).status_code == 204
    error(client.get(url), 404, "not_found")
    assert client.get("/v1/glossaries").json()["items"] == []


def test_location_and_default(client: TestClient) -> None:
    response = client.post("/v1/glossaries", json={**DESK, "is_default": True})
    first = response.json()
    assert response.headers["Location"] == f"/v1/glossaries/{first['id']}"
    second = create(client, {**DESK, "name": "Iran desk", "is_default": True})
    assert client.get(f"/v1/glossaries/{first['id']}").json()["is_default"] is False
    assert client.get(f"/v1/glossaries/{second['id']}").json()["is_default"] is True


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([{"source": "  ", "targets": {"az": "x"}}], "entries[0]: source is empty"),
        ([{"source": "Baku", "targets": {"az": ""}}], "targets.az is empty"),
        ([{"source": "Baku"}], "needs targets, or keep: true"),
        ([{"source": "Baku", "keep": True, "targets": {"az": "Bakı"}}], "keep"),
        ([{"source": "Baku", "targets": {"en": "Baku"}}], "source language 'en'"),
        ([KARABAKH, {**KARABAKH, "source": "nagorno karabakh"}], "duplicate of entries[0]"),
        (
            [
                {"source": "قره‌باغ", "targets": {"en": "a"}},
                {"source": "قره باغ", "targets": {"en": "b"}},
            ],
            "duplicate",
        ),
        ([{"source": "Baku", "targets": {"az": "Bakı", "aze": "Bakı"}}], "'az' twice"),
    ],
)
def test_invalid_entries_are_422_naming_the_entry(
    client: TestClient, entries: list[dict[str, Any]], fragment: str
) -> None:
    body = {"name": "x", "entries": entries}
    if entries and entries[0]["source"].startswith("قره"):
        body["source_language"] = "fa"
    message = error(client.post("/v1/glossaries", json=body), 422)
    assert fragment in message
    assert client.get("/v1/glossaries").json()["items"] == []


def test_unknown_languages_are_422(client: TestClient) -> None:
    bad_target = {"name": "x", "entries": [{"source": "Baku", "targets": {"elvish": "x"}}]}
    assert "entries[0].targets" in error(
        client.post("/v1/glossaries", json=bad_target), 422, "unsupported_language"
    )
    bad_source = {**DESK, "source_language": "klingon-xx"}
    error(client.post("/v1/glossaries", json=bad_source), 422, "unsupported_language")


@pytest.mark.parametrize(
    "body",
    [
        {"entries": [KARABAKH]},  # no name
        {"name": " ", "entries": []},
        {"name": "x", "entries": [{"source": "Baku", "targets": {"az": "Bakı"}, "extra": 1}]},
        {"name": "x", "entries": [{"source": ["Baku"], "targets": {}}]},
        {"name": "x", "entries": [{"source": "Baku", "targets": {"az": 5}}]},
        {"name": "x", "entries": "Baku"},
    ],
)
def test_malformed_bodies_are_422(client: TestClient, body: dict[str, Any]) -> None:
    error(client.post("/v1/glossaries", json=body), 422)


def test_lone_surrogates_are_422(client: TestClient) -> None:
    raw = b'{"name": "x", "entries": [{"source": "Bak\\ud800", "targets": {"az": "x"}}]}'
    response = client.post(
        "/v1/glossaries", content=raw, headers={"Content-Type": "application/json"}
    )
    assert "unicode" in error(response, 422).lower()


def test_limits_are_settings(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data",
        glossary_max_entries=2,
        glossary_max_per_tenant=1,
        glossary_max_term_chars=10,
    )
    with client_for(settings) as client:
        too_many = {"name": "x", "entries": [KARABAKH, KHAMENEI, OUTLET]}
        assert "DRAGOMAN_GLOSSARY_MAX_ENTRIES" in error(
            client.post("/v1/glossaries", json=too_many), 422
        )
        too_long = {"name": "x", "entries": [KARABAKH]}  # "Nagorno-Karabakh" is 16
        assert "DRAGOMAN_GLOSSARY_MAX_TERM_CHARS" in error(
            client.post("/v1/glossaries", json=too_long), 422
        )
        create(client, {"name": "one", "entries": [KHAMENEI]})
        assert "DRAGOMAN_GLOSSARY_MAX_PER_TENANT" in error(
            client.post(
                "/v1/glossaries", json={"name": "two", "entries": [{"source": "JAM", "keep": True}]}
            ),
            409,
            "conflict",
        )


def test_duplicate_names_are_409(client: TestClient) -> None:
    create(client)
    error(client.post("/v1/glossaries", json=DESK), 409, "conflict")


# -- tenants ------------------------------------------------------------------------------


def test_another_tenants_glossary_is_404(client: TestClient, rival: TestClient) -> None:
    mine = create(client)
    url = f"/v1/glossaries/{mine['id']}"
    error(rival.get(url), 404, "not_found")
    error(rival.put(url, json=DESK), 404, "not_found")
    error(rival.put(url, json={"name": ""}), 404, "not_found")  # 404 before validation
    error(rival.delete(url), 404, "not_found")
    error(rival.get(f"{url}/export?format=csv"), 404, "not_found")
    error(
        rival.put(f"{url}/import?format=csv", content=b"source,az\nBaku,Baki\n"), 404, "not_found"
    )
    assert rival.get("/v1/glossaries").json()["items"] == []
    # the same name is free for another tenant
    create(rival)
    assert client.get(url).json()["entry_count"] == 3


def test_unknown_ids_are_404(client: TestClient) -> None:
    for path in ("/v1/glossaries/nope", "/v1/glossaries/%00", "/v1/glossaries/" + "x" * 3000):
        error(client.get(path), 404, "not_found")


# -- import and export --------------------------------------------------------------------


CSV = (
    "source,keep,case_sensitive,whole_word,note,az,fa,hy\n"
    "Nagorno-Karabakh,,,,,Dağlıq Qarabağ,قره‌باغ کوهستانی,Լեռնային Ղարաբաղ\n"
    "Dragoman Daily,true,,,Our name,,,\n"
)


def test_import_csv_as_raw_body(client: TestClient) -> None:
    response = client.post(
        "/v1/glossaries/import?format=csv&name=From%20CSV",
        content=CSV.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"/v1/glossaries/{body['id']}"
    assert body["name"] == "From CSV" and body["entry_count"] == 2 and body["skipped"] == []
    assert body["entries"][1] == {
        "id": body["entries"][1]["id"],
        "source": "Dragoman Daily",
        "targets": {},
        "keep": True,
        "case_sensitive": False,
        "whole_word": True,
        "note": "Our name",
    }


def test_import_tbx_as_form_upload_named_by_its_title(client: TestClient) -> None:
    sample = SAMPLES / "caucasus-desk.v2.tbx"
    response = client.post(
        "/v1/glossaries/import?format=tbx",
        files={"file": (sample.name, sample.read_bytes(), "application/x-tbx+xml")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Caucasus desk terminology"
    assert body["source_language"] == "en"
    assert [e["source"] for e in body["entries"]] == [
        "Nagorno-Karabakh",
        "Mountainous Karabakh",
        "Ali Khamenei",
        "Armenia",
        "ceasefire",
        "JAMnews",
    ]
    assert body["skipped"] == [
        {
            "where": "termEntry 'c106'",
            "reason": "no term in another language, and not marked do-not-translate",
        },
        {"where": "termEntry 'c107'", "reason": "no term in the source language 'en'"},
    ]


def test_import_names_from_the_file_name_and_needs_one(client: TestClient) -> None:
    response = client.post(
        "/v1/glossaries/import?format=csv", files={"file": ("Baku bureau.csv", CSV.encode())}
    )
    assert response.status_code == 201 and response.json()["name"] == "Baku bureau"
    assert "name" in error(
        client.post("/v1/glossaries/import?format=csv", content=CSV.encode()), 422
    )


@pytest.mark.parametrize(
    ("query", "content", "status", "code"),
    [
        ("format=csv&name=x", b"", 422, "invalid_input"),
        ("format=csv&name=x", b"source,az\nBaku,Bak\xc3\x28\n", 422, "invalid_input"),
        ("format=csv&name=x", b"source,az\nBaku,Baki\nbaku,Baki\n", 422, "invalid_input"),
        ("format=csv&name=x", b"source,xyzzy\nBaku,Baki\n", 422, "unsupported_language"),
        ("format=tbx&name=x", b"<martif><text>", 422, "invalid_input"),
        ("format=xlsx&name=x", b"source,az\nBaku,Baki\n", 422, "invalid_input"),
        ("name=x", b"source,az\nBaku,Baki\n", 422, "invalid_input"),
        (
            "format=csv&name=x&source_language=zz",
            b"source,az\nBaku,Baki\n",
            422,
            "unsupported_language",
        ),
    ],
)
def test_bad_imports(
    client: TestClient, query: str, content: bytes, status: int, code: str
) -> None:
    error(client.post(f"/v1/glossaries/import?{query}", content=content), status, code)
    assert client.get("/v1/glossaries").json()["items"] == []


def test_multipart_without_a_file_field_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/glossaries/import?format=csv&name=x", files={"upload": ("a.csv", CSV.encode())}
    )
    assert "'file'" in error(response, 422)


def test_put_import_replaces_the_entries(client: TestClient) -> None:
    glossary = create(client, {**DESK, "is_default": True, "description": "Ours"})
    response = client.put(
        f"/v1/glossaries/{glossary['id']}/import?format=csv",
        content=b"source,az\nBaku,Bak\xc4\xb1\n",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [e["source"] for e in body["entries"]] == ["Baku"]
    assert body["version"] == 2 and body["is_default"] and body["description"] == "Ours"
    assert body["name"] == "Caucasus desk"


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.tbx")), ids=lambda p: p.name)
@pytest.mark.parametrize(
    "export", ["format=csv", "format=tbx", "format=tbx&tbx_version=3"], ids=str
)
def test_export_imports_back_to_the_same_glossary(
    client: TestClient, sample: Path, export: str
) -> None:
    imported = client.post("/v1/glossaries/import?format=tbx&name=a", content=sample.read_bytes())
    assert imported.status_code == 201, imported.text
    original = imported.json()
    response = client.get(f"/v1/glossaries/{original['id']}/export?{export}")
    assert response.status_code == 200
    file_format = export.split("&")[0].split("=")[1]
    assert response.headers["content-type"].startswith(
        "text/csv" if file_format == "csv" else "application/x-tbx+xml"
    )
    assert response.headers["content-disposition"].startswith(
        f'attachment; filename="a.{file_format}"'
    )
    again = client.post(
        f"/v1/glossaries/import?format={file_format}&name=b"
        f"&source_language={original['source_language']}",
        content=response.content,
    )
    assert again.status_code == 201, again.text
    copy = again.json()
    assert copy["entries"] == original["entries"]
    assert copy["content_hash"] == original["content_hash"]


def test_export_file_name_is_safe(client: TestClient) -> None:
    glossary = create(client, {**DESK, "name": 'Ermənistan "desk"/../x'})
    response = client.get(f"/v1/glossaries/{glossary['id']}/export?format=csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="Ermnistan-desk-..-x.csv"; '
        "filename*=UTF-8''Erm%C9%99nistan%20%22desk%22%2F..%2Fx.csv"
    )
    error(client.get(f"/v1/glossaries/{glossary['id']}/export?format=pdf"), 422)


# -- jobs ----------------------------------------------------------------------------------


ARTICLE_WITH_TERMS = {
    **ARTICLE,
    "title": "Khamenei on Nagorno-Karabakh",
    "text": "Iran's leader spoke about Nagorno Karabakh on Monday.",
}


def job_row(settings: Settings, job_id: str) -> Job:
    db = Database(settings.effective_database_url)
    try:
        return jobs_store.get_job(db, job_id)
    finally:
        db.dispose()


def test_a_job_names_its_glossaries_and_keeps_a_snapshot(
    client: TestClient, settings: Settings
) -> None:
    desk = create(client)
    extra = create(
        client, {"name": "Extra", "entries": [{"source": "Baku", "targets": {"az": "Bakı"}}]}
    )
    response = client.post(
        "/v1/jobs", json={**ARTICLE_WITH_TERMS, "glossaries": [desk["id"], extra["id"], desk["id"]]}
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["glossaries"] == [
        {"id": desk["id"], "name": "Caucasus desk", "version": 1, "entries": 2},
        {"id": extra["id"], "name": "Extra", "version": 1, "entries": 0},
    ]
    snapshot = job_row(settings, job["id"]).glossary
    assert snapshot is not None
    # Only the entries whose terms occur in the article travel with the job.
    assert [e["source"] for e in snapshot["entries"]] == ["Nagorno-Karabakh", "Khamenei"]
    assert snapshot["entries"][0] == {
        "id": desk["entries"][0]["id"],
        "glossary": desk["id"],
        "source": "Nagorno-Karabakh",
        "source_language": "en",
        "targets": {"az": "Dağlıq Qarabağ", "fa": "قره‌باغ کوهستانی", "hy": "Լեռնային Ղարաբաղ"},
        "keep": False,
        "case_sensitive": False,
        "whole_word": True,
    }
    # Later edits (or deletion) change new jobs only.
    client.put(f"/v1/glossaries/{desk['id']}", json={**DESK, "entries": [OUTLET]})
    client.delete(f"/v1/glossaries/{extra['id']}")
    again = client.get(f"/v1/jobs/{job['id']}").json()
    assert again["glossaries"] == job["glossaries"]
    assert job_row(settings, job["id"]).glossary == snapshot


def test_the_default_glossary_applies_unless_the_job_says_otherwise(
    client: TestClient, settings: Settings
) -> None:
    assert client.post("/v1/jobs", json=ARTICLE_WITH_TERMS).json()["glossaries"] == []
    default = create(client, {**DESK, "is_default": True})
    job = client.post("/v1/jobs", json=ARTICLE_WITH_TERMS).json()
    assert [g["id"] for g in job["glossaries"]] == [default["id"]]
    none = client.post("/v1/jobs", json={**ARTICLE_WITH_TERMS, "glossaries": []}).json()
    assert none["glossaries"] == [] and job_row(settings, none["id"]).glossary is None


def test_a_job_cannot_name_unknown_or_foreign_glossaries(
    client: TestClient, rival: TestClient, settings: Settings
) -> None:
    theirs = create(rival)
    for ids in (["nope"], [theirs["id"]], ["x" * 65]):
        response = client.post("/v1/jobs", json={**ARTICLE, "glossaries": ids})
        error(response, 422)
    assert client.get("/v1/jobs").json()["items"] == []


def test_glossaries_per_job_limit(tmp_path: Path) -> None:
    with client_for(make_settings(tmp_path / "data", glossary_max_per_job=1)) as client:
        a = create(client, {**DESK, "name": "a"})
        b = create(client, {**DESK, "name": "b"})
        message = error(
            client.post("/v1/jobs", json={**ARTICLE, "glossaries": [a["id"], b["id"]]}), 422
        )
        assert "DRAGOMAN_GLOSSARY_MAX_PER_JOB" in message


def test_applied_terms_show_on_the_job(client: TestClient, settings: Settings) -> None:
    desk = create(client)
    job = client.post("/v1/jobs", json={**ARTICLE_WITH_TERMS, "glossaries": [desk["id"]]}).json()
    db = Database(settings.effective_database_url)
    try:
        claimed = jobs_store.claim_job(db, job["id"], model="m", worker="w")
        assert claimed is not None
        term = {
            "field": "title",
            "index": 0,
            "entry": desk["entries"][0]["id"],
            "glossary": desk["id"],
            "source": "Nagorno-Karabakh",
            "target": "قره‌باغ کوهستانی",
            "keep": False,
            "direction": "rtl",
        }
        assert store.record_terms(db, job["id"], "fa", [term], attempt=claimed.attempts)
    finally:
        db.dispose()
    translations = client.get(f"/v1/jobs/{job['id']}").json()["translations"]
    assert translations["fa"]["terms"] == [term]
    assert translations["az"]["terms"] == []


def test_openapi_lists_the_glossary_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/glossaries",
        "/v1/glossaries/import",
        "/v1/glossaries/{glossary_id}",
        "/v1/glossaries/{glossary_id}/import",
        "/v1/glossaries/{glossary_id}/export",
    } <= set(paths)


def test_idempotency_hashes_of_requests_without_glossaries_are_unchanged() -> None:
    import hashlib
    import json

    from service.jobs import request_hash
    from service.schemas import JobCreate

    request = JobCreate(**ARTICLE)
    before = request.model_dump(mode="json")
    before.pop("glossaries")
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert request_hash(request) == hashlib.sha256(canonical.encode()).hexdigest()
    assert request_hash(JobCreate(**ARTICLE, glossaries=[])) != request_hash(request)

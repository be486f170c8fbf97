"""The desk's page and static files, through TestClient (the browser tests use them)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.web.assets import STATIC, assets, load_assets
from service.web.routes import TEMPLATES
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path))) as c:
        yield c


def test_the_page_forbids_inline_script_and_html_sinks(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["require-trusted-types-for"] == "'script'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"


def test_the_page_says_whether_keys_are_needed(tmp_path: Path) -> None:
    for mode in ("required", "disabled"):
        with TestClient(create_app(make_settings(tmp_path / mode, auth=mode))) as client:
            page = client.get("/").text
            assert f'data-auth="{mode}"' in page


def test_the_first_languages_come_with_their_own_names(client: TestClient) -> None:
    page = client.get("/").text
    assert re.search(r'value="fa" checked>\s*<span>Persian</span>\s*<span class="native" '
                     r'lang="fa" dir="rtl">فارسی</span>', page)  # fmt: skip
    assert re.search(r'value="azb">\s*<span>South Azerbaijani</span>', page)
    assert 'lang="hy" dir="ltr">հայերեն<' in page


def test_static_files_are_cached_under_their_version(client: TestClient) -> None:
    page = client.get("/").text
    static = assets()
    for name in ("js/main.js", "desk.css", "favicon.svg"):
        url = static.url(name)
        assert url in page
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.content == (STATIC / name).read_bytes()
    assert (
        client.get(static.url("js/main.js")).headers["content-type"].startswith("text/javascript")
    )
    # an old page's URL still gets the file, but not for good
    stale = client.get("/static/000000000000/desk.css")
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["nope.js", "../routes.py", "..%2Froutes.py", "js/../../routes.py", ""]
)
def test_nothing_else_is_served(client: TestClient, path: str) -> None:
    response = client.get(f"/static/{assets().version}/{path}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_version_changes_with_any_file(tmp_path: Path) -> None:
    copy = tmp_path / "static"
    shutil.copytree(STATIC, copy)
    version = load_assets(copy).version
    assert re.fullmatch(r"[0-9a-f]{12}", version)
    assert load_assets(copy).version == version == assets().version
    script = copy / "js" / "api.js"
    script.write_text(script.read_text() + "\n")
    assert load_assets(copy).version != version


def test_every_static_file_and_template_ships_with_the_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["service"]
    package = REPO / "service"
    files = [p for folder in (STATIC, TEMPLATES) for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        name = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_no_markup_is_built_from_strings() -> None:
    """Text goes in as text; the browser's Trusted Types would refuse the rest anyway."""
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function"
    )
    for script in (STATIC / "js").glob("*.js"):
        assert not sinks.search(script.read_text("utf-8")), script.name


def test_the_template_has_no_inline_script_or_style() -> None:
    page = (TEMPLATES / "desk.html").read_text("utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert re.findall(r"\sstyle=|\son[a-z]+=", page) == []
    assert "<style" not in page

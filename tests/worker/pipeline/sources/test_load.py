"""A job's article from its source: a page fetched from a local site, or HTML given."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service import store, tenants
from service.db import Database
from service.egress import AddressPolicy
from service.errors import NotAnArticle
from service.limits import DatabaseCounter, Limiter, QuotaExceeded
from service.models import Job
from service.settings import Settings
from tests.fixtures.site import PAGES, LocalSite, page, redirect
from worker.pipeline.sources.fetch import Fetcher, FetchLimits
from worker.pipeline.sources.load import load_source

FETCHER = Fetcher(FetchLimits(), AddressPolicy(allow_private=True))


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        s.route("/story", page((PAGES / "en-news.html").read_bytes()))
        s.route("/short-link", redirect("/story"))
        s.route("/", page((PAGES / "front-page.html").read_bytes()))
        yield s


def claimed(db: Database, **fields: object) -> Job:
    values: dict[str, object] = {
        "title": None,
        "text": "",
        "source_language": "auto",
        "target_languages": ["fa"],
        "summary_sentences": 3,
        "translate_fields": ["title", "body"],
        "tenant": "newsroom",
        **fields,
    }
    job_id = store.create_job(db, store.NewJob(**values)).id  # type: ignore[arg-type]
    job = store.claim_job(db, job_id, model="m", worker="w")
    assert job is not None
    return job


def test_a_url_job_gets_its_article(site: LocalSite, db: Database, settings: Settings) -> None:
    key = tenants.create_key(db, "newsroom", chars_per_day=2000)
    job = claimed(
        db,
        source_kind="url",
        source_url=site.url("/short-link"),
        output_format="html",
        key_id=key.record.id,
    )
    limiter = Limiter(DatabaseCounter(db))
    source = load_source(db, settings, job, fetcher=FETCHER, limiter=limiter)
    assert source.title == "Baku and Yerevan agree to resume border talks in Geneva"
    assert source.text.startswith("Baku and Yerevan agree")
    assert (
        source.html is not None and '<a href="https://www.eda.admin.ch/statement">' in source.html
    )
    stored = store.get_job(db, job.id)
    assert stored.text == source.text and stored.title == source.title
    assert (stored.author, stored.site, stored.published) == (
        "Lena Harutyunyan",
        "Caucasus Wire",
        "2025-11-04",
    )
    assert stored.final_url == site.url("/story") and stored.fetched_at is not None
    # The fetched article's characters were charged to the key that asked.
    job2 = claimed(db, source_kind="url", source_url=site.url("/story"), key_id=key.record.id)
    assert 2000 - len(source.text) < len(source.text)
    with pytest.raises(QuotaExceeded):
        load_source(db, settings, job2, fetcher=FETCHER, limiter=limiter)


def test_a_front_page_is_refused(site: LocalSite, db: Database, settings: Settings) -> None:
    job = claimed(db, source_kind="url", source_url=site.url("/"))
    with pytest.raises(NotAnArticle):
        load_source(db, settings, job, fetcher=FETCHER)


def test_html_kept_as_html(db: Database, settings: Settings) -> None:
    markup = (PAGES / "fa-fragment.html").read_text(encoding="utf-8")
    job = claimed(db, source_kind="html", html=markup, output_format="html")
    source = load_source(db, settings, job)
    assert source.html == markup
    assert "هیئت‌ها روز دوشنبه در ژنو سوئیس دیدار کردند" in source.text
    assert store.get_job(db, job.id).text == source.text


def test_html_to_text_extracts_a_page_and_reads_a_fragment(
    db: Database, settings: Settings
) -> None:
    page_job = claimed(
        db, source_kind="html", html=(PAGES / "az-news.html").read_text(encoding="utf-8")
    )
    source = load_source(db, settings, page_job)
    assert source.html is None and source.title == "Sərhəd danışıqları Cenevrədə bərpa olunur"
    assert "Bütün hüquqlar qorunur" not in source.text
    fragment = "<p>Forumda nümayəndələr çıxış ediblər.</p>"
    fragment_job = claimed(db, source_kind="html", html=fragment)
    assert load_source(db, settings, fragment_job).text == "Forumda nümayəndələr çıxış ediblər."

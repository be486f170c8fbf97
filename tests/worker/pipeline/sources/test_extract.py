"""Article extraction from saved news pages (tests/fixtures/pages), served and fetched for real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.egress import AddressPolicy
from service.errors import NotAnArticle
from tests.fixtures.site import PAGES, LocalSite, page
from worker.pipeline.sources.extract import (
    Article,
    article_from_text,
    extract_article,
    extract_fetched,
)
from worker.pipeline.sources.fetch import Fetcher, FetchLimits
from worker.pipeline.text import segment_document


def read(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def kinds(article: Article) -> list[str]:
    return [block.kind for block in article.blocks]


def test_english_page_keeps_the_article_and_drops_the_rest() -> None:
    article = extract_article(read("en-news.html"), url="https://caucasus.example/politics/geneva")
    assert article.title == "Baku and Yerevan agree to resume border talks in Geneva"
    assert article.author == "Lena Harutyunyan"
    assert article.published == "2025-11-04"
    assert article.site == "Caucasus Wire"
    assert article.language == "en-GB"
    assert kinds(article) == [
        "heading",
        "paragraph",
        "paragraph",
        "heading",
        "paragraph",
        "list_item",
        "list_item",
        "list_item",
        "quote",
        "paragraph",
    ]
    assert article.blocks[3].level == 2
    assert article.blocks[1].text.startswith("Geneva — Delegations from Azerbaijan and Armenia")
    assert "brief statement after a day" in article.blocks[1].text
    text = article.text
    for boilerplate in (
        "Related stories",
        "Finally some good news",
        "All rights reserved",
        "Share on",
    ):
        assert boilerplate not in text
    assert "track(" not in article.html and "window.dataLayer" not in text


def test_the_clean_html_keeps_structure_and_inline_links() -> None:
    article = extract_article(read("en-news.html"))
    html = article.html
    assert '<a href="https://www.eda.admin.ch/statement">brief statement</a>' in html
    assert "<h2>What was agreed</h2>" in html
    assert html.count("<li>") == 3 and "<blockquote>" in html
    assert "<b>Geneva</b>" in html and "<i>" in html
    assert "onclick" not in html and "<script" not in html


def test_persian_page_keeps_zwnj_and_rtl_text() -> None:
    article = extract_article(read("fa-news.html"))
    assert article.title == "ازسرگیری گفت‌وگوهای مرزی در ژنو"  # with its ZWNJ
    assert article.author == "مریم احمدی"
    assert article.site == "خبرگزاری نمونه"
    assert article.published == "2025-11-05"
    assert article.language == "fa-IR"
    assert "گفت‌وگوها درباره تعیین مرزهای مشترک را از سر بگیرند" in article.text
    assert kinds(article).count("list_item") == 3
    assert "quote" in kinds(article)
    assert "پربازدیدترین‌ها" not in article.text and "کلیه حقوق" not in article.text
    assert '<a href="https://example.org/marz">تعیین مرزهای مشترک</a>' in article.html
    assert "<b>برای نخستین بار <i>پس از شش ماه</i></b>" in article.html


def test_azerbaijani_and_armenian_pages_segment_as_the_text_pipeline_expects() -> None:
    az = extract_article(read("az-news.html"))
    assert az.title == "Sərhəd danışıqları Cenevrədə bərpa olunur"
    assert az.author == "Elvin Məmmədov"
    assert kinds(az).count("list_item") == 3
    body = segment_document(az.text, "az")
    # Paragraphs are the blocks; "prof. R. Əliyev" does not end a sentence.
    assert len(body.paragraphs) == len(az.blocks)
    assert any("prof. R. Əliyev deyib ki" in s for s in body.sentences)

    hy = extract_article(read("hy-news.html"))
    assert hy.title == "Ժնևում վերսկսվում են սահմանային բանակցությունները"
    assert hy.site == "Օրինակ Լուրեր"
    sentences = segment_document(hy.text, "hy").sentences
    assert sentences[1].endswith("բանակցությունները։")


def test_a_front_page_is_not_an_article() -> None:
    with pytest.raises(NotAnArticle) as caught:
        extract_article(read("front-page.html"))
    assert caught.value.code == "not_an_article"
    with pytest.raises(NotAnArticle):
        extract_article("<html><body><form><input name=q></form></body></html>")
    with pytest.raises(NotAnArticle):
        extract_article("")


def test_plain_text_pages() -> None:
    article = article_from_text(
        "Talks resumed in Geneva on Monday after a pause of six months, officials said.\n\n"
        "The next meeting is planned for December, but no date has been set yet by either "
        "side, and both delegations said they would consult their governments first."
    )
    assert len(article.blocks) == 2 and article.title is None
    assert article.html.startswith("<p>Talks resumed")
    with pytest.raises(NotAnArticle):
        article_from_text("Menu\nHome\nContact")


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        yield s


def test_fetched_legacy_page_in_windows_1256(site: LocalSite) -> None:
    """A Persian page in windows-1256 declared only in its <meta>, fetched and extracted."""
    data = (PAGES / "fa-legacy-windows-1256.html").read_bytes()
    site.route("/legacy", page(data, content_type="text/html"))
    fetched = Fetcher(FetchLimits(), AddressPolicy(allow_private=True)).fetch(site.url("/legacy"))
    assert fetched.decode().charset == "cp1256"
    article = extract_fetched(fetched)
    assert article.title == "گفت‌وگوهاي صلح در ژنو ادامه دارد"  # the <h1>, ZWNJ kept
    assert "پيش‌نويس توافق چهارشنبه منتشر مي‌شود" in article.text
    assert "کليه حقوق" not in article.text


def test_fetched_plain_text(site: LocalSite) -> None:
    text = "Talks resumed in Geneva on Monday after a pause of six months, officials said. " * 4
    site.route("/story.txt", page(text, content_type="text/plain; charset=utf-8"))
    fetched = Fetcher(FetchLimits(), AddressPolicy(allow_private=True)).fetch(
        site.url("/story.txt")
    )
    assert extract_fetched(fetched).text == text.strip()

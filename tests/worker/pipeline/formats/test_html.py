"""HTML in, HTML out: saved pages and CMS fragments through parse, translate and render.

"Translations" here are what an engine could do: the identity (the ``echo``
engine), a marker-preserving rewrite, a word order reversed with whole tags kept
together, and a lost marker. Tag trees are compared with an independent parser
(the standard library's), which also checks that the output is well-formed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import lxml.html
import pytest

from tests.fixtures.site import PAGES
from worker.pipeline.formats.html import HtmlDocument, HtmlFormat
from worker.pipeline.formats.sanitize import sanitize_html

VOID = {"area", "br", "col", "embed", "hr", "img", "input", "source", "wbr", "meta", "link"}
FRAGMENTS = [("fa-fragment.html", "fa"), ("az-fragment.html", "az"), ("hy-fragment.html", "hy")]
PAGE_FILES = [("en-news.html", "en"), ("fa-news.html", "fa"), ("az-news.html", "az")]
PAGE_FILES += [("hy-news.html", "hy")]
# Attributes the rendering sets to the target language.
LANGUAGE_ATTRIBUTES = {"lang", "dir"}


@dataclass
class Tag:
    name: str
    attrs: dict[str, str | None]
    children: list[Tag] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def shape(self, ignore: set[str] = LANGUAGE_ATTRIBUTES) -> tuple[object, ...]:
        """Names, attributes and nesting; neighbours with the same tag and attributes
        count as one (a tag cut at a sentence boundary is rendered as two)."""
        attrs = tuple(sorted((k, v) for k, v in self.attrs.items() if k not in ignore))
        children: list[tuple[object, ...]] = []
        for child in self.children:
            shape = child.shape(ignore)
            if children and children[-1][:2] == shape[:2]:
                merged = children[-1][2] + shape[2]  # type: ignore[operator]
                children[-1] = (*shape[:2], merged)
            else:
                children.append(shape)
        return (self.name, attrs, tuple(children))

    def all_text(self) -> str:
        return "".join(self.text)

    def find(self, name: str) -> list[Tag]:
        found = [self] if self.name == name else []
        for child in self.children:
            found += child.find(name)
        return found


class _TreeBuilder(HTMLParser):
    """Builds a tag tree, failing on any end tag that does not close the open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Tag("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Tag(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Tag(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"end tag of void element <{tag}>"
        assert self.stack[-1].name == tag, f"</{tag}> closes <{self.stack[-1].name}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text.append(data)


def tree(html: str) -> Tag:
    """The tag tree of well-formed HTML (asserts it is well-formed)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], f"unclosed: {[t.name for t in builder.stack[1:]]}"
    return builder.root


def squeeze(text: str) -> str:
    return "".join(text.split())


def read(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def translate(parsed: HtmlDocument, function: Callable[[str], str]) -> list[str]:
    return [function(sentence) for sentence in parsed.document.sentences]


def body_reference(source: str) -> Tag:
    """What the page's body is after sanitising, parsed without the code under test."""
    body = lxml.html.document_fromstring(
        source.encode(), parser=lxml.html.HTMLParser(encoding="utf-8")
    ).body
    inner = (body.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in body
    )
    return tree(sanitize_html(inner))


# -- the identity round trip ----------------------------------------------------------


@pytest.mark.parametrize(("name", "language"), FRAGMENTS)
def test_identity_keeps_every_tag_and_word_of_a_fragment(name: str, language: str) -> None:
    source = read(name)
    parsed = HtmlFormat().parse(source, language)
    output = parsed.render_report(parsed.document.sentences, language)
    assert output.losses == ()
    got, expected = tree(output.output), tree(sanitize_html(source))
    assert got.shape() == expected.shape()
    assert squeeze(got.all_text()) == squeeze(expected.all_text())


@pytest.mark.parametrize(("name", "language"), PAGE_FILES)
def test_identity_keeps_every_tag_and_word_of_a_page(name: str, language: str) -> None:
    source = read(name)
    parsed = HtmlFormat().parse(source, language)
    html = parsed.render(parsed.document.sentences, language)
    assert html.startswith("<!DOCTYPE html>\n<html ")
    (document,) = tree(html).children
    assert document.name == "html" and document.attrs["lang"] == language
    head, body = document.children
    assert [t.name for t in head.children] == ["meta", "title"]
    expected = body_reference(source)
    assert body.shape() == ("body", (), expected.shape()[2])
    assert squeeze(body.all_text()) == squeeze(expected.all_text())


def test_sentences_are_not_split_at_inline_tags() -> None:
    parsed = HtmlFormat().parse(read("az-fragment.html"), "az")
    sentences = parsed.document.sentences
    assert "Bakıda <g1><g2>iqtisadi</g2> forum</g1> başladı" in sentences
    assert (
        "Forumda <g1><g2>İqtisadiyyat</g2> Nazirliyinin</g1> nümayəndələri çıxış ediblər."
        in sentences
    )
    # "prof. R. Əliyev" does not end a sentence, with or without a link after it.
    assert any(
        s.startswith("Onlar <g1>yeni <g2>investisiya</g2> layihələrini</g1>") for s in sentences
    )
    # A tag across a sentence boundary is cut in two, one part per sentence.
    assert "Forum <g1>iki gün</g1> davam edəcək." in sentences
    assert "<g1>Sonra</g1> yekun bəyanat qəbul olunacaq." in sentences
    html = parsed.render(parsed.document.sentences, "az")
    assert "<b>Forum <i>iki gün</i> davam edəcək.</b> <b>Sonra</b> yekun" in html


def test_a_tag_around_whole_sentences_stays_outside_them() -> None:
    parsed = HtmlFormat().parse(read("fa-fragment.html"), "fa")
    sentences = parsed.document.sentences
    assert "«ما همه مسائل را حل نکرده‌ایم.»" in sentences  # no marker for the <b> around it
    html = parsed.render(sentences, "fa")
    assert "<b>«ما همه مسائل را حل نکرده‌ایم.»</b> <b>«اما راه ادامه را یافته‌ایم.»</b>" in html


def test_a_tag_across_sentences_keeps_its_id_once() -> None:
    parsed = HtmlFormat().parse('<p>See <a id="ref" href="/r">one. Two</a> end.</p>', "en")
    html = parsed.render(parsed.document.sentences, "en")
    assert html.count('id="ref"') == 1 and html.count('href="/r"') == 2


# -- what is and is not translated ----------------------------------------------------


def test_code_scripts_and_translate_no_are_untouched() -> None:
    source = read("fa-fragment.html")
    parsed = HtmlFormat().parse(source, "fa")
    sentences = " ".join(parsed.document.sentences)
    for untouched in (
        "code sample",
        "dragoman fetch",
        "CW-2025-114",
        "document.write",
        "color: red",
    ):
        assert untouched not in sentences and untouched not in parsed.text
    assert "این بند ترجمه نمی‌شود" not in sentences
    html = parsed.render(translate(parsed, lambda s: "T " + s), "en")
    assert "<pre>code sample &lt;keep&gt; as is</pre>" in html
    assert "<code>dragoman fetch --url</code>" in html
    assert '<span class="quote-mark" translate="no">[CW-2025-114]</span>' in html
    assert '<p translate="no">این بند ترجمه نمی‌شود.</p>' in html
    assert "<script" not in html and "<style" not in html and "injected" not in html


def test_alt_and_title_are_translated() -> None:
    parsed = HtmlFormat().parse(read("fa-fragment.html"), "fa")
    sentences = parsed.document.sentences
    for text in ("وب‌سایت خبرگزاری", "ورود نمایندگان به کاخ ملل", "اتحاد جماهیر شوروی"):
        assert text in sentences
    html = parsed.render(translate(parsed, lambda s: "T " + s), "en")
    root = tree(html)
    (image,) = root.find("img")
    assert image.attrs["alt"] == "T ورود نمایندگان به کاخ ملل"
    assert image.attrs["src"] == "/img/geneva.jpg"
    (abbr,) = root.find("abbr")
    assert abbr.attrs["title"] == "T اتحاد جماهیر شوروی"


def test_a_linked_image_is_one_marker_and_its_alt_is_translated() -> None:
    parsed = HtmlFormat().parse(read("hy-fragment.html"), "hy")
    assert "<x1/> Կազմակերպիչների խոսքով՝ համաժողովը կտևի երեք օր։" in parsed.document.sentences
    html = parsed.render(translate(parsed, lambda s: s.replace("Համաժողովի", "Conference")), "en")
    assert '<a href="/mek"><img src="/img/logo.png" alt="Conference պատկերանշանը"></a>' in html


def test_plain_text_of_the_document() -> None:
    parsed = HtmlFormat().parse(read("fa-news.html"), "fa")
    assert parsed.text.startswith("صفحه نخست")  # the whole page, menus included
    assert "<" not in parsed.text and "ازسرگیری گفت‌وگوهای مرزی در ژنو - خبرگزاری" not in parsed.text
    assert "\n\nژنو — هیئت‌های جمهوری آذربایجان" in parsed.text


# -- output: language, safety ---------------------------------------------------------


def test_target_language_and_direction() -> None:
    parsed = HtmlFormat().parse(read("fa-fragment.html"), "fa")
    root = tree(parsed.render(parsed.document.sentences, "en"))
    (div,) = root.children
    assert (div.attrs["lang"], div.attrs["dir"]) == ("en", "ltr")
    armenian = HtmlFormat().parse(read("hy-fragment.html"), "hy")
    root = tree(armenian.render(armenian.document.sentences, "fa"))
    (section,) = root.children
    assert (section.attrs["lang"], section.attrs["dir"]) == ("fa", "rtl")
    page = HtmlFormat().parse(read("en-news.html"), "en")
    assert '<html lang="az" dir="ltr">' in page.render(page.document.sentences, "az")


def test_output_is_sanitised() -> None:
    parsed = HtmlFormat().parse(read("fa-fragment.html"), "fa")
    html = parsed.render(parsed.document.sentences, "fa")
    assert "onclick" not in html and "javascript:" not in html
    assert '<a href="https://example.org/statement">اینجا را ببینید</a>' in html
    page = HtmlFormat().parse(read("en-news.html"), "en")
    html = page.render(page.document.sentences, "en")
    assert "onclick" not in html and "<script" not in html and "dataLayer" not in html


def test_engine_output_is_text_never_markup() -> None:
    parsed = HtmlFormat().parse("<p>Hello <b>world</b>.</p>", "en")
    (sentence,) = parsed.document.sentences
    assert sentence == "Hello <g1>world</g1>."
    html = parsed.render(["<script>alert(1)</script> <img src=x onerror=y> <g1>dünya</g1>."], "az")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=y&gt; <b>dünya</b>." in html


# -- translations that move and lose markers ------------------------------------------

_TOKEN = re.compile(r"<g\d+>|</g\d+>|<x\d+/>|[^\s<]+|<")


def reverse_words(marked: str) -> str:
    """The sentence with its word order reversed, a tag's words kept inside the tag."""

    def group(tokens: list[str], start: int) -> tuple[list[str], int]:
        items: list[str] = []
        index = start
        while index < len(tokens):
            token = tokens[index]
            if token.startswith("</g"):
                return items, index
            if re.fullmatch(r"<g\d+>", token):
                inner, end = group(tokens, index + 1)
                items.append(token + " ".join(reversed(inner)) + tokens[end])
                index = end + 1
            else:
                items.append(token)
                index += 1
        return items, index

    items, _ = group(_TOKEN.findall(marked), 0)
    return " ".join(reversed(items))


@pytest.mark.parametrize(("name", "language"), FRAGMENTS)
def test_reordered_words_keep_their_tags(name: str, language: str) -> None:
    parsed = HtmlFormat().parse(read(name), language)
    output = parsed.render_report(translate(parsed, reverse_words), "en")
    assert output.losses == ()
    got, expected = tree(output.output), tree(sanitize_html(read(name)))
    assert _tags(got) == _tags(expected)
    assert sorted(squeeze(got.all_text())) == sorted(squeeze(expected.all_text()))


def test_a_lost_marker_keeps_the_words_and_is_reported() -> None:
    parsed = HtmlFormat().parse(read("az-fragment.html"), "az")
    sentences = parsed.document.sentences
    target = next(i for i, s in enumerate(sentences) if "<g2>investisiya</g2>" in s)
    translations = [reverse_words(s) for s in sentences]
    translations[target] = translations[target].replace("</g2>", "")
    output = parsed.render_report(translations, "en")
    assert [loss.sentence for loss in output.losses] == [target]
    assert output.losses[0].markers == ("</g2>",)
    root = tree(output.output)  # still well-formed
    assert "investisiya" in root.all_text()
    # The <b> that lost its end wraps the rest of its parent tag instead.
    assert any("investisiya" in b.all_text() for b in root.find("b"))
    assert len(root.find("a")) == len(tree(sanitize_html(read("az-fragment.html"))).find("a"))


def test_persian_digits_in_markers_are_read() -> None:
    parsed = HtmlFormat().parse('<p dir="rtl">یک <a href="/x">پیوند</a> اینجا.</p>', "fa")
    output = parsed.render_report(["یک <g۱>پیوند</g۱> اینجا."], "fa")
    assert output.losses == ()
    assert '<a href="/x">پیوند</a>' in output.output


def test_the_number_of_translations_is_checked() -> None:
    parsed = HtmlFormat().parse("<p>One. Two.</p>", "en")
    with pytest.raises(ValueError, match="expected 2"):
        parsed.render(["One."], "en")


def test_runs_without_letters_are_left_alone() -> None:
    parsed = HtmlFormat().parse(
        "<table><tr><td>2025</td><td>—</td><td>Baku</td></tr></table>", "en"
    )
    assert parsed.document.sentences == ["Baku"]
    html = parsed.render(["Bakı"], "az")
    assert "<td>2025</td><td>—</td><td>Bakı</td>" in html


def _tags(root: Tag) -> set[tuple[str, tuple[tuple[str, str | None], ...]]]:
    """Each distinct tag with its attributes (lang/dir and translated ones aside)."""
    ignore = LANGUAGE_ATTRIBUTES | {"alt", "title"}
    return {
        (t.name, tuple(sorted((k, v) for k, v in t.attrs.items() if k not in ignore)))
        for t in _all(root)
    }


def _all(tag: Tag) -> list[Tag]:
    found = list(tag.children)
    for child in tag.children:
        found += _all(child)
    return found

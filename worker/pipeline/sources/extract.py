"""The article in a web page: its text as blocks, its metadata, and a clean HTML copy.

trafilatura finds the article and drops the page around it; what it keeps becomes
``blocks`` (headings, paragraphs, list items, block quotes, in reading order), a small
sanitised ``html`` copy with inline links and emphasis, and ``title``, ``author``,
``published``, ``site`` and the page's ``lang``. A page without article text is refused
with ``not_an_article``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Literal

import lxml.html
import trafilatura
import trafilatura.settings
from lxml import etree

from service.errors import NotAnArticle
from worker.pipeline.formats.sanitize import sanitize_html
from worker.pipeline.sources.fetch import Fetched
from worker.pipeline.text import normalize_text, split_paragraphs

BlockKind = Literal["heading", "paragraph", "list_item", "quote"]
# At least this many characters of prose (lines of several words) make an article.
MIN_ARTICLE_CHARS = 200
# A line with fewer words is a label, a link or a menu entry, not prose.
MIN_PROSE_WORDS = 6
_ZWNJ = "\u200c"
_SPACES = re.compile(r"[^\S\n]+")


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    level: int | None = None  # a heading's level, 1 to 6


@dataclass(frozen=True)
class Article:
    title: str | None
    author: str | None
    published: str | None  # YYYY-MM-DD
    site: str | None
    language: str | None  # the page's lang attribute, as written
    blocks: tuple[Block, ...]
    html: str  # the article as a sanitised HTML fragment

    @property
    def text(self) -> str:
        """The article as plain text: one paragraph per block, blank lines between."""
        return "\n\n".join(block.text for block in self.blocks)


def extract_fetched(fetched: Fetched, *, min_chars: int = MIN_ARTICLE_CHARS) -> Article:
    """The article in a fetched page (HTML, XHTML or plain text)."""
    text = fetched.decode().text
    if fetched.content_type == "text/plain":
        return article_from_text(text, min_chars=min_chars)
    return extract_article(text, url=fetched.final_url, min_chars=min_chars)


def article_from_text(text: str, *, min_chars: int = MIN_ARTICLE_CHARS) -> Article:
    """A plain-text page: its paragraphs are the blocks."""
    blocks = tuple(Block("paragraph", p) for p in split_paragraphs(normalize_text(text)))
    _require_prose(blocks, min_chars)
    html = "".join(f"<p>{escape(block.text, quote=False)}</p>" for block in blocks)
    return Article(None, None, None, None, None, blocks, html)


def extract_article(
    html: str, *, url: str | None = None, min_chars: int = MIN_ARTICLE_CHARS
) -> Article:
    """Extract the article of an HTML page.

    Raises:
        NotAnArticle: the page has less than ``min_chars`` characters of prose.
    """
    page = _parse_page(html)
    document = (
        trafilatura.bare_extraction(
            page,
            url=url,
            with_metadata=True,
            include_formatting=True,
            include_links=True,
            include_comments=False,
            include_tables=True,
        )
        if page is not None
        else None
    )
    if not isinstance(document, trafilatura.settings.Document) or document.body is None:
        raise NotAnArticle("No article text was found in the page.")
    body = document.body
    blocks = tuple(_blocks(body))
    _require_prose(blocks, min_chars)
    assert page is not None
    return Article(
        title=_with_zwnj(_clean(document.title), _title_candidates(page, blocks)),
        author=_clean(document.author),
        published=_clean(document.date),
        site=_clean(document.sitename),
        language=_clean(page.get("lang")),
        blocks=blocks,
        html=sanitize_html(_to_html(body)),
    )


def _parse_page(html: str) -> lxml.html.HtmlElement | None:
    # An XML declaration with an encoding cannot be parsed from a str, and the
    # text is decoded already: parse it as UTF-8, whatever the page's <meta> says.
    data = html.encode("utf-8", "surrogatepass")
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        return lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _require_prose(blocks: tuple[Block, ...], min_chars: int) -> None:
    prose = sum(
        len(line)
        for block in blocks
        for line in block.text.split("\n")
        if len(line.split()) >= MIN_PROSE_WORDS
    )
    if prose < min_chars:
        raise NotAnArticle(
            f"The page has {prose} characters of article text; at least {min_chars} are "
            "needed (a front page, a list of links or a form is not an article).",
            chars=prose,
        )


# -- trafilatura's XML to blocks ------------------------------------------------


def _blocks(body: etree._Element) -> list[Block]:
    blocks: list[Block] = []
    for element in body:
        _collect(element, blocks, quoted=False)
    return [block for block in blocks if block.text]


def _collect(element: etree._Element, blocks: list[Block], *, quoted: bool) -> None:
    tag = element.tag
    if tag == "head":
        rend = str(element.get("rend", "h2"))
        level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
        blocks.append(Block("heading", _text_of(element), level))
    elif tag == "list":
        for item in element.iterchildren("item"):
            blocks.append(Block("quote" if quoted else "list_item", _text_of(item, skip="list")))
            for nested in item.iterchildren("list"):
                _collect(nested, blocks, quoted=quoted)
    elif tag == "quote":
        if any(child.tag in ("p", "list", "head", "quote") for child in element):
            if (element.text or "").strip():
                blocks.append(Block("quote", _clean_block(element.text or "")))
            for child in element:
                _collect(child, blocks, quoted=True)
        else:
            blocks.append(Block("quote", _text_of(element)))
    elif tag == "table":
        for cell in element.iter("cell"):
            blocks.append(Block("quote" if quoted else "paragraph", _text_of(cell)))
    elif tag in ("code", "graphic"):
        return  # program text is not translated; images have no text here
    else:
        blocks.append(Block("quote" if quoted else "paragraph", _text_of(element)))


def _text_of(element: etree._Element, skip: str | None = None) -> str:
    """The text of an element: line breaks as newlines, other spacing collapsed."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.tag == "lb":
            parts.append("\n")
        elif node.tag == skip or node.tag == "code" and node is not element:
            pass
        else:
            parts.append((node.text or "").replace("\n", " "))
            for child in node:
                walk(child)
        if node is not element:
            parts.append((node.tail or "").replace("\n", " "))

    walk(element)
    return _clean_block("".join(parts))


def _clean_block(text: str) -> str:
    return normalize_text(_SPACES.sub(" ", text))


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(normalize_text(value).split())
    return text or None


def _title_candidates(page: lxml.html.HtmlElement, blocks: tuple[Block, ...]) -> list[str]:
    found = [block.text for block in blocks if block.kind == "heading"][:1]
    found += [str(v) for v in page.xpath("//meta[@property='og:title']/@content")]
    found += [str(t.text_content()) for t in page.xpath("//title")]
    found += [str(h.text_content()) for h in page.xpath("//h1")]
    return [" ".join(normalize_text(text).split()) for text in found]


def _with_zwnj(title: str | None, candidates: list[str]) -> str | None:
    """The title as the page spells it, if trafilatura dropped its ZWNJs."""
    if title is None or _ZWNJ in title:
        return title
    for candidate in candidates:
        if _ZWNJ not in candidate:
            continue
        stripped = candidate.replace(_ZWNJ, "")
        at = stripped.find(title)
        if at < 0:
            continue
        # Map the match back to the candidate, counting the ZWNJs skipped.
        start = _index_with(candidate, at)
        end = _index_with(candidate, at + len(title) - 1) + 1
        return candidate[start:end]
    return title


def _index_with(text: str, index: int) -> int:
    """The position in ``text`` of the ``index``-th character that is not a ZWNJ."""
    seen = -1
    for position, char in enumerate(text):
        if char != _ZWNJ:
            seen += 1
            if seen == index:
                return position
    return len(text)


# -- trafilatura's XML to HTML --------------------------------------------------

_INLINE = {"#b": "b", "#i": "i", "#u": "u", "#t": "code", "#sub": "sub", "#sup": "sup"}
_SIMPLE = {"p": "p", "quote": "blockquote", "item": "li", "row": "tr", "table": "table"}


def _to_html(body: etree._Element) -> str:
    root = lxml.html.Element("div")
    for child in body:
        root.append(_convert(child))
    inner = (root.text or "") + "".join(
        lxml.html.tostring(child, encoding="unicode", method="html") for child in root
    )
    return inner


def _convert(element: etree._Element) -> lxml.html.HtmlElement:
    tag = element.tag
    attributes: dict[str, str] = {}
    if tag == "head":
        rend = str(element.get("rend", "h2"))
        name = rend if re.fullmatch(r"h[1-6]", rend) else "h2"
    elif tag == "list":
        name = "ol" if element.get("rend") == "ol" else "ul"
    elif tag == "hi":
        name = _INLINE.get(str(element.get("rend", "")), "span")
    elif tag == "ref":
        name = "a"
        if element.get("target"):
            attributes["href"] = str(element.get("target"))
    elif tag == "lb":
        name = "br"
    elif tag == "cell":
        name = "th" if element.get("role") == "head" else "td"
    elif tag == "code":
        name = "pre"
    elif tag == "del":
        name = "del"
    elif tag == "graphic":
        name = "img"
        attributes = {k: str(element.get(k)) for k in ("src", "alt", "title") if element.get(k)}
    else:
        name = _SIMPLE.get(str(tag), "div" if len(element) else "span")
    converted = lxml.html.Element(name, attributes)
    converted.text = element.text
    for child in element:
        converted.append(_convert(child))
    converted.tail = element.tail
    return converted

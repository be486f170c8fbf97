"""HTML that stays HTML: translate the text of a page or fragment, keep its markup.

``HtmlFormat.parse`` gathers text in runs between block boundaries, splits each run
into sentences with the project's segmenter (so a boundary never falls at an inline
tag) and carries inline tags inside a sentence as markers (``formats.markers``);
``script``, ``style``, ``code``, ``pre`` and anything marked ``translate="no"`` are
left as they are, ``alt`` and ``title`` are translated too. ``HtmlDocument.render``
puts translations back into a copy of the tree with the target's ``lang``/``dir`` and
sanitises it; ``render_report`` also says which sentences lost markup.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass

import lxml.html
from lxml import etree

from service.languages import text_direction
from worker.pipeline.formats.base import MarkupLoss, Rendering
from worker.pipeline.formats.html_render import Renderer
from worker.pipeline.formats.runs import Atom, Run, Span, TextBuilder, segment_run
from worker.pipeline.formats.sanitize import sanitize_html
from worker.pipeline.text import Document, normalize_text, sentence_separator, split_sentences

INLINE_TAGS = frozenset(
    """a abbr acronym b bdi bdo big cite data del dfn em font i ins label mark q s small span
    strike strong sub sup time tt u""".split()  # noqa: SIM905
)
SKIP_TAGS = frozenset(
    """script style code pre kbd samp var textarea svg math noscript template iframe object
    select""".split()  # noqa: SIM905
)
# Inline-level elements without translatable text of their own: standalone markers.
ATOM_TAGS = frozenset(
    "img wbr input embed video audio canvas picture button map area meter progress".split()  # noqa: SIM905
) | (SKIP_TAGS - {"pre"})
TRANSLATED_ATTRIBUTES = ("alt", "title")
_DOCUMENT = re.compile(
    r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype|html|head|body)\b", re.I | re.S
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_SPACE = re.compile(r"\s+")


# -- what parsing finds ----------------------------------------------------------------


@dataclass(eq=False)
class _Attribute:
    element: etree._Element
    name: str
    sentences: list[str]
    first: int = 0


class HtmlFormat:
    """Parses HTML (a whole page or a fragment) for translation with its markup kept."""

    name = "html"

    def parse(self, source: str, language: str) -> HtmlDocument:
        return HtmlDocument(source, language)


class HtmlDocument:
    """A parsed HTML document: ``document`` to translate, ``render`` to rebuild it."""

    def __init__(self, source: str, language: str) -> None:
        self.language = language
        self.is_page = bool(_DOCUMENT.match(source))
        self.root = _parse(source, self.is_page)
        self._elements = list(self.root.iter())
        self._order = {element: i for i, element in enumerate(self._elements)}
        self._runs: list[Run] = []
        self._attributes: list[_Attribute] = []
        self._visited: list[etree._Element] = []  # elements outside untouched subtrees
        self._walk(self.root)
        paragraphs: list[list[str]] = []
        for run in self._runs:
            run.first = sum(len(p) for p in paragraphs)
            paragraphs.append([sentence.marked for sentence in run.sentences])
        for attribute in self._attributes:
            attribute.first = sum(len(p) for p in paragraphs)
            paragraphs.append(attribute.sentences)
        self.document = Document(paragraphs=paragraphs, language=language)
        space = sentence_separator(language)
        self.text = "\n\n".join(
            space.join(" ".join(sentence.plain.split()) for sentence in run.sentences)
            for run in self._runs
            if run.in_text
        )

    # -- parsing ------------------------------------------------------------------------

    def _walk(self, element: etree._Element) -> None:
        """Collect the runs and attributes of a block element, then of its blocks."""
        if _untouched(element):
            return
        self._visited.append(element)
        self._collect_attributes(element)
        if element.tag == "head":
            for child in element:
                if child.tag == "title":
                    self._walk(child)
            return
        nodes: list[etree._Element] = []
        after: etree._Element | None = None
        for child in element:
            if _is_inline(child):
                nodes.append(child)
                continue
            self._add_run(element, after, nodes)
            nodes = []
            if child.tag != "br":
                self._walk(child)
            after = child
        self._add_run(element, after, nodes)

    def _collect_attributes(self, element: etree._Element) -> None:
        for name in TRANSLATED_ATTRIBUTES:
            value = element.get(name)
            if value and _has_letter(value):
                text = " ".join(normalize_text(value).split())
                sentences = split_sentences(text, self.language) or [text]
                self._attributes.append(_Attribute(element, name, sentences))

    def _add_run(
        self, parent: etree._Element, after: etree._Element | None, nodes: list[etree._Element]
    ) -> None:
        builder = TextBuilder()
        builder.add(parent.text if after is None else after.tail)
        items: list[Span | Atom] = []
        for node in nodes:
            items.append(self._inline(node, builder))
            builder.add(node.tail)
        raw = (parent.text if after is None else after.tail) or ""
        if nodes:
            last_tail = nodes[-1].tail or ""
            trail = last_tail[len(last_tail.rstrip()) :]
        else:
            trail = raw[len(raw.rstrip()) :]
        plain = builder.finish()
        if not _has_letter(plain):
            return
        run = Run(
            parent=parent,
            after=after,
            nodes=nodes,
            lead=raw[: len(raw) - len(raw.lstrip())],
            trail=trail,
            plain=plain,
            items=items,
            in_text=parent.tag != "title",
        )
        segment_run(run, self.language)
        self._runs.append(run)

    def _inline(self, element: etree._Element, builder: TextBuilder) -> Span | Atom:
        if _untouched(element) or element.tag in ATOM_TAGS or not _has_text(element):
            self._visit_atom(element)
            return Atom(element, builder.atom())
        self._visited.append(element)
        self._collect_attributes(element)
        span = Span(element, builder.length)
        builder.add(element.text)
        for child in element:
            if child.tag == "br":
                span.children.append(Atom(child, builder.atom()))
            else:
                span.children.append(self._inline(child, builder))
            builder.add(child.tail)
        span.end = builder.length
        return span

    def _visit_atom(self, element: etree._Element) -> None:
        """An atom moves as one piece; its attributes (an image's alt) are still translated."""
        if _untouched(element):
            return
        self._visited.append(element)
        self._collect_attributes(element)
        for child in element:
            self._visit_atom(child)

    # -- rendering ----------------------------------------------------------------------

    def render(self, translations: list[str], language: str) -> str:
        """The translated HTML (see :meth:`render_report`)."""
        return self.render_report(translations, language).output

    def render_report(self, translations: list[str], language: str) -> Rendering:
        """The translated HTML, and the sentences whose inline markup was not kept whole.

        Args:
            translations: one per item of ``document.sentences``, in order.
            language: the target language, for ``lang`` and ``dir``.

        Raises:
            ValueError: ``translations`` has the wrong length.
        """
        expected = len(self.document.sentences)
        if len(translations) != expected:
            raise ValueError(f"expected {expected} translations, got {len(translations)}")
        root = copy.deepcopy(self.root)
        twins = list(root.iter())
        twin = {original: twins[i] for original, i in self._order.items()}
        direction = text_direction(language)
        for attribute in self._attributes:
            parts = translations[attribute.first : attribute.first + len(attribute.sentences)]
            value = sentence_separator(language).join(p.strip() for p in parts if p.strip())
            twin[attribute.element].set(attribute.name, " ".join(value.split()))
        for element in self._visited:
            target = twin[element]
            if target.get("lang") is not None:
                target.set("lang", language)
            if target.get("dir") not in (None, "auto"):
                target.set("dir", direction)
        losses: list[MarkupLoss] = []
        for run in self._runs:
            Renderer(run, translations, language, twin, losses).replace()
        if self.is_page:
            return Rendering(self._page(root, language, direction), tuple(losses))
        for child in root:
            block = isinstance(child.tag, str) and child.tag != "br" and not _is_inline(child)
            if block and not _untouched(child):
                child.set("lang", language)
                child.set("dir", direction)
        return Rendering(sanitize_html(_inner_html(root)), tuple(losses))

    def _page(self, root: etree._Element, language: str, direction: str) -> str:
        titles = root.xpath("//title")
        title = " ".join(titles[0].text_content().split()) if titles else ""
        bodies = root.xpath("//body")
        body = sanitize_html(_inner_html(bodies[0])) if bodies else ""
        head = f"<title>{_escape(title)}</title>" if title else ""
        return (
            f'<!DOCTYPE html>\n<html lang="{_escape(language)}" dir="{direction}">'
            f'<head><meta charset="utf-8">{head}</head><body>{body}</body></html>\n'
        )


# -- helpers -------------------------------------------------------------------------


def _parse(source: str, is_page: bool) -> etree._Element:
    # Parsed from UTF-8 bytes with the encoding given, so a <meta charset> in the
    # text (already decoded) cannot make the parser decode it again.
    source = _XML_DECLARATION.sub("", source, count=1)
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    if is_page:
        return lxml.html.document_fromstring(source.encode("utf-8", "surrogatepass"), parser=parser)
    wrapped = f"<html><body><div>{source}</div></body></html>"
    document = lxml.html.document_fromstring(
        wrapped.encode("utf-8", "surrogatepass"), parser=parser
    )
    return document.body[0]


def _untouched(element: etree._Element) -> bool:
    if not isinstance(element.tag, str):
        return True  # comments and processing instructions
    if element.tag in SKIP_TAGS or element.get("translate", "").lower() == "no":
        return True
    return "notranslate" in (element.get("class") or "").split()


def _is_inline(element: etree._Element) -> bool:
    """Inline content of a run: an atom, or an inline tag with nothing block-level inside."""
    tag = element.tag
    if not isinstance(tag, str) or tag not in INLINE_TAGS | ATOM_TAGS:
        return False
    return tag in ATOM_TAGS or _untouched(element) or _inline_content(element)


def _inline_content(element: etree._Element) -> bool:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in ATOM_TAGS or tag == "br" or _untouched(child):
            continue
        if tag not in INLINE_TAGS or not _inline_content(child):
            return False
    return True


def _has_text(element: etree._Element) -> bool:
    return bool("".join(element.itertext()).strip())


def _has_letter(text: str | None) -> bool:
    return bool(text) and any(unicodedata.category(ch).startswith("L") for ch in text or "")


def _inner_html(element: etree._Element) -> str:
    parts = [_escape(element.text or "")]
    parts += [lxml.html.tostring(child, encoding="unicode", method="html") for child in element]
    return "".join(parts)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )

"""Runs of inline HTML: their plain text, sentences, and the markers inside each sentence.

A run is the text and inline elements between two block boundaries. Its plain
text (whitespace collapsed as a browser shows it) is split into sentences by the
project's segmenter; the inline elements become a tree of spans (tags around
words) and atoms (standalone items) over plain-text offsets. For each sentence,
the spans that wrap it whole are kept outside (``outer``), and the rest are
clipped to it and numbered as markers (``worker.pipeline.formats.markers``).

A span that wraps one or more whole sentences, under the run or under another
such span, is *structural*: it is rendered once around its sentences instead of
being cut into one copy per sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from worker.pipeline.formats.markers import Node, Standalone, Wrap, encode
from worker.pipeline.text import normalize_text, split_sentences


@dataclass(eq=False)
class Span:
    """An inline element of a run: its plain-text range and what it contains."""

    element: etree._Element
    start: int
    end: int = -1
    children: list[Span | Atom] = field(default_factory=list)
    structural: bool = False  # wraps whole sentences: rendered outside them
    sentences: tuple[int, int] = (0, 0)  # [first, last) sentences it covers, when structural


@dataclass(eq=False)
class Atom:
    element: etree._Element
    offset: int
    sentence: int = 0


@dataclass
class Sentence:
    plain: str
    marked: str
    outer: list[Span]  # tags around the whole sentence, outermost first
    ids: dict[int, Span | Atom]  # marker id -> what it stands for


@dataclass(eq=False)
class Run:
    parent: etree._Element
    after: etree._Element | None  # the child whose tail starts the run; None: parent.text
    nodes: list[etree._Element]  # the inline children the run is made of
    lead: str
    trail: str
    plain: str
    items: list[Span | Atom]
    bounds: list[tuple[int, int]] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    first: int = 0  # index of its first sentence in document.sentences
    in_text: bool = True  # part of HtmlDocument.text (the <title> is not)


class TextBuilder:
    """The plain text of a run, whitespace collapsed as a browser shows it.

    Space on both sides of a standalone item (an image, inline code) is kept: it
    separates the item from the words, which collapsing would glue together.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self._after_atom = False

    def add(self, text: str | None) -> None:
        if not text:
            return
        lead, trail = text[:1].isspace(), text[-1:].isspace()
        core = " ".join(normalize_text(text).split())
        flat = (" " if lead else "") + core + (" " if trail and core else "")
        collapse = not self._after_atom and (self.length == 0 or self.parts[-1].endswith(" "))
        if flat.startswith(" ") and collapse:
            flat = flat[1:]
        if flat:
            self.parts.append(flat)
            self.length += len(flat)
            self._after_atom = False

    def atom(self) -> int:
        """Note a standalone item here; returns its offset."""
        self._after_atom = True
        return self.length

    def finish(self) -> str:
        return "".join(self.parts)


def segment_run(run: Run, language: str) -> None:
    """Split a run into sentences and encode each with its markers."""
    plain = run.plain
    bounds: list[tuple[int, int]] = []
    cursor = 0
    for piece in split_sentences(plain, language):
        at = plain.find(piece, cursor)
        if at < 0:  # never expected: the segmenter keeps every character in order
            bounds = [(0, len(plain))]
            break
        bounds.append((at, at + len(piece)))
        cursor = at + len(piece)
    run.bounds = bounds or [(0, len(plain))]
    _classify(run.items, run, parent_structural=True)
    _place_atoms(run.items, run.bounds)
    for index in range(len(run.bounds)):
        run.sentences.append(_encode_sentence(run, index))


def _classify(items: list[Span | Atom], run: Run, *, parent_structural: bool) -> None:
    """Mark the spans that wrap whole sentences (only under such spans or the run itself)."""
    starts = {start: i for i, (start, _) in enumerate(run.bounds)}
    ends = {end: i for i, (_, end) in enumerate(run.bounds)}
    for item in items:
        if not isinstance(item, Span):
            continue
        text = run.plain[item.start : item.end]
        first = item.start + len(text) - len(text.lstrip())
        last = item.end - len(text) + len(text.rstrip())
        item.structural = parent_structural and first in starts and last in ends
        if item.structural:
            item.sentences = (starts[first], ends[last] + 1)
        _classify(item.children, run, parent_structural=item.structural)


def _place_atoms(items: list[Span | Atom], bounds: list[tuple[int, int]]) -> None:
    """Give each standalone item a sentence: its own, else the next one, else the last."""
    for item in items:
        if isinstance(item, Span):
            _place_atoms(item.children, bounds)
            continue
        item.sentence = len(bounds) - 1
        for index, (_first, last) in enumerate(bounds):
            if item.offset <= last:
                item.sentence = index
                break


def _encode_sentence(run: Run, index: int) -> Sentence:
    first, last = run.bounds[index]
    container = _container(run.items, index)
    nodes = _clip(container, first, last, index, run.plain)
    outer: list[Span] = []
    while (
        len(nodes) == 1
        and isinstance(nodes[0], _Piece)
        and nodes[0].start <= first
        and nodes[0].end >= last
    ):
        outer.append(nodes[0].span)
        nodes = nodes[0].children
    ids: dict[int, Span | Atom] = {}
    tree = _number(nodes, ids, run.plain)
    return Sentence(plain=run.plain[first:last], marked=encode(tree), outer=outer, ids=ids)


def _container(items: list[Span | Atom], index: int) -> list[Span | Atom]:
    """The items of the innermost structural span that holds sentence ``index``."""
    for item in items:
        if isinstance(item, Span) and item.structural:
            first, last = item.sentences
            if first <= index < last:
                return _container(item.children, index)
    return items


@dataclass(eq=False)
class _Piece:
    """A span clipped to one sentence."""

    span: Span
    start: int
    end: int
    children: list[_Piece | Atom | tuple[int, int] | str]


def _clip(
    items: list[Span | Atom], first: int, last: int, index: int, plain: str
) -> list[_Piece | Atom | tuple[int, int] | str]:
    """The items inside sentence ``index`` ([first, last)), text as (start, end) ranges."""
    out: list[_Piece | Atom | tuple[int, int] | str] = []
    position = first
    for item in items:
        if isinstance(item, Atom):
            if item.sentence == index:
                at = min(max(item.offset, first), last)
                if at > position:
                    out.append((position, at))
                    position = at
                # Outside the sentence, beside it: keep the space between them.
                if item.offset > last and plain[last : item.offset].isspace():
                    out.append(" ")
                out.append(item)
                if item.offset < first and plain[item.offset : first].isspace():
                    out.append(" ")
            continue
        if item.structural and not (item.sentences[0] <= index < item.sentences[1]):
            continue
        start, end = max(item.start, first), min(item.end, last)
        has_atom = any(isinstance(a, Atom) and a.sentence == index for a in _atoms(item))
        if start >= end and not has_atom:
            continue
        start = max(start, position)
        end = max(end, start)
        if start > position:
            out.append((position, start))
        children = _clip(item.children, start, end, index, plain)
        if children or plain[start:end].strip():
            out.append(_Piece(item, start, end, children or [(start, end)]))
        position = end
    if last > position:
        out.append((position, last))
    return [node for node in out if not isinstance(node, tuple) or node[1] > node[0]]


def _atoms(span: Span) -> list[Atom]:
    found: list[Atom] = []
    for child in span.children:
        found.extend([child] if isinstance(child, Atom) else _atoms(child))
    return found


def _number(
    nodes: list[_Piece | Atom | tuple[int, int] | str], ids: dict[int, Span | Atom], plain: str
) -> list[Node]:
    """Marker nodes with ids in pre-order (an outer tag has the lower id)."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, tuple):
            out.append(plain[node[0] : node[1]])
        elif isinstance(node, Atom):
            ids[len(ids) + 1] = node
            out.append(Standalone(len(ids)))
        else:
            ids[len(ids) + 1] = node.span
            wrap = Wrap(len(ids))
            wrap.children = _number(node.children, ids, plain)
            out.append(wrap)
    return out

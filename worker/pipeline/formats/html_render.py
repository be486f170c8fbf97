"""Rebuilding an HTML document around its translated sentences: inline tags put back around
the words they wrapped, lost markers handled gracefully and reported."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from worker.pipeline.formats.base import MarkupLoss
from worker.pipeline.formats.markers import Node, Standalone, Wrap, decode
from worker.pipeline.formats.runs import Atom, Run, Sentence, Span
from worker.pipeline.text import sentence_separator

_SPACE = re.compile(r"\s+")


class Renderer:
    """Rebuilds one run in the copied tree from its sentences' translations."""

    def __init__(
        self,
        run: Run,
        translations: list[str],
        language: str,
        twin: dict[etree._Element, etree._Element],
        losses: list[MarkupLoss],
    ) -> None:
        self.run = run
        self.translations = translations
        self.space = sentence_separator(language)
        self.twin = twin
        self.losses = losses
        self.emitted: set[Span] = set()

    def replace(self) -> None:
        run = self.run
        parent = self.twin[run.parent]
        nodes = self._range(run.items, 0, len(run.sentences))
        content: list[str | etree._Element] = [run.lead, *nodes, run.trail]
        removed = [self.twin[node] for node in run.nodes]
        if removed:
            position = parent.index(removed[0])
            for element in removed:
                parent.remove(element)
        else:
            position = 0 if run.after is None else parent.index(self.twin[run.after]) + 1
        previous = None if run.after is None else self.twin[run.after]
        if previous is None:
            parent.text = ""
        else:
            previous.tail = ""
        for piece in content:
            if isinstance(piece, str):
                if previous is None:
                    parent.text = (parent.text or "") + piece
                else:
                    previous.tail = (previous.tail or "") + piece
            else:
                parent.insert(position, piece)
                position += 1
                previous = piece

    def _range(
        self, items: list[Span | Atom], first: int, last: int
    ) -> list[Node | etree._Element]:
        """Sentences ``first`` to ``last`` (exclusive) of a structural container's ``items``."""
        groups = {
            item.sentences[0]: item
            for item in items
            if isinstance(item, Span) and item.structural and first <= item.sentences[0] < last
        }
        out: list[Node | etree._Element] = []
        index = first
        while index < last:
            if out:
                out.append(self.space)
            group = groups.get(index)
            if group is not None:
                # Standalone siblings placed in the group's sentences stay beside it.
                beside = [
                    item
                    for item in items
                    if isinstance(item, Atom)
                    and group.sentences[0] <= item.sentence < group.sentences[1]
                ]
                out.extend(self._atom(a) for a in beside if a.offset <= group.start)
                element = self._element(group)
                _fill(element, self._range(group.children, *group.sentences))
                out.append(element)
                out.extend(self._atom(a) for a in beside if a.offset > group.start)
                index = group.sentences[1]
            else:
                out.extend(self._sentence(index))
                index += 1
        return out

    def _sentence(self, index: int) -> list[Node | etree._Element]:
        run = self.run
        sentence = run.sentences[index]
        number = run.first + index
        translation = _SPACE.sub(" ", self.translations[number]).strip()
        pairs = {i for i, item in sentence.ids.items() if isinstance(item, Span)}
        singles = set(sentence.ids) - pairs
        nodes, problems = decode(translation, pairs, singles)
        if problems:
            self.losses.append(MarkupLoss(number, tuple(problems)))
        built = self._build(nodes, sentence)
        for span in reversed(sentence.outer):
            element = self._element(span)
            _fill(element, built)
            built = [element]
        return built

    def _build(self, nodes: list[Node], sentence: Sentence) -> list[Node | etree._Element]:
        out: list[Node | etree._Element] = []
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Standalone):
                atom = sentence.ids[node.id]
                assert isinstance(atom, Atom)
                out.append(self._atom(atom))
            else:
                span = sentence.ids[node.id]
                assert isinstance(span, Span)
                element = self._element(span)
                _fill(element, self._build(node.children, sentence))
                out.append(element)
        return out

    def _atom(self, atom: Atom) -> etree._Element:
        element = self.twin[atom.element]
        element.tail = None  # its old tail is text of the run, rebuilt around it
        return element

    def _element(self, span: Span) -> etree._Element:
        """A new element with the tag and (translated) attributes of ``span``'s element."""
        source = self.twin[span.element]
        attributes = dict(source.attrib)
        if span in self.emitted:
            attributes.pop("id", None)  # a tag cut in two keeps its id once
        self.emitted.add(span)
        return lxml.html.Element(source.tag, attributes)


def _fill(element: etree._Element, nodes: list[Node | etree._Element]) -> None:
    """Append text and elements to ``element``: text before the first child is its text."""
    last: etree._Element | None = None
    for node in nodes:
        if isinstance(node, str):
            if last is None:
                element.text = (element.text or "") + node
            else:
                last.tail = (last.tail or "") + node
        else:
            assert not isinstance(node, Wrap | Standalone)
            element.append(node)
            last = node

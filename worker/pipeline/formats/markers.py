"""Inline markup inside a sentence, as markers that travel through translation.

A tag around words becomes ``<gN>…</gN>``, something that stands alone (an image,
inline code) ``<xN/>`` (XLIFF's names). ``decode`` accepts what engines do to them
(spacing, target-script digits) and degrades gracefully when one is lost: a pair
missing a marker widens or is dropped with its words kept, a lost standalone goes to
the end of the sentence, crossing pairs are nested again; it reports every marker it
could not put back where it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from worker.pipeline.quality.numbers import _D, to_ascii_digits

_MARKER = re.compile(rf"<\s*(/?)\s*([gGxX])\s*({_D}+)\s*(/?)\s*>")


@dataclass
class Wrap:
    """An inline tag around ``children``; ``id`` is its marker number."""

    id: int
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class Standalone:
    id: int


Node = str | Wrap | Standalone


def encode(nodes: list[Node]) -> str:
    """The sentence text with its markers."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, Standalone):
            parts.append(f"<x{node.id}/>")
        else:
            parts.append(f"<g{node.id}>{encode(node.children)}</g{node.id}>")
    return "".join(parts)


def marker_ids(nodes: list[Node]) -> tuple[set[int], set[int]]:
    """The ids of the pairs and of the standalone markers in ``nodes``."""
    pairs: set[int] = set()
    singles: set[int] = set()
    for node in nodes:
        if isinstance(node, Standalone):
            singles.add(node.id)
        elif isinstance(node, Wrap):
            pairs.add(node.id)
            inner_pairs, inner_singles = marker_ids(node.children)
            pairs |= inner_pairs
            singles |= inner_singles
    return pairs, singles


def strip_markers(text: str) -> str:
    """``text`` without any marker (for a sentence's plain form)."""
    return _MARKER.sub("", text)


def decode(translation: str, pairs: set[int], singles: set[int]) -> tuple[list[Node], list[str]]:
    """Rebuild the inline tree of a translated sentence.

    ``pairs`` and ``singles`` are the ids of the markers the source sentence had. The
    answer is the nodes, and the markers (as written in the source, e.g. ``"<g1>"``)
    that were lost, repeated or moved: none when the markup came back whole.
    """
    units: list[tuple[str | int, frozenset[int]]] = []
    active: list[int] = []
    opened: set[int] = set()
    closed: set[int] = set()
    seen: set[int] = set()
    problems: list[str] = []
    position = 0
    for match in _MARKER.finditer(translation):
        if match.start() > position:
            units.append((translation[position : match.start()], frozenset(active)))
        position = match.end()
        closing, kind, number = match.group(1), match.group(2).lower(), match.group(3)
        marker_id = int(to_ascii_digits(number))
        if kind == "x":
            if marker_id not in singles or marker_id in seen:
                if marker_id in singles:
                    problems.append(f"<x{marker_id}/>")
                continue
            seen.add(marker_id)
            units.append((marker_id, frozenset(active)))
        elif not closing:
            if marker_id not in pairs or marker_id in opened:
                if marker_id in pairs:
                    problems.append(f"<g{marker_id}>")
                continue
            opened.add(marker_id)
            active.append(marker_id)
        else:
            if marker_id not in pairs or marker_id in closed:
                if marker_id in pairs:
                    problems.append(f"</g{marker_id}>")
                continue
            closed.add(marker_id)
            if marker_id in active:
                active.remove(marker_id)
            else:  # closed but never opened: it wrapped everything so far
                opened.add(marker_id)
                units = [(content, spans | {marker_id}) for content, spans in units]
                problems.append(f"<g{marker_id}>")
    if position < len(translation):
        units.append((translation[position:], frozenset(active)))
    problems += [f"</g{marker_id}>" for marker_id in active]  # left open: widened to the end
    problems += [f"<g{marker_id}>" for marker_id in sorted(pairs - opened)]
    for marker_id in sorted(singles - seen):
        units.append((marker_id, frozenset()))
        problems.append(f"<x{marker_id}/>")
    wrapping = {
        marker_id for content, spans in units if _has_content(content) for marker_id in spans
    }
    problems += [f"<g{marker_id}>" for marker_id in sorted((opened & pairs) - wrapping)]
    return _nest(units), sorted(set(problems), key=_marker_order)


def _has_content(content: str | int) -> bool:
    return not isinstance(content, str) or bool(content.strip())


def _marker_order(marker: str) -> tuple[int, str]:
    return int(re.sub(r"\D", "", marker)), marker


def _nest(units: list[tuple[str | int, frozenset[int]]]) -> list[Node]:
    """Group units under their spans; a lower id is the outer tag (ids are in pre-order)."""
    out: list[Node] = []
    index = 0
    while index < len(units):
        content, spans = units[index]
        if not spans:
            out.append(content if isinstance(content, str) else Standalone(content))
            index += 1
            continue
        outer = min(spans)
        end = index
        while end < len(units) and outer in units[end][1]:
            end += 1
        inner = [(c, s - {outer}) for c, s in units[index:end]]
        out.append(Wrap(outer, _nest(inner)))
        index = end
    return out

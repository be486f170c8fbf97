"""Inline markers through translation: encoding, and decoding what an engine gives back."""

from __future__ import annotations

from worker.pipeline.formats.markers import (
    Standalone,
    Wrap,
    decode,
    encode,
    marker_ids,
    strip_markers,
)
from worker.pipeline.quality.protect import protect, restore

SOURCE = [
    "Read ",
    Wrap(1, ["the ", Wrap(2, ["full"]), " statement"]),
    " ",
    Standalone(3),
    " now.",
]
MARKED = "Read <g1>the <g2>full</g2> statement</g1> <x3/> now."


def test_encode_and_ids() -> None:
    assert encode(SOURCE) == MARKED
    assert marker_ids(SOURCE) == ({1, 2}, {3})
    assert strip_markers(MARKED) == "Read the full statement  now."


def test_a_faithful_translation_decodes_to_the_same_tree() -> None:
    nodes, problems = decode(MARKED, {1, 2}, {3})
    assert problems == []
    assert encode(nodes) == MARKED


def test_reordered_and_respelled_markers() -> None:
    nodes, problems = decode(
        "Indi <x۳/> < g1 >bəyanatın <G2>tam</G2> mətnini</ g1 > oxuyun.", {1, 2}, {3}
    )
    assert problems == []
    assert encode(nodes) == "Indi <x3/> <g1>bəyanatın <g2>tam</g2> mətnini</g1> oxuyun."


def test_lost_markers_degrade_and_are_reported() -> None:
    # The closing marker lost: the tag wraps the rest of the sentence.
    nodes, problems = decode("Read <g1>the full statement now.", {1}, set())
    assert encode(nodes) == "Read <g1>the full statement now.</g1>" and problems == ["</g1>"]
    # The opening marker lost: the tag wraps the start.
    nodes, problems = decode("Read the full</g1> statement.", {1}, set())
    assert encode(nodes) == "<g1>Read the full</g1> statement." and problems == ["<g1>"]
    # Both lost: the words stay, the tag goes.
    nodes, problems = decode("Read the full statement.", {1}, {2})
    assert encode(nodes) == "Read the full statement.<x2/>"
    assert problems == ["<g1>", "<x2/>"]
    # A tag around nothing is dropped.
    nodes, problems = decode("<g1></g1>Read it.", {1}, set())
    assert encode(nodes) == "Read it." and problems == ["<g1>"]


def test_crossing_markers_are_nested_by_splitting() -> None:
    nodes, problems = decode("<g1>a <g2>b</g1> c</g2>", {1, 2}, set())
    assert problems == []
    assert encode(nodes) == "<g1>a <g2>b</g2></g1><g2> c</g2>"


def test_unknown_and_repeated_markers() -> None:
    nodes, problems = decode("<g7>x</g7> <x1/><x1/> <g2>y</g2>", {2}, {1})
    assert encode(nodes) == "x <x1/> <g2>y</g2>"
    assert problems == ["<x1/>"]


def test_markers_survive_url_masking() -> None:
    """protect() masks URLs as [N] (and reads <N> as one): the markers are neither."""
    text = "See <g1>example.com/report</g1> and <x2/> [3] <4>."
    protected = protect(text)
    assert (
        "<g1>" in protected.masked and "</g1>" in protected.masked and "<x2/>" in protected.masked
    )
    restored, lost = restore(protected, protected.masked)
    assert restored == text and lost == []

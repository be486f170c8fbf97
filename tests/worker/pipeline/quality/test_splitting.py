"""Sentences over the model limit split at clauses, nothing lost."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.pipeline.quality import (
    join_pieces,
    split_long_sentence,
    to_ascii_digits,
)

ZWNJ = "\u200c"


def _words(text: str) -> int:
    return len(text.split())


LONG_EN = (
    "The ministry said the talks would continue next week; however, no date was set, and the "
    "delegations left Brussels without a joint statement, which surprised observers who had "
    "expected a breakthrough on the border commission."
)


def test_split_prefers_clause_boundaries() -> None:
    pieces = split_long_sentence(LONG_EN, 12, _words)
    assert pieces == [
        "The ministry said the talks would continue next week;",
        "however, no date was set,",
        "and the delegations left Brussels without a joint statement,",
        "which surprised observers who had expected a breakthrough on the border commission.",
    ]
    assert join_pieces(pieces, "en") == LONG_EN


def test_split_uses_persian_commas_and_leaves_short_sentences_alone() -> None:
    sentence = (
        "به گفته شورای اروپا، جمهوری آذربایجان و ارمنستان روز سه‌شنبه دور تازه‌ای از مذاکرات "
        "صلح را در بروکسل برگزار کردند، اما هیچ بیانیه مشترکی منتشر نشد."
    )
    pieces = split_long_sentence(sentence, 15, _words)
    assert pieces[0] == "به گفته شورای اروپا،"
    assert all(_words(p) <= 15 for p in pieces)
    assert split_long_sentence(sentence, 100, _words) == [sentence]


def test_split_cuts_an_overlong_word_by_characters() -> None:
    pieces = split_long_sentence("会谈在布鲁塞尔举行没有发表联合声明", 5, len)
    assert pieces == ["会谈在布鲁", "塞尔举行没", "有发表联合", "声明"]
    assert join_pieces(pieces, "zh") == "会谈在布鲁塞尔举行没有发表联合声明"


def test_split_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError):
        split_long_sentence("a b", 0, _words)


_SENTENCE_TEXT = st.lists(
    st.sampled_from(list("abc xyz,;:—–،؛՝.") + ["and ", "və ", "و ", "\u00a0", "\n"]),
    max_size=120,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_SENTENCE_TEXT, st.integers(min_value=1, max_value=12), st.booleans())
def test_split_never_loses_text_and_respects_the_limit(
    sentence: str, limit: int, by_characters: bool
) -> None:
    count = len if by_characters else _words
    pieces = split_long_sentence(sentence, limit, count)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", sentence)
    assert all(p and p == p.strip() for p in pieces)
    assert all(count(p) <= limit for p in pieces)


def test_to_ascii_digits() -> None:
    assert to_ascii_digits("۱۲۳ ٤٥٦ 789") == "123 456 789"

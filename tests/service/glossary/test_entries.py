"""Validating entries, and the keys that decide duplicates and occurrences."""

from __future__ import annotations

import pytest

from service.errors import InvalidInput, UnsupportedLanguage
from service.glossary.entries import (
    RawEntry,
    content_hash,
    match_key,
    needle,
    squash,
    validate_entries,
)


def validate(*raw: RawEntry, max_entries: int = 100, max_term_chars: int = 200):
    return validate_entries(
        list(raw), source_language="en", max_entries=max_entries, max_term_chars=max_term_chars
    )


def problems(*raw: RawEntry, **limits: int) -> list[str]:
    with pytest.raises(InvalidInput) as info:
        validate(*raw, **limits)
    return [p["problem"] for p in info.value.details["problems"]]


def test_texts_are_normalised_and_codes_made_canonical() -> None:
    (entry,) = validate(
        RawEntry(
            "  Nagorno-\u200bKarabakh ", {"fa-IR": "قره\u200cباغ  کوهستانی", "hye": "Ղարաբաղ"}
        ),
        RawEntry("JAMnews", keep=True),
    )[:1]
    assert entry.targets == {"fa": "قره\u200cباغ کوهستانی", "hy": "Ղարաբաղ"}
    decomposed = validate(
        RawEntry("Bak\u0131", {"az": "Bak\u0131"}), RawEntry("Ca\u0308r", {"az": "x"})
    )
    assert decomposed[1].source == "Cär"  # NFC


def test_every_problem_is_reported_with_where_it_is() -> None:
    found = problems(
        RawEntry("", {"az": "x"}),
        RawEntry("Armenia", {}),
        RawEntry("JAMnews", {"az": "JAMnews"}, keep=True),
        RawEntry("Baku", {"az": "   "}),
        RawEntry("...", {"az": "x"}),
        RawEntry("Yerevan", {"en": "Yerevan"}),
    )
    assert found == [
        "source is empty",
        "needs targets, or keep: true for a term never translated",
        "a keep (do-not-translate) entry has no targets",
        "targets.az is empty",
        "source has no letter or digit",
        "targets include the glossary's source language 'en'",
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Armenia", "ARMENIA"),
        ("Nagorno-Karabakh", "Nagorno Karabakh"),
        ("قره‌باغ", "قره باغ"),
        ("تبریز", "تبريز"),
        ("Երևան", "Երեւան"),
        ("İrəvan", "irəvan"),
    ],
)
def test_duplicates_are_what_matching_cannot_tell_apart(first: str, second: str) -> None:
    found = problems(RawEntry(first, {"az": "a"}), RawEntry(second, {"az": "b"}))
    assert found == [f"duplicate of entries[0] ({second!r})"]


def test_case_sensitive_entries_differ_by_case() -> None:
    entries = validate(
        RawEntry("US", {"az": "ABŞ"}, case_sensitive=True),
        RawEntry("us", {"az": "biz"}, case_sensitive=True),
    )
    assert len({e.id for e in entries}) == 2


def test_unknown_language_is_its_own_error() -> None:
    with pytest.raises(UnsupportedLanguage) as info:
        validate(RawEntry("Armenia", {"klingon-xx": "x"}))
    assert "entries[0].targets" in info.value.message


def test_limits() -> None:
    assert problems(RawEntry("A" * 201, {"az": "x"})) == [
        "source is 201 characters; at most 200 (DRAGOMAN_GLOSSARY_MAX_TERM_CHARS)"
    ]
    with pytest.raises(InvalidInput) as info:
        validate(*[RawEntry(f"t{i}", {"az": "x"}) for i in range(4)], max_entries=3)
    assert "at most 3" in info.value.message


def test_ids_follow_the_source_term_and_the_hash_the_content() -> None:
    (a,) = validate(RawEntry("Armenia", {"az": "Ermənistan"}))
    (b,) = validate(RawEntry("ARMENIA", {"az": "Armeniya"}))
    assert a.id == b.id
    assert content_hash("en", [a]) != content_hash("en", [b])
    assert content_hash("en", [a]) != content_hash("fa", [a])


def test_match_key_and_needles() -> None:
    assert match_key("Nagorno‑Karabakh’s") == "nagorno karabakh's"
    assert squash("Ali Dini\u200cRəhbər-i") == "alidinirəhbəri"
    assert needle("party") in squash("Both parties agreed")
    assert needle("قره‌باغ") in squash("در قره باغ")
    assert needle("İRAN") in squash("ıran, Iran, iran")

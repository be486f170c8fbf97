"""Numbers in every notation: found, compared, repaired."""

from __future__ import annotations

import pytest

from tests.fixtures.translations import (
    AZ_NUMBERS,
    EN_NUMBERS,
    FA_NUMBERS,
    HY_NUMBERS,
)
from worker.pipeline.quality import (
    find_numbers,
    number_mismatches,
    repair_numbers,
)

ZWNJ = "\u200c"


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1,234.5", {"1234.5"}),
        ("1.234,5", {"1234.5"}),
        ("1,234", {"1234", "1.234"}),
        ("3,5", {"3.5"}),
        ("۱۲٬۳۴۵٫۶", {"12345.6"}),
        ("٣٫١٤", {"3.14"}),
        ("۹۹/۹۸", {"99.98"}),
        ("1\u202f234\u202f567", {"1234567"}),
        (".08", {"0.08"}),
        ("80 هزار", {"80", "80000"}),
        ("2.5 milyon", {"2.5", "2500000"}),
    ],
)
def test_find_numbers_reads_every_notation(text: str, values: set[str]) -> None:
    (token,) = find_numbers(text)
    assert token.values == values


def test_find_numbers_dates_times_ranges_ordinals() -> None:
    tokens = find_numbers("On 04.11.2020 at 20:38, 1994–2020, the 27th, 27-ci, 12-də")
    assert [(t.text, t.kind) for t in tokens] == [
        ("04.11.2020", "date"),
        ("20:38", "time"),
        ("1994", "number"),
        ("2020", "number"),
        ("27", "number"),
        ("27", "number"),
        ("12", "number"),
    ]
    assert tokens[0].values == {"2020-11-4"}
    assert find_numbers("2020-11-04")[0].values == {"2020-11-4"}


@pytest.mark.parametrize("translation", [AZ_NUMBERS, HY_NUMBERS, FA_NUMBERS])
def test_good_translations_keep_all_numbers(translation: str) -> None:
    assert number_mismatches(EN_NUMBERS, translation) == []
    assert repair_numbers(EN_NUMBERS, translation, "az") == (translation, [])


def test_dates_may_spell_the_month_and_times_may_drop_zero_minutes() -> None:
    assert number_mismatches("Talks began on 04.11.2020.", "Danışıqlar 4 noyabr 2020-ci ildə") == []
    assert number_mismatches("at 8:00 a.m.", "ساعت ۸ صبح") == []
    assert [t.text for t in number_mismatches("on 04.11.2020", "noyabrın 5-i, 2020")] == [
        "04.11.2020"
    ]


def test_repair_replaces_a_mangled_number_in_the_models_digit_script() -> None:
    text, problems = repair_numbers(
        "The blast killed 17 people and injured 85.",
        "در این انفجار ۱۷ نفر کشته و ۵۸ نفر زخمی شدند.",
        "fa",
    )
    assert problems == []
    assert text == "در این انفجار ۱۷ نفر کشته و ۸۵ نفر زخمی شدند."


def test_repair_reports_what_it_cannot_fix() -> None:
    text, problems = repair_numbers(
        "The blast killed 17 people and injured 85.",
        "Partlayış nəticəsində insanlar həlak olub və yaralanıb.",
        "az",
    )
    assert text.startswith("Partlayış")
    assert problems == [
        "number '17' missing from the translation",
        "number '85' missing from the translation",
    ]


def test_plain_space_thousands_in_the_output_count_as_one_number() -> None:
    assert number_mismatches("12,500 refugees", "12 500 փախստական") == []

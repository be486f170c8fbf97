"""The checks every translated sentence goes through."""

from __future__ import annotations

import pytest

from tests.fixtures.translations import (
    AZ_NEWS,
    AZ_NUMBERS,
    EN_NEWS,
    EN_NUMBERS,
    FA_NEWS,
    FA_NUMBERS,
    HY_NEWS,
    HY_NUMBERS,
    tico_pairs,
)
from worker.pipeline.quality import (
    Flag,
    check_translation,
    has_repetition,
    normalize_output,
)

ZWNJ = "\u200c"


@pytest.mark.parametrize(
    ("source", "output", "source_lang", "target_lang"),
    [
        (EN_NEWS, AZ_NEWS, "en", "az"),
        (EN_NEWS, HY_NEWS, "en", "hy"),
        (EN_NEWS, FA_NEWS, "en", "fa"),
        (AZ_NEWS, EN_NEWS, "az", "en"),
        (HY_NEWS, FA_NEWS, "hy", "fa"),
        (EN_NUMBERS, AZ_NUMBERS, "en", "az"),
        (EN_NUMBERS, HY_NUMBERS, "en", "hy"),
        (EN_NUMBERS, FA_NUMBERS, "en", "fa"),
        ("Yes.", "Bəli.", "en", "az"),
        ("Ilham Aliyev", "Ilham Aliyev", "en", "az"),
    ],
)
def test_good_translations_raise_no_flags(
    source: str, output: str, source_lang: str, target_lang: str
) -> None:
    assert check_translation(source, output, source_lang, target_lang) == []


def test_no_flags_on_real_tico19_pairs() -> None:
    """200 human en-fa pairs: flags fire only where the human text really differs."""
    fired: dict[str, int] = {}
    for english, persian in tico_pairs(200):
        persian = normalize_output(persian, "fa")
        for source, output, pair in (
            (english, persian, ("en", "fa")),
            (persian, english, ("fa", "en")),
        ):
            for flag in check_translation(source, output, *pair):
                fired[flag] = fired.get(flag, 0) + 1
    # The numbers in three lines are written as words or left out by the translator
    # ("March 2" -> "دوم مارس", "number 1" -> "شماره یک", "COVID-19" dropped).
    assert fired == {Flag.NUMBERS: 3}


@pytest.mark.parametrize(
    ("output", "target_lang", "flag"),
    [
        (EN_NEWS, "az", Flag.UNTRANSLATED),
        (EN_NEWS.replace("Tuesday", "Tuesday."), "hy", Flag.UNTRANSLATED),
        (EN_NEWS + " Azərbaycan", "fa", Flag.WRONG_SCRIPT),
        (AZ_NEWS, "hy", Flag.WRONG_SCRIPT),
        (
            "Avrupa Konseyi'ne göre Azerbaycan ve Ermenistan salı günü Brüksel'de barış "
            "görüşmelerinin yeni turunu gerçekleştirdi.",
            "az",
            Flag.WRONG_LANGUAGE,
        ),
        (
            "وفقاً للمجلس الأوروبي، عقدت أذربيجان وأرمينيا يوم الثلاثاء جولة جديدة من "
            "محادثات السلام في بروكسل.",
            "fa",
            Flag.WRONG_LANGUAGE,
        ),
        ("Azərbaycan və Ermənistan " + "danışıqlar " * 6, "az", Flag.REPETITION),
        ("Bəli.", "az", Flag.LENGTH_RATIO),
        (AZ_NEWS + " " + AZ_NEWS + " " + AZ_NEWS + " " + AZ_NEWS, "az", Flag.LENGTH_RATIO),
    ],
)
def test_bad_outputs_are_flagged(output: str, target_lang: str, flag: Flag) -> None:
    assert flag in check_translation(EN_NEWS, output, "en", target_lang)


def test_number_and_placeholder_flags() -> None:
    source = "Follow @AzerbaijanMFA: 17 people were killed and 85 injured."
    good = "@AzerbaijanMFA-ı izləyin: 17 nəfər həlak olub, 85 nəfər yaralanıb."
    assert check_translation(source, good, "en", "az") == []
    flags = check_translation(
        source, "AzerbaijanMFA-ı izləyin: 17 nəfər həlak olub, 58 nəfər yaralanıb.", "en", "az"
    )
    assert flags == [Flag.NUMBERS, Flag.LOST_PLACEHOLDER]


def test_flag_values_are_stable_strings() -> None:
    assert [str(f) for f in Flag] == [
        "untranslated",
        "wrong_script",
        "wrong_language",
        "repetition",
        "length_ratio",
        "numbers",
        "lost_placeholder",
        "glossary",
        "lost_markup",
    ]


def test_repetition_needs_a_real_loop() -> None:
    assert not has_repetition(FA_NEWS, "fa")
    assert not has_repetition("1 2 3 4 5 6 7 8", "en")
    assert has_repetition("the talks, the talks, the talks, the talks, the talks", "en")
    assert has_repetition("会谈会谈会谈会谈", "zh")

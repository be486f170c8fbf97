"""Glossary terms: matching in en/az/fa/hy text, masking, restoring, flags and cache keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.engines.base import Segment
from worker.engines.echo import EchoTranslator
from worker.pipeline.glossary import (
    Entry,
    JobGlossary,
    TermIndex,
    applied_entries_key,
    applied_terms,
    cache_model_key,
    entries_from_snapshot,
    restore_terms,
)
from worker.pipeline.quality import Flag, check_translation, normalize_output, protect, restore

KARABAKH = Entry(
    "e-nk",
    "Nagorno-Karabakh",
    "en",
    {"az": "Dağlıq Qarabağ", "fa": "قره‌باغ کوهستانی", "hy": "Լեռնային Ղարաբաղ"},
    glossary="g1",
)
SHORT_KARABAKH = Entry(
    "e-k", "Karabakh", "en", {"az": "Qarabağ", "fa": "قره‌باغ", "hy": "Ղարաբաղ"}, glossary="g1"
)
ARMENIA = Entry("e-am", "Armenia", "en", {"az": "Ermənistan", "fa": "ارمنستان", "hy": "Հայաստան"})
DISTRICT = Entry("e-d", "district", "en", {"az": "rayon", "fa": "ناحیه", "hy": "շրջան"})
PARTY = Entry("e-p", "party", "en", {"az": "partiya", "fa": "حزب", "hy": "կուսակցություն"})
CEASEFIRE = Entry("e-c", "ceasefire", "en", {"az": "atəşkəs", "fa": "آتش‌بس", "hy": "հրադադար"})
KHAMENEI = Entry("e-kh", "Khamenei", "en", {"az": "Xamenei", "fa": "خامنه‌ای", "hy": "Խամենեի"})
OUTLET = Entry("e-out", "Dragoman Daily", "en", keep=True)
US = Entry("e-us", "US", "en", {"az": "ABŞ", "fa": "آمریکا", "hy": "ԱՄՆ"}, case_sensitive=True)
TABRIZ = Entry("e-t", "Tabriz", "en", {"az": "Təbriz", "fa": "تبريز", "hy": "Թավրիզ"})
ENTRIES = [KARABAKH, SHORT_KARABAKH, ARMENIA, DISTRICT, PARTY, CEASEFIRE, KHAMENEI, OUTLET, US]


def found(text: str, source: str = "en", target: str = "az", entries=ENTRIES) -> list[str]:
    """The spans of ``text`` masked, in order."""
    return [m.text for m in TermIndex(entries, source, target).find(text)]


def masked(text: str, source: str = "en", target: str = "az", entries=ENTRIES) -> str:
    return TermIndex(entries, source, target).mask(text).masked


# -- English source ------------------------------------------------------------------


def test_case_insensitive_and_hyphen_or_space() -> None:
    text = "NAGORNO-KARABAKH, Nagorno Karabakh and nagorno‑karabakh."
    assert found(text) == ["NAGORNO-KARABAKH", "Nagorno Karabakh", "nagorno‑karabakh"]


def test_whole_words_only() -> None:
    assert found("Armenians and Armenian troops left Armenia.") == ["Armenia"]
    assert found("The Karabakhi delegation.") == []
    assert found("A redistricting plan.") == []


def test_longest_match_first() -> None:
    assert masked("Talks on Nagorno-Karabakh and Karabakh.") == "Talks on [1] and [2]."
    index = TermIndex(ENTRIES, "en", "az")
    assert [m.entry.id for m in index.find("Talks on Nagorno-Karabakh and Karabakh.")] == [
        "e-nk",
        "e-k",
    ]


def test_overlapping_entries_are_resolved_the_same_way_every_time() -> None:
    south = Entry("a", "South Caucasus", "en", {"az": "Cənubi Qafqaz"})
    region = Entry("b", "Caucasus region", "en", {"az": "Qafqaz regionu"})
    both_ways = [south, region], [region, south]
    # "Caucasus region" is longer: it wins whatever the order of the entries.
    for entries in both_ways:
        assert found("The South Caucasus region.", entries=entries) == ["Caucasus region"]
    # Equal length: the earlier occurrence, then the entry listed first.
    left = Entry("l", "Baku talks", "en", {"az": "Bakı danışıqları"})
    right = Entry("r", "talks held", "en", {"az": "danışıqlar davam etdi"})
    for entries in ([left, right], [right, left]):
        assert found("The Baku talks held firm.", entries=entries) == ["Baku talks"]
    first = Entry("1", "Baku", "en", {"az": "Bakı"})
    second = Entry("2", "BAKU", "en", {"az": "BAKI"})
    assert [m.entry.id for m in TermIndex([first, second], "en", "az").find("Baku")] == ["1"]
    assert [m.entry.id for m in TermIndex([second, first], "en", "az").find("Baku")] == ["2"]


def test_possessives_keep_their_ending_for_the_model() -> None:
    assert masked("Armenia's prime minister and Khamenei’s office.") == (
        "[1]'s prime minister and [2]’s office."
    )


def test_simple_plurals_match_their_entry() -> None:
    text = "Two districts, three parties and repeated ceasefires."
    assert found(text) == ["districts", "parties", "ceasefires"]
    assert masked(text) == "Two [1], three [2] and repeated [3]."


def test_case_sensitive_entry() -> None:
    assert found("The US said most of us agree.") == ["US"]


def test_match_inside_words_when_asked() -> None:
    loose = Entry("x", "Karabakh", "en", {"az": "Qarabağ"}, whole_word=False)
    assert found("Pro-Karabakhi groups.", entries=[loose]) == ["Karabakh"]


def test_urls_handles_hashtags_and_placeholders_are_left_alone() -> None:
    text = (
        "See https://news.example/armenia-karabakh, write to armenia@example.org, follow "
        "@Armenia and #Karabakh; [3] is a citation. Armenia agreed."
    )
    assert found(text) == ["Armenia"]


# -- Azerbaijani, Persian, Armenian source ---------------------------------------------


def test_azerbaijani_dotted_and_dotless_i() -> None:
    irevan = Entry("i", "İrəvan", "az", {"en": "Yerevan"})
    isiq = Entry("s", "Işıq", "az", {"en": "Ishig"})
    sira = Entry("r", "sıra", "az", {"en": "row"})
    entries = [irevan, isiq, sira]
    assert found("İRƏVAN və irəvan", "az", "en", entries) == ["İRƏVAN", "irəvan"]
    assert found("IŞIQ və ışıq", "az", "en", entries) == ["IŞIQ", "ışıq"]
    # Turkic case rules: "I" is the capital of "ı", so "SIRA" is "sıra", "sira" is not.
    assert found("SIRA, sira", "az", "en", entries) == ["SIRA"]


def test_azerbaijani_case_endings_stay_outside_the_mask() -> None:
    text = "Dağlıq Qarabağda, DAĞLIQ QARABAĞIN rayonlarında və Bakı'da."
    baku = Entry("b", "Bakı", "az", {"en": "Baku"})
    az_to_en = [*ENTRIES, baku]
    assert masked(text, "az", "en", az_to_en) == "[1]da, [2]IN [3]larında və [4]'da."
    assert found("Bakıxanov küçəsi", "az", "en", az_to_en) == []


def test_persian_zwnj_spacing_and_letter_forms() -> None:
    text = "در قره باغ کوهستانی، قرهباغ و قره‌باغ‌ها؛ تبريز و خامنه اي."
    tabriz_fa = Entry("t", "تبریز", "fa", {"en": "Tabriz"})
    khamenei_fa = Entry("k", "خامنه‌ای", "fa", {"en": "Khamenei"})
    entries = [KARABAKH, SHORT_KARABAKH, tabriz_fa, khamenei_fa]
    assert found(text, "fa", "en", entries) == [
        "قره باغ کوهستانی",
        "قرهباغ",
        "قره‌باغ",
        "تبريز",
        "خامنه اي",
    ]
    # the plural ending stays for the model; an adjective is another word
    assert masked("قره‌باغها و ارمنستانی", "fa", "en", [SHORT_KARABAKH, ARMENIA]) == (
        "[1]ها و ارمنستانی"
    )
    assert found("قره‌باغی", "fa", "en", entries) == []
    # ezafe marks (kasra, hamza above heh) are ignored
    assert found("قرهِ باغ و قرهٔ باغ", "fa", "en", entries) == ["قرهِ باغ", "قرهٔ باغ"]


def test_armenian_case_ligature_and_endings() -> None:
    yerevan = Entry("y", "Երևան", "hy", {"en": "Yerevan"})
    entries = [KARABAKH, SHORT_KARABAKH, ARMENIA, yerevan]
    text = "ԼԵՌՆԱՅԻՆ ՂԱՐԱԲԱՂՈՒՄ, Ղարաբաղի, Հայաստանը և Երեւանից։"
    assert masked(text, "hy", "en", entries) == "[1]ՈՒՄ, [2]ի, [3]ը և [4]ից։"
    assert found("Հայաստանցի", "hy", "en", entries) == []


def test_an_entry_serves_every_direction_it_has_text_for() -> None:
    # An English glossary also says how Azerbaijani text maps to Persian.
    index = TermIndex(ENTRIES, "az", "fa")
    match = index.find("Dağlıq Qarabağ barədə")
    assert [(m.text, m.target) for m in match] == [("Dağlıq Qarabağ", "قره‌باغ کوهستانی")]
    assert not TermIndex(ENTRIES, "az", "az")
    assert TermIndex([ARMENIA], "en", "de").find("Armenia") == []  # no German text


def test_keep_entries_are_matched_in_any_language_and_put_back_as_written() -> None:
    index = TermIndex(ENTRIES, "fa", "en")
    result = index.mask("گزارش DRAGOMAN DAILY")
    assert result.masked == "گزارش [1]"
    assert restore_terms(result, result.masked, "en").text == "گزارش Dragoman Daily"


# -- masking and restoring ------------------------------------------------------------------


def test_placeholders_number_after_protects() -> None:
    protected = protect("Armenia (see https://example.am) and [2] Karabakh.")
    assert protected.masked == "Armenia (see [3]) and [2] Karabakh."
    terms = TermIndex(ENTRIES, "en", "az").mask(protected.masked)
    assert terms.masked == "[4] (see [3]) and [2] [5]."
    restored = restore_terms(terms, terms.masked, "az")
    text, lost = restore(protected, restored.text)
    assert text == "Ermənistan (see https://example.am) and [2] Qarabağ."
    assert lost == [] and restored.lost == ()


def test_each_occurrence_has_its_own_placeholder() -> None:
    index = TermIndex(ENTRIES, "en", "hy")
    terms = index.mask("Armenia and Armenia.")
    assert terms.masked == "[1] and [2]."
    restored = restore_terms(terms, "[1] և ։", "hy")
    assert restored.text == "Հայաստան և ։"
    assert [m.start for m in restored.lost] == [12]
    assert restored.flags == [str(Flag.GLOSSARY)]


@pytest.mark.parametrize("output", ["[ 1 ] – [۲]", "(1) – {2}", "<1> – [٢]"])
def test_restore_accepts_what_models_do_to_brackets(output: str) -> None:
    terms = TermIndex(ENTRIES, "en", "az").mask("Armenia – Karabakh")
    restored = restore_terms(terms, output, "az")
    assert restored.text == "Ermənistan – Qarabağ"
    assert restored.flags == []


def test_target_terms_follow_the_target_orthography() -> None:
    index = TermIndex([TABRIZ], "en", "fa")
    terms = index.mask("Tabriz, 2024.")
    restored = restore_terms(terms, terms.masked, "fa")
    assert restored.text == "تبریز, 2024."  # Arabic yeh written as Persian yeh
    resolution = Entry("r", "Resolution 2722", "en", {"fa": "قطعنامه 2722"})
    terms = TermIndex([resolution], "en", "fa").mask("Resolution 2722.")
    assert restore_terms(terms, terms.masked, "fa", persian_digits=True).text == ("قطعنامه ۲۷۲۲.")


def test_applied_terms_say_what_went_where() -> None:
    index = TermIndex(ENTRIES, "en", "fa")
    terms = index.mask("Armenia's Dragoman Daily")
    restored = restore_terms(terms, terms.masked, "fa")
    records = [term.as_record() for term in restored.applied]
    assert records == [
        {
            "entry": "e-am",
            "glossary": None,
            "source": "Armenia",
            "target": "ارمنستان",
            "keep": False,
            "direction": "rtl",
        },
        {
            "entry": "e-out",
            "glossary": None,
            "source": "Dragoman Daily",
            "target": "Dragoman Daily",
            "keep": True,
            "direction": "ltr",
        },
    ]


def test_unrelated_placeholders_are_left_for_restore() -> None:
    terms = TermIndex(ENTRIES, "en", "az").mask("Armenia [7]")
    assert terms.masked == "[8] [7]"
    assert restore_terms(terms, "[7] [8]", "az").text == "[7] Ermənistan"


def test_nothing_to_mask_is_nothing_to_restore() -> None:
    index = TermIndex(ENTRIES, "en", "az")
    terms = index.mask("Nothing here.")
    assert terms.masked == "Nothing here." and terms.matches == ()
    assert restore_terms(terms, "Heç nə [1].", "az").text == "Heç nə [1]."


# -- the cache key ------------------------------------------------------------------------


def test_cache_component_names_the_entries_applied() -> None:
    index = TermIndex(ENTRIES, "en", "az")
    assert index.cache_component("Nothing here.") == ""
    assert cache_model_key("nllb", "") == "nllb"
    key = index.cache_component("Armenia and Karabakh.")
    assert key.startswith("glossary:")
    assert cache_model_key("nllb", key) != "nllb"
    # the same entries, written differently in the text: the same key
    assert index.cache_component("ARMENIA and karabakh!") == key
    # another target text, another target language, another entry: another key
    renamed = Entry("e-am", "Armenia", "en", {"az": "Armeniya"})
    other = TermIndex([renamed, SHORT_KARABAKH], "en", "az")
    assert other.cache_component("Armenia and Karabakh.") != key
    assert TermIndex(ENTRIES, "en", "fa").cache_component("Armenia and Karabakh.") != key
    assert index.cache_component("Armenia and a district.") != key
    # the same content under other ids (another glossary): the same translation
    copy = Entry("other-id", "Armenia", "en", dict(ARMENIA.targets), glossary="g2")
    both = TermIndex([copy, SHORT_KARABAKH], "en", "az")
    assert both.cache_component("Armenia and Karabakh.") == key
    assert applied_entries_key([]) == ""


# -- snapshots ------------------------------------------------------------------------------


def test_entries_come_from_the_job_snapshot() -> None:
    snapshot = {
        "glossaries": [{"id": "g1", "name": "Desk", "version": 3, "entries": 2}],
        "entries": [
            {
                "id": "e1",
                "glossary": "g1",
                "source": "Armenia",
                "source_language": "en",
                "targets": {"az": "Ermənistan"},
                "keep": False,
                "case_sensitive": False,
                "whole_word": True,
            },
            {
                "id": "e2",
                "glossary": "g1",
                "source": "JAMnews",
                "source_language": "en",
                "targets": {},
                "keep": True,
                "case_sensitive": True,
                "whole_word": True,
            },
        ],
    }
    entries = entries_from_snapshot(snapshot)
    assert [(e.id, e.keep, e.case_sensitive) for e in entries] == [
        ("e1", False, False),
        ("e2", True, True),
    ]
    glossary = JobGlossary.from_snapshot(snapshot)
    assert glossary.index("en", "az") is glossary.index("en", "az")
    assert not JobGlossary.from_snapshot(None)
    assert entries_from_snapshot({}) == []


# -- through translation ----------------------------------------------------------------------


def translate_sentence(
    translator: object, sentence: str, source: str, target: str
) -> tuple[str, list[str], list[dict[str, object]]]:
    """One sentence as the pipeline handles it: protect, mask, translate, restore, check."""
    index = JobGlossary(ENTRIES).index(source, target)
    protected = protect(sentence)
    terms = index.mask(protected.masked)
    raw = translator.translate_segments([Segment(terms.masked, source, target)])[0]  # type: ignore[attr-defined]
    restored = restore_terms(terms, raw, target)
    text, lost = restore(protected, restored.text)
    text = normalize_output(text, target)
    flags = [str(f) for f in check_translation(sentence, text, source, target)] + restored.flags
    return text, flags, [term.as_record() for term in restored.applied]


def test_through_the_echo_engine_every_term_comes_back() -> None:
    sentence = "Khamenei said Nagorno-Karabakh districts (https://e.ir/x) matter."
    for target, expected in {
        "az": "Xamenei said Dağlıq Qarabağ rayon (https://e.ir/x) matter.",
        "fa": "خامنه‌ای said قره‌باغ کوهستانی ناحیه (https://e.ir/x) matter.",
        "hy": "Խամենեի said Լեռնային Ղարաբաղ շրջան (https://e.ir/x) matter.",
    }.items():
        text, flags, applied = translate_sentence(EchoTranslator(), sentence, "en", target)
        assert text == expected
        assert Flag.GLOSSARY not in flags
        assert [a["entry"] for a in applied] == ["e-kh", "e-nk", "e-d"]


SENTENCES = [
    "Khamenei met officials from Armenia on Monday.",
    "The ceasefire in Nagorno-Karabakh held in three districts.",
    "Dragoman Daily reported that the US welcomed the ceasefire.",
]


@pytest.mark.parametrize("target", ["az", "fa", "hy"])
def test_through_a_tiny_model_terms_survive_or_the_sentence_is_flagged(
    tiny_nllb_dir: Path, target: str
) -> None:
    from worker.engines.hf import TransformersTranslator

    translator = TransformersTranslator(str(tiny_nllb_dir))
    index = JobGlossary(ENTRIES).index("en", target)
    for sentence in SENTENCES:
        terms = index.mask(sentence)
        assert terms.matches, sentence
        raw = translator.translate_segments([Segment(terms.masked, "en", target)])[0]
        restored = restore_terms(terms, raw, target)
        # Every term is accounted for: applied, or lost and flagged.
        assert len(restored.applied) + len(restored.lost) == len(terms.matches)
        assert (restored.flags == [str(Flag.GLOSSARY)]) == bool(restored.lost)
        for term in restored.applied:
            assert term.target in restored.text
        # A placeholder of ours the model kept is never left in the text.
        for placeholder in terms.placeholders:
            assert placeholder not in restored.text


# -- the API's snapshot keeps what the worker can match --------------------------------------


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("NAGORNO KARABAKH’s districts and three parties; Dragoman Daily.", "en"),
        ("DAĞLIQ QARABAĞIN rayonlarında, İRƏVAN və Bakı'da.", "az"),
        ("در قره باغ کوهستانی، قرهباغ و قره‌باغ‌ها؛ تبريز و خامنه اي.", "fa"),
        ("ԼԵՌՆԱՅԻՆ ՂԱՐԱԲԱՂՈՒՄ, Երեւանից և Հայաստանը։", "hy"),
    ],
)
def test_the_api_snapshot_keeps_every_entry_the_worker_matches(text: str, source: str) -> None:
    from service.glossary.entries import needle, squash

    extra = [
        Entry("y", "Երևան", "hy", {"en": "Yerevan"}),
        Entry("i", "İrəvan", "az", {"en": "Yerevan"}),
        Entry("t", "تبریز", "fa", {"en": "Tabriz"}),
        Entry("k", "خامنه‌ای", "fa", {"en": "Khamenei"}),
    ]
    entries = [*ENTRIES, *extra]
    haystack = squash(text)
    matched = 0
    for target in ("en", "az", "fa", "hy"):
        for match in TermIndex(entries, source, target).find(text):
            terms = [match.entry.source, *match.entry.targets.values()]
            assert any(needle(term) in haystack for term in terms), match
            matched += 1
    assert matched >= 3


def test_terms_of_a_cached_translation_are_reported_like_fresh_ones() -> None:
    index = TermIndex(ENTRIES, "en", "fa")
    sentence = "Khamenei on Nagorno-Karabakh."
    terms = index.mask(sentence)
    fresh = restore_terms(terms, terms.masked, "fa").applied
    assert applied_terms(index.find(sentence), "fa") == list(fresh)

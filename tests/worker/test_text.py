"""Normalisation, paragraph and sentence splitting, and document rebuilding."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.text import (
    Document,
    normalize_text,
    segment_document,
    split_paragraphs,
    split_sentences,
)

AZ_PARAGRAPH = (
    "Azərbaycan Respublikasının Prezidenti İlham Əliyev martın 12-də Avropa İttifaqının "
    "Cənubi Qafqaz üzrə xüsusi nümayəndəsini qəbul edib. Görüşdə Azərbaycan ilə Ermənistan "
    "arasında sülh sazişi üzrə danışıqların gedişi müzakirə olunub. Ötən il iki ölkə "
    "arasında ticarət dövriyyəsi 3.5 faiz artıb. Prezident bildirib ki, sərhədlərin "
    "delimitasiyası prosesi davam edir!"
)
HY_PARAGRAPH = (
    "Հայաստանի վարչապետը այսօր Երևանում ընդունել է Եվրոպական միության հատուկ "
    "ներկայացուցչին։ Ինչո՞ւ է այս հանդիպումը կարևոր։ Հանդիպման ընթացքում քննարկվել են "
    "խաղաղության պայմանագրի շուրջ բանակցությունները։ Սա՛ է գլխավոր հարցը։"
)
# TICO-19 test set (CC0), Persian side.
FA_LINES = [
    "تقریباً چه مدت است که این علایم ادامه دارد؟",
    "و آیا شما اکنون تب دارید؟",
    "تخمین زده شده‌است که HCoV - NL۶۳ عامل حدود ۴.۷ درصد از بیماری‌های مزمن تنفسی است "
    "و اوج شیوع آن در اوایل تابستان، بهار و زمستان رخ می‌دهد.",
]

_WS = re.compile(r"\s")


def _squash(text: str) -> str:
    return _WS.sub("", text)


class TestNormalizeText:
    def test_newlines_unified_and_blank_runs_collapsed(self) -> None:
        raw = "one\r\ntwo\rthree\u2028four\u2029five\n\n\n\n\nsix"
        assert normalize_text(raw) == "one\ntwo\nthree\nfour\nfive\n\nsix"

    def test_spaces_collapsed_and_lines_trimmed(self) -> None:
        assert normalize_text("a  \t b   \n  c\u00a0\u00a0d  ") == "a b\nc d"

    def test_controls_and_zero_width_removed_but_zwnj_kept(self) -> None:
        raw = "\ufeffمی\u200cشود\u200b x\x00y\x07z\u00ad"
        assert normalize_text(raw) == "می\u200cشود xyz"

    def test_nfc(self) -> None:
        decomposed = "s\u0327e\u0301"  # ş and é as base letter + combining mark
        assert normalize_text(decomposed) == "şé"

    def test_leading_and_trailing_blank_lines_stripped(self) -> None:
        assert normalize_text("\n\n  \n Title\n\nBody.\n\n \n") == "Title\n\nBody."


class TestSplitParagraphs:
    def test_blank_lines_separate_and_empties_drop(self) -> None:
        text = "Headline\n\nFirst para line one.\nLine two.\n \n\n\nSecond para."
        assert split_paragraphs(text) == [
            "Headline",
            "First para line one.\nLine two.",
            "Second para.",
        ]

    def test_empty(self) -> None:
        assert split_paragraphs("\n \n") == []


class TestSplitSentences:
    def test_abbreviations_and_decimals(self) -> None:
        text = (
            "Mr. Smith met Dr. Jones in the U.S. Army office. "
            "Inflation rose 3.5 percent in March. They left."
        )
        assert split_sentences(text, "en") == [
            "Mr. Smith met Dr. Jones in the U.S. Army office.",
            "Inflation rose 3.5 percent in March.",
            "They left.",
        ]

    def test_quotes_stay_with_their_sentence(self) -> None:
        text = '"It is right of Azerbaijan," Rouhani said. He left.'
        assert split_sentences(text, "en") == [
            '"It is right of Azerbaijan," Rouhani said.',
            "He left.",
        ]

    def test_run_together_sentences(self) -> None:
        assert split_sentences("It ended the season.The next day was calm.", "en") == [
            "It ended the season.",
            "The next day was calm.",
        ]

    def test_newline_is_a_hard_boundary(self) -> None:
        text = "Iran's Leader Says Territories Must Be Liberated\nBy Orkhan Jalilov\nHe spoke."
        assert split_sentences(text, "en") == [
            "Iran's Leader Says Territories Must Be Liberated",
            "By Orkhan Jalilov",
            "He spoke.",
        ]

    def test_azerbaijani(self) -> None:
        sentences = split_sentences(AZ_PARAGRAPH, "az")
        assert len(sentences) == 4
        assert sentences[2] == "Ötən il iki ölkə arasında ticarət dövriyyəsi 3.5 faiz artıb."
        assert sentences[3].endswith("davam edir!")

    def test_armenian_full_stop_and_inner_marks(self) -> None:
        sentences = split_sentences(HY_PARAGRAPH, "hy")
        assert len(sentences) == 4
        assert sentences[1] == "Ինչո՞ւ է այս հանդիպումը կարևոր։"
        assert sentences[3] == "Սա՛ է գլխավոր հարցը։"

    def test_persian_question_mark_and_decimal(self) -> None:
        sentences = split_sentences(" ".join(FA_LINES), "fa")
        assert sentences == FA_LINES

    @pytest.mark.parametrize("language", ["azb", "xx", "", "fa-IR"])
    def test_fallback_languages_still_split(self, language: str) -> None:
        assert split_sentences("First one here. Second one here?", language) == [
            "First one here.",
            "Second one here?",
        ]

    def test_whitespace_that_crashes_sentencex_is_handled(self) -> None:
        # sentencex panics on multi-byte whitespace near a period.
        text = "Ё\t …'.ت\r։İ\rŞ3Ё\tß';ə\u2029Ş。bb \"Ё\tB\u2029."
        assert _squash("".join(split_sentences(text, "en"))) == _squash(text)

    def test_empty_and_blank(self) -> None:
        assert split_sentences("", "en") == []
        assert split_sentences(" \n\t ", "en") == []

    @settings(max_examples=300, deadline=None)
    @given(
        text=st.lists(
            st.one_of(
                st.sampled_from(list(".!?;:,\"'«»“”()…։՞؟۔。 \t\n\u00a0\u2028\u200c")),
                st.sampled_from(["Mr. ", "U.S. ", "3.5", "Dr. ", "i.e.", "Ə", "İ", "ş"]),
                st.characters(codec="utf-8"),
                st.text(max_size=8),
            ),
            max_size=60,
        ).map("".join),
        language=st.sampled_from(["en", "az", "fa", "hy", "azb", "zh", "unknown"]),
    )
    def test_no_character_lost_or_reordered(self, text: str, language: str) -> None:
        sentences = split_sentences(text, language)
        assert all(s and s == s.strip() for s in sentences)
        assert _squash("".join(sentences)) == _squash(text)


class TestDocument:
    ARTICLE = (
        "Last update: April 26, 2024 20:38\r\n\r\n"
        "Iran's Leader Says Territories Must Be Liberated\n\n"
        "Mr. Rouhani spoke on Monday. He urged restraint.\n\n\n\n"
        "Talks resumed.The ceasefire held."
    )

    def test_segment_document_keeps_paragraphs(self) -> None:
        doc = segment_document(self.ARTICLE, "en")
        assert doc.paragraphs == [
            ["Last update: April 26, 2024 20:38"],
            ["Iran's Leader Says Territories Must Be Liberated"],
            ["Mr. Rouhani spoke on Monday.", "He urged restraint."],
            ["Talks resumed.", "The ceasefire held."],
        ]
        assert doc.sentences[2] == "Mr. Rouhani spoke on Monday."
        assert len(doc.sentences) == 6

    def test_render_with_replacements(self) -> None:
        doc = segment_document(self.ARTICLE, "en")
        replaced = doc.render([f"S{i}." for i in range(len(doc.sentences))])
        assert replaced == "S0.\n\nS1.\n\nS2. S3.\n\nS4. S5."

    def test_render_without_replacements_round_trips(self) -> None:
        doc = segment_document(self.ARTICLE, "en")
        assert segment_document(doc.render(), "en") == doc

    def test_render_into_language_without_spaces(self) -> None:
        doc = Document(paragraphs=[["One.", "Two."], ["Three."]], language="en")
        assert doc.render(["一。", "二。", "三。"], language="zh") == "一。二。\n\n三。"
        assert Document([["ก", "ข"]], language="th").render() == "กข"

    def test_render_rejects_wrong_count(self) -> None:
        doc = segment_document(self.ARTICLE, "en")
        with pytest.raises(ValueError, match="expected 6"):
            doc.render(["only one"])

    def test_empty_document(self) -> None:
        doc = segment_document(" \n\n ", "fa")
        assert doc.paragraphs == []
        assert doc.render([]) == ""

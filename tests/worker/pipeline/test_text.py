"""Normalisation, paragraph and sentence splitting, and document rebuilding."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.pipeline.text import (
    Document,
    normalize_text,
    segment_document,
    split_lines,
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
                st.sampled_from(list(".!?;:,\"'«»“”„‘’‚()[]…։՞՜՛؟،۔。 \t\n\u00a0\u2028\u200c")),
                st.sampled_from(["Mr. ", "U.S. ", "3.5", "Dr. ", "i.e.", "Ə", "İ", "ş", "J. "]),
                # Armenian colon and full stop, bullets, run-together sentences,
                # Azerbaijani abbreviations, times and Persian decimals.
                st.sampled_from([": Ա", ": ա", "է: ", "։Հ", "Ի՜նչ", "20:38", "۴.۷", "1,000.5"]),
                st.sampled_from(["\n- ", "\n• ", "\n1. ", "\n2) ", "\n* ", "a) ", "- "]),
                st.sampled_from(
                    ["season.The", "example.com", "U.S.The", "və s. ", "b.e.ə.", "ş. "]
                ),
                st.characters(codec="utf-8"),
                st.text(max_size=8),
            ),
            max_size=60,
        ).map("".join),
        language=st.sampled_from(["en", "az", "fa", "hy", "azb", "zh", "tr", "unknown"]),
    )
    def test_no_character_lost_or_reordered(self, text: str, language: str) -> None:
        sentences = split_sentences(text, language)
        assert all(s and s == s.strip() for s in sentences)
        assert _squash("".join(sentences)) == _squash(text)
        # A newline is always a boundary: no sentence spans two lines.
        assert all("\n" not in s for s in sentences)
        lines = [_squash(line) for line in text.split("\n") if _squash(line)]
        pairs = split_lines(text, language)
        assert [s for s, _ in pairs] == sentences
        starts = [i for i, (_, sep) in enumerate(pairs) if sep != " "]
        assert len(starts) == len(lines)


class TestQuotations:
    def test_quotation_of_several_sentences_is_split_at_its_sentence_ends(self) -> None:
        text = (
            "“This war is a bitter incident and it threatens the security of the region. Of "
            "course, all Azerbaijani territories occupied by Armenia should be freed. All these "
            "lands should be given back to Azerbaijan,” Khamenei said. He spoke on November 3."
        )
        assert split_sentences(text, "en") == [
            "“This war is a bitter incident and it threatens the security of the region.",
            "Of course, all Azerbaijani territories occupied by Armenia should be freed.",
            "All these lands should be given back to Azerbaijan,” Khamenei said.",
            "He spoke on November 3.",
        ]

    @pytest.mark.parametrize(
        ("text", "expected", "language"),
        [
            (
                "'I got bit! I got bit!' His whole clavicle was ripped open.",
                ["'I got bit!", "I got bit!'", "His whole clavicle was ripped open."],
                "en",
            ),
            (
                "Nazir bildirib: «Biz sülh istəyirik. Müharibə bitməlidir.» Sonra gedib.",
                ["Nazir bildirib: «Biz sülh istəyirik.", "Müharibə bitməlidir.»", "Sonra gedib."],
                "az",
            ),
            (
                "Er sagte: „Wir wollen Frieden. Der Krieg muss enden.“ Dann ging er.",
                ["Er sagte: „Wir wollen Frieden.", "Der Krieg muss enden.“", "Dann ging er."],
                "de",
            ),
            (
                "Վարչապետն ասաց. «Մենք խաղաղություն ենք ուզում: Պատերազմը պետք է ավարտվի»: "
                "Հետո նա հեռացավ:",
                [
                    "Վարչապետն ասաց. «Մենք խաղաղություն ենք ուզում:",
                    "Պատերազմը պետք է ավարտվի»:",
                    "Հետո նա հեռացավ:",
                ],
                "hy",
            ),
            (
                "او گفت: «ما صلح می‌خواهیم. جنگ باید تمام شود.» سپس جلسه به پایان رسید.",
                ["او گفت: «ما صلح می‌خواهیم.", "جنگ باید تمام شود.»", "سپس جلسه به پایان رسید."],
                "fa",
            ),
        ],
    )
    def test_in_every_language(self, text: str, expected: list[str], language: str) -> None:
        assert split_sentences(text, language) == expected

    @pytest.mark.parametrize(
        "sentence",
        [
            '"We will win," he said.',
            '"Who would have thought this film would survive?" said the museum\'s director.',
            'Activists held signs reading "Pay up!" and "No more fossil fuels."',
            "“We are ready,” said Ms. Farahani, a trader on Ferdowsi Street.",
            # Inside a running sentence, a quotation is never split.
            "He said: “I told him ‘Go home. Now.’ and he went.”",
            "«Տղաները շատ լավ խաղացին»,- ասաց նա։",
        ],
    )
    def test_short_quote_stays_with_its_sentence(self, sentence: str) -> None:
        language = "hy" if "ասաց" in sentence else "en"
        assert split_sentences(f"{sentence} Then there was silence.", language) == [
            sentence,
            "Then there was silence.",
        ]

    def test_unclosed_quote_does_not_swallow_the_line(self) -> None:
        # Multi-paragraph quotes open each paragraph and close only the last.
        text = "“The talks will go on. We expect a treaty this year. Both sides agree."
        assert len(split_sentences(text, "en")) == 3

    def test_long_quote_is_split_at_every_sentence_end(self) -> None:
        body = " ".join(f"Point number {i} of the plan was agreed in Brussels." for i in range(20))
        sentences = split_sentences(f"“{body}” the minister said. He left.", "en")
        assert len(sentences) == 21
        assert sentences[0].startswith("“Point number 0")
        assert sentences[-2].endswith("” the minister said.")


class TestBoundaries:
    def test_initials_and_abbreviations(self) -> None:
        text = (
            "J. R. R. Tolkien wrote the book in the U.K. and Dr. Smith read it. "
            "Prof. İ. Əliyev spoke next."
        )
        assert split_sentences(text, "en") == [
            "J. R. R. Tolkien wrote the book in the U.K. and Dr. Smith read it.",
            "Prof. İ. Əliyev spoke next.",
        ]

    def test_azerbaijani_abbreviations(self) -> None:
        text = (
            "Qala b.e.ə. IV əsrdə tikilib. Sərgi Bakı ş. Nizami küç. 5 ünvanında keçirilir. "
            "Bazarda alma, armud və s. meyvələr satılır. Tədbirdə kitablar, jurnallar və s. "
            "Sonra qonaqlar muzeyə baxıblar."
        )
        assert split_sentences(text, "az") == [
            "Qala b.e.ə. IV əsrdə tikilib.",
            "Sərgi Bakı ş. Nizami küç. 5 ünvanında keçirilir.",
            "Bazarda alma, armud və s. meyvələr satılır.",
            "Tədbirdə kitablar, jurnallar və s.",  # "etc." ends the sentence
            "Sonra qonaqlar muzeyə baxıblar.",
        ]

    @pytest.mark.parametrize(
        ("sentences", "language"),
        [
            # An abbreviation not in the list ends a sentence before a capital ...
            (["It was measured by Tehran Air Quality Control Co.", "Fine particles rose."], "en"),
            (["Shippers use it for grain, cotton, etc.", "Kazakh firms followed."], "en"),
            (["Aftershocks followed before 3 a.m.", "Iran sits on major fault lines."], "en"),
            # ... and so does a word sentencex takes for one, before a quotation.
            (["He died in May.", '"We must go on," his son said.'], "en"),
            # Titles, numbers, initialisms and time zones per the list.
            (["Gen. Metin Gürak met Col. Gen. Karim Valiyev.", "They spoke."], "en"),
            (["He was the No. 2 official until Nov. 30.", "He left."], "en"),
            (["They met in the U.S.", "The talks ended."], "en"),
            (["U.S. Army officers met at 7 a.m. GMT on Friday.", "They left."], "en"),
            # A lowercase word goes on with the sentence.
            (['"I see," said Ms. Farahani, a trader on Ferdowsi St. last month.'], "en"),
            (["It struck at 11:44 p.m. on Friday, e.g. near Khoy, i.e. in the north."], "en"),
            (
                [
                    "Büdcə xərcləri 17,6 mlrd. manat olub.",
                    "İxracdan gəlir 160 mln. ABŞ dolları təşkil edib.",
                ],
                "az",
            ),
            (
                [
                    "Konfransı rektor, akad. Elçin Babayev açıb.",
                    "Materiallar jurnalda (s. 12–184) çap olunacaq.",
                    "Təsvirlər e.ə. VIII minilliyə aiddir.",
                ],
                "az",
            ),
            (["قدمت آن به حدود ۵۰۰ ق.م. می‌رسد.", "تخت جمشید در سال ۱۳۵۸ ه.ش. ثبت شد."], "fa"),
        ],
    )
    def test_abbreviation_lists(self, sentences: list[str], language: str) -> None:
        assert split_sentences(" ".join(sentences), language) == sentences

    @pytest.mark.parametrize(
        "sentences",
        [
            # The colon typed for "։" before a digit, a name, a quotation.
            ["Կտավները տրամադրել են Բեյրութի հավաքածուներ:", "1930-ական թթ. Սարյանը նկարել է:"],
            ["Բացման համերգին կգա դաշնակահար Ք. Մարտինը:", "Մուտքն ազատ է:"],
            ["Նա գոհ էր:", "«Տղաները լավ խաղացին»,- ասաց նա:"],
            # The mijaket typed as U+2024 before a quotation.
            ["Հուն ասաց․«Մենք կձգտենք դրան»։", "Հետո գնաց։"],
        ],
    )
    def test_armenian_full_stops(self, sentences: list[str]) -> None:
        assert split_sentences(" ".join(sentences), "hy") == sentences

    def test_lowercase_only_tells_in_a_cased_script(self) -> None:
        # Persian has no capitals: a Latin word in lowercase after a Persian
        # sentence does not make it go on.
        sentences = ["این بیماری را به هائیتی آورده‌اند.", "«danielle Lantagne» گفت."]
        assert split_sentences(" ".join(sentences), "fa") == sentences

    def test_numbers_and_times_are_not_split(self) -> None:
        text = "At 20:38 the index was 1,000.5 points, up 3.5 percent.The market closed at 21:00."
        assert split_sentences(text, "en") == [
            "At 20:38 the index was 1,000.5 points, up 3.5 percent.",
            "The market closed at 21:00.",
        ]

    def test_run_together_but_not_urls(self) -> None:
        text = "Details are on example.com and gov.az today.It ended the season.The next day."
        assert split_sentences(text, "en") == [
            "Details are on example.com and gov.az today.",
            "It ended the season.",
            "The next day.",
        ]
        assert split_sentences("قیمت ۴.۷ درصد است.سپس بازار بسته شد.", "fa") == [
            "قیمت ۴.۷ درصد است.",
            "سپس بازار بسته شد.",
        ]

    def test_armenian_colon_as_full_stop(self) -> None:
        text = (
            "Վարչապետը նշել է, որ սահմանազատումը շարունակվում է: Հանդիպումն ավարտվեց "
            "ժամը 20:38-ին: Նա ասաց: այսօր կգա նաև նախարարը: Ու՞ր է գնում պատվիրակությունը:"
        )
        assert split_sentences(text, "hy") == [
            "Վարչապետը նշել է, որ սահմանազատումը շարունակվում է:",
            "Հանդիպումն ավարտվեց ժամը 20:38-ին:",
            "Նա ասաց: այսօր կգա նաև նախարարը:",  # lowercase after ":": not an end
            "Ու՞ր է գնում պատվիրակությունը:",
        ]

    def test_armenian_marks_over_words_and_mijaket(self) -> None:
        text = (
            "Ի՜նչ գեղեցիկ է Երևանը գարնանը։ Ինչո՞ւ է այս հանդիպումը կարևոր։ "
            "2024 թ. մարտին Հ. Թումանյանի անվան թատրոնում նա ասաց. «Գնանք»։"
        )
        assert split_sentences(text, "hy") == [
            "Ի՜նչ գեղեցիկ է Երևանը գարնանը։",
            "Ինչո՞ւ է այս հանդիպումը կարևոր։",
            "2024 թ. մարտին Հ. Թումանյանի անվան թատրոնում նա ասաց. «Գնանք»։",
        ]

    def test_armenian_rules_follow_the_script_in_a_mixed_article(self) -> None:
        text = "Նախարարը ժամանել է Երևան: Բանակցությունները կսկսվեն վաղը:"
        assert len(split_sentences(text, "en")) == 2

    def test_persian_comma_is_not_a_boundary(self) -> None:
        # TICO-19 test set (CC0), Persian side.
        lines = [
            "و می‌توانید به من بگویید که در کنار این مشکل، چه علایم دیگری دارید؟",
            "آیا همراه با این دردهای عضلانی، متوجه هر گونه علایم یا مشکل دیگری شده‌اید؟",
        ]
        assert split_sentences(" ".join(lines), "fa") == lines

    def test_headline_lines_and_bullets(self) -> None:
        paragraph = (
            "Key points of the agreement\n"
            "- Border commissions meet monthly. The first meeting is in April\n"
            "• Transit routes reopen\n"
            "* Prisoners are exchanged\n"
            "1. Trade talks resume.\n"
            "2) Embassies reopen in 2025\n"
            "a) Observers stay"
        )
        assert split_lines(paragraph, "en") == [
            ("Key points of the agreement", ""),
            ("- Border commissions meet monthly.", "\n"),
            ("The first meeting is in April", " "),
            ("• Transit routes reopen", "\n"),
            ("* Prisoners are exchanged", "\n"),
            ("1. Trade talks resume.", "\n"),
            ("2) Embassies reopen in 2025", "\n"),
            ("a) Observers stay", "\n"),
        ]

    def test_bullet_marker_alone(self) -> None:
        assert split_sentences("1.\n- ", "en") == ["1.", "-"]


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

    def test_translated_bullet_list_stays_a_list(self) -> None:
        text = (
            "Armenia and Azerbaijan agreed on three points:\n"
            "- Border commissions meet monthly. The first meeting is in April.\n"
            "- Transit routes reopen.\n\n"
            "The talks continue."
        )
        doc = segment_document(text, "en")
        assert doc.separators == [["", "\n", " ", "\n"], [""]]
        translated = doc.render([f"T{i}." for i in range(len(doc.sentences))], language="fa")
        assert translated == "T0.\nT1. T2.\nT3.\n\nT4."
        assert doc.render() == text

    def test_paragraph_count_kept_whatever_the_replacements(self) -> None:
        doc = segment_document("Headline\n\nOne. Two.\n\n- a.\n- b.\n\nEnd.", "en")
        replacements = ["", "First\n\nline.", "", "", "  ", "Last."]
        rendered = doc.render(replacements)
        assert rendered.split("\n\n") == ["", "First line.", "", "Last."]

    def test_line_break_survives_an_empty_sentence(self) -> None:
        doc = Document([["A.", "B.", "C."]], separators=[["", "\n", " "]])
        assert doc.render(["A.", "", "C."]) == "A.\nC."

    def test_separators_default_and_checked(self) -> None:
        assert Document([["A.", "B."], ["C."]]).separators == [["", " "], [""]]
        with pytest.raises(ValueError, match="separators"):
            Document([["A.", "B."]], separators=[[""]])

    @settings(max_examples=200, deadline=None)
    @given(
        text=st.lists(
            st.sampled_from(
                ["Talks resumed.", "\n", "\n\n", " ", "- ", "1. ", "Ա: Բ", "season.The", "x"]
            ),
            max_size=30,
        ).map("".join),
        replacements=st.lists(st.sampled_from(["", " ", "T.", "a\nb", "c\n\nd"]), max_size=40),
    )
    def test_render_keeps_paragraphs_and_lines(self, text: str, replacements: list[str]) -> None:
        doc = segment_document(text, "hy")
        assert segment_document(doc.render(), "hy") == doc
        size = len(doc.sentences)
        filled = (replacements + ["T."] * size)[:size]
        rendered = doc.render(filled)
        assert len(rendered.split("\n\n")) == max(len(doc.paragraphs), 1)


def test_an_opener_followed_only_by_spacing_after_a_full_stop() -> None:
    # Found by the property test: "(\t" leaves only spacing after the opener.
    assert split_sentences("He left the city. (\t", "en") == ["He left the city.", "("]

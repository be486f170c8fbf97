"""The extractive summariser: tokens, choice of sentences, length, ROUGE against people."""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest

from service.errors import InvalidInput
from tests.fixtures.summaries import (
    ARTICLE,
    AZ_ARTICLE,
    BOILERPLATE,
    EVAL_ARTICLES,
    FA_ARTICLE,
    HY_ARTICLE,
)
from worker.pipeline.summarize import ExtractiveSummarizer, summary_length, tokenize
from worker.pipeline.text import segment_document


def _sentences(text: str, language: str) -> list[str]:
    return segment_document(text, language).sentences


class TestTokenize:
    def test_persian_zwnj_words_and_letter_forms(self) -> None:
        # Arabic kaf/yeh (ك ي) are unified with Persian ک ی; tanwin does not split words.
        tokens = tokenize("تقریباً بیماری‌های كشورهاي دیگر", "fa")
        assert tokens == ["تقریبا", "بیماری\u200cهای", "کشورهای"]

    def test_azerbaijani_dotted_capital_i(self) -> None:
        assert tokenize("İlham Əliyev İRAN ilə", "az") == ["ilham", "əliyev", "iran"]

    def test_armenian_inner_question_mark(self) -> None:
        assert tokenize("Ինչո՞ւ է դա կարևոր։", "hy") == ["ինչու", "դա", "կարևոր"]

    def test_english_stop_words_dropped(self) -> None:
        assert tokenize("The talks in Baku were held on Monday.", "en") == [
            "talks",
            "baku",
            "held",
            "monday",
        ]


class TestExtractiveSummarizer:
    summarizer = ExtractiveSummarizer()

    def test_verbatim_in_order_and_count(self) -> None:
        sentences = _sentences(ARTICLE, "en")
        for count in (1, 2, 3, 5, 8):
            indices = self.summarizer.select(sentences, "en", count)
            assert len(indices) == count
            assert indices == sorted(set(indices))
            summary = self.summarizer.summarize(sentences, "en", count)
            assert summary == [sentences[i] for i in indices]

    def test_skips_page_furniture_and_leads_with_the_lead(self) -> None:
        sentences = _sentences(ARTICLE, "en")
        assert set(sentences) >= BOILERPLATE
        summary = self.summarizer.summarize(sentences, "en", 5)
        assert not BOILERPLATE & set(summary)
        assert not any(s.startswith("Iran's Leader Says") for s in summary)  # headline
        assert summary[0].startswith("Iran’s Supreme Leader Ali Khamenei has said")

    def test_fewer_sentences_than_count_returns_all(self) -> None:
        sentences = ["One short line.", "None", "Another sentence that is here."]
        assert self.summarizer.summarize(sentences, "en", 5) == sentences

    def test_fragments_used_only_when_nothing_else_is_left(self) -> None:
        sentences = [
            "None",
            "Azerbaijan and Armenia resumed talks on a peace treaty in Brussels.",
            "By Staff",
            "Photo: AFP",
        ]
        assert self.summarizer.summarize(sentences, "en", 1) == [sentences[1]]
        assert len(self.summarizer.summarize(sentences, "en", 3)) == 3

    def test_near_duplicates_not_both_picked(self) -> None:
        lead = "Iran's foreign minister announced a plan to settle the Karabakh crisis on Monday."
        sentences = [
            lead,
            "Iran's foreign minister announced a plan to settle the Karabakh crisis on Monday!",
            "Turkish officials said they would study the proposal before the summit in Ankara.",
            "Russia welcomed the initiative and called for an immediate ceasefire in the region.",
        ]
        summary = self.summarizer.summarize(sentences, "en", 2)
        assert summary[0] == lead
        assert sentences[1] not in summary

    def test_deterministic(self) -> None:
        sentences = _sentences(ARTICLE, "en")
        first = self.summarizer.select(sentences, "en", 4)
        assert ExtractiveSummarizer().select(list(sentences), "en", 4) == first

    @pytest.mark.parametrize(
        ("text", "language", "dateline"),
        [
            (AZ_ARTICLE, "az", "Bakı, 12 mart"),
            (HY_ARTICLE, "hy", "Երևան, մարտի 12"),
            (FA_ARTICLE, "fa", "تهران، ۲۲ اسفند"),
        ],
    )
    def test_other_languages(self, text: str, language: str, dateline: str) -> None:
        sentences = _sentences(text, language)
        assert dateline in sentences
        summary = self.summarizer.summarize(sentences, language, 3)
        assert len(summary) == 3
        assert dateline not in summary
        positions = [sentences.index(s) for s in summary]
        assert positions == sorted(positions)
        assert summary[0] == sentences[1]  # the lead, right after the dateline

    @pytest.mark.parametrize("count", [0, -1])
    def test_count_must_be_positive(self, count: int) -> None:
        with pytest.raises(InvalidInput):
            self.summarizer.summarize(["One sentence here that is long."], "en", count)

    def test_empty_input(self) -> None:
        assert self.summarizer.summarize([], "en", 3) == []


def _ngrams(text: str, n: int) -> Counter[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return Counter(zip(*(words[i:] for i in range(n)), strict=False))


def rouge_f1(candidate: str, reference: str, n: int) -> float:
    """ROUGE-N F1: clipped n-gram overlap of lowercased words, no stemming."""
    ours, theirs = _ngrams(candidate, n), _ngrams(reference, n)
    overlap = sum((ours & theirs).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(ours.values()), overlap / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


class TestRouge:
    def test_rouge_f1(self) -> None:
        assert rouge_f1("the talks resumed", "the talks resumed", 2) == 1.0
        assert rouge_f1("talks resumed", "peace held", 1) == 0.0
        # 2 of 3 unigrams match either way; "the the" is clipped to one match.
        assert math.isclose(rouge_f1("the the talks", "the talks ended", 1), 2 / 3)

    def test_summariser_at_least_as_good_as_lead_3(self) -> None:
        summarizer = ExtractiveSummarizer()
        scores: dict[str, list[float]] = {"lead1": [], "lead2": [], "ours1": [], "ours2": []}
        for text, reference in EVAL_ARTICLES:
            sentences = _sentences(text, "en")
            assert 12 <= len(sentences) <= 20
            lead = " ".join(sentences[:3])
            ours = " ".join(summarizer.summarize(sentences, "en", 3))
            for n in (1, 2):
                scores[f"lead{n}"].append(rouge_f1(lead, reference, n))
                scores[f"ours{n}"].append(rouge_f1(ours, reference, n))
        mean = {name: sum(values) / len(values) for name, values in scores.items()}
        assert mean["ours1"] >= mean["lead1"] - 0.01, mean
        assert mean["ours2"] >= mean["lead2"] - 0.01, mean


class TestSummaryLength:
    @pytest.mark.parametrize(
        ("total", "count", "ratio", "expected"),
        [
            (25, None, 0.2, 5),
            (25, 3, None, 3),
            (10, None, 0.25, 3),
            (4, None, 0.1, 1),
            (3, None, 1.0, 3),
        ],
    )
    def test_count_or_ratio(
        self, total: int, count: int | None, ratio: float | None, expected: int
    ) -> None:
        assert summary_length(total, count, ratio) == expected

    @pytest.mark.parametrize(
        ("count", "ratio"),
        [(None, None), (3, 0.2), (0, None), (None, 0.0), (None, 1.5), (None, math.nan)],
    )
    def test_invalid(self, count: int | None, ratio: float | None) -> None:
        with pytest.raises(InvalidInput):
            summary_length(10, count, ratio)

    def test_summarize_by_ratio(self) -> None:
        sentences = _sentences(EVAL_ARTICLES[0][0], "en")
        summarizer = ExtractiveSummarizer()
        assert len(summarizer.summarize(sentences, "en", ratio=0.2)) == 3  # 0.2 * 15
        assert summarizer.select(sentences, "en", ratio=0.2) == summarizer.select(
            sentences, "en", 3
        )
        with pytest.raises(InvalidInput):
            summarizer.summarize(sentences, "en", 3, ratio=0.2)

    def test_armenian_colon_sentences_count_as_sentences(self) -> None:
        # ":" typed for "։"; the headline has no final punctuation.
        headline = "Փաշինյանը Երևանում ընդունել է Եվրոպական միության ներկայացուցչին"
        sentences = _sentences(f"{headline}\n\n{HY_ARTICLE.replace('։', ':')}", "hy")
        assert len(sentences) == len(_sentences(HY_ARTICLE, "hy")) + 1
        summary = ExtractiveSummarizer().summarize(sentences, "hy", 2)
        assert summary[0] == sentences[2]  # the lead, not the headline or dateline
        assert headline not in summary

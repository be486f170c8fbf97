"""Quotation marks across sentence boundaries: balanced for the engine, completed for summaries."""

from __future__ import annotations

import pytest

from worker.pipeline.quotes import balance, complete, spans
from worker.pipeline.text import split_sentences


@pytest.mark.parametrize(
    ("segment", "engine_gets"),
    [
        ("“We made progress.", "“We made progress.”"),
        ("Work remains,” he said.", "“Work remains,” he said."),
        ('"People are buying gold.', '"People are buying gold."'),
        (
            'Nobody trusts the rial," said Ms. Farahani.',
            '"Nobody trusts the rial," said Ms. Farahani.',
        ),
        ("«Մենք պատրաստ ենք:", "«Մենք պատրաստ ենք:»"),
        ("Գնդակը Բաքվի դաշտում է»,- ասել է նա։", "«Գնդակը Բաքվի դաշտում է»,- ասել է նա։"),
        ("„Wir wollen Frieden.", "„Wir wollen Frieden.“"),
        ("(The ministry did not comment.", "(The ministry did not comment.)"),
        # Balanced, or only single quotes (also apostrophes): nothing to add.
        ('"We will win," he said.', '"We will win," he said.'),
        ("The ministers’ talks ended.", "The ministers’ talks ended."),
        ("He said 'no.", "He said 'no."),
    ],
)
def test_balance_adds_the_missing_partner(segment: str, engine_gets: str) -> None:
    assert balance(segment).text == engine_gets


@pytest.mark.parametrize(
    ("segment", "output", "restored"),
    [
        # The engine keeps the added mark, in its own style, before or after a period.
        ("“We made progress.", "«Pişrəfat kərdim.»", "«Pişrəfat kərdim."),
        ("“We made progress.", "«Pişrəfat kərdim».", "«Pişrəfat kərdim."),
        ("Work remains,” he said.", "« Kar baqi ast », goft.", " Kar baqi ast », goft."),
        # ... or drops it: nothing else is taken.
        ("“We made progress.", "Pişrəfat kərdim.", "Pişrəfat kərdim."),
        ('"A." "B.', '"A." "B."', '"A." "B.'),
    ],
)
def test_restore_takes_off_only_what_was_added(segment: str, output: str, restored: str) -> None:
    assert balance(segment).restore(output) == restored


def test_a_split_quotation_is_sent_whole_in_every_segment() -> None:
    text = (
        "“We have made progress on the first 12.7 km. There is still a lot of work. We will "
        "meet again,” Grigoryan told reporters. He left."
    )
    sent = [balance(sentence).text for sentence in split_sentences(text, "en")]
    assert sent == [
        "“We have made progress on the first 12.7 km.”",
        "There is still a lot of work.",  # nothing unpaired: sent as it is
        "“We will meet again,” Grigoryan told reporters.",
        "He left.",
    ]


def test_complete_gives_each_sentence_of_a_quotation_its_marks() -> None:
    paragraphs = [
        ["He said: “We made progress.", "There is work ahead.", "We meet again,” he added.", "Ok."],
        ["«Ա:", "Բ»,- ասաց նա։"],
        ['"Alone," she said.', "A stray ” mark."],
    ]
    assert complete(paragraphs) == {
        "He said: “We made progress.": "He said: “We made progress.”",
        "There is work ahead.": "“There is work ahead.”",
        "We meet again,” he added.": "“We meet again,” he added.",
        "«Ա:": "«Ա:»",
        "Բ»,- ասաց նա։": "«Բ»,- ասաց նա։",
    }


def test_a_quotation_does_not_run_into_the_next_paragraph() -> None:
    # Multi-paragraph quotations reopen each paragraph.
    assert complete([["“Unclosed."], ["Next paragraph."]]) == {"“Unclosed.": "“Unclosed.”"}


def test_spans_match_nested_marks_and_skip_apostrophes() -> None:
    text = "He said: “I told him ‘Go.’ and Iran’s (big) team went.”"
    assert sorted(text[a : b + 1] for a, b in spans(text)) == [
        "(big)",
        "‘Go.’",
        "“I told him ‘Go.’ and Iran’s (big) team went.”",
    ]

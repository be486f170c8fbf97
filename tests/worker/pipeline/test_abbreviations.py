"""The splitter's abbreviation lists: the file format and the shipped data files."""

from __future__ import annotations

from importlib import resources

import pytest

from worker.pipeline import abbreviations
from worker.pipeline.abbreviations import parse

LANGUAGES = ("en", "az", "fa")


def test_every_data_file_loads() -> None:
    folder = resources.files("worker.pipeline") / "segment_data" / "abbreviations"
    shipped = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".txt"))
    assert shipped == sorted(f"{code}.txt" for code in LANGUAGES)
    for code in LANGUAGES:
        found = abbreviations.for_language(code)
        assert found is not None and found.not_final, code
        # every entry is one word ending with its period
        entries = found.not_final | found.not_before_number | found.final_before_opener
        assert all(e.endswith(".") and " " not in e for e in entries), code


def test_aliases_and_languages_without_a_list() -> None:
    assert abbreviations.for_language("tr") is abbreviations.for_language("az")
    assert abbreviations.for_language("hy") is None
    assert abbreviations.for_language("xx") is None
    assert abbreviations.for_language("../en") is None


def test_sections_decide_when_a_sentence_may_end() -> None:
    rules = abbreviations.for_language("en")
    assert rules is not None
    assert not rules.may_end("Mr.", "Smith")
    assert not rules.may_end("No.", "2") and rules.may_end("No.", "It")
    assert not rules.may_end("U.S.", "Army") and rules.may_end("U.S.", "The")
    assert not rules.may_end("a.m.", "GMT") and rules.may_end("a.m.", "Iran")
    assert rules.may_end("etc.", "Kazakh") and rules.may_end("Co.", "Fine")


def test_a_lowercase_entry_matches_at_a_sentence_start() -> None:
    rules = parse("[not-final]\nprof.\nNo.\n")
    assert not rules.may_end("prof.", "Əliyev") and not rules.may_end("Prof.", "Əliyev")
    assert rules.may_end("no.", "It")  # "No." does not cover the word "no."


@pytest.mark.parametrize(
    "text", ["Mr.\n", "[titles]\nMr.\n"], ids=["entry before a section", "unknown section"]
)
def test_malformed_lists_fail_loudly(text: str) -> None:
    with pytest.raises(ValueError, match="line"):
        parse(text)


def test_comments_and_blank_lines() -> None:
    rules = parse("# a list\n\n[not-final]  \nGen.  # general\n\n[openers]\nThe\n")
    assert rules.not_final == {"Gen."} and rules.openers == {"The"}

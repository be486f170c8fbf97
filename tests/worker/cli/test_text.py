"""``dragoman sentences``, ``detect`` and ``summarize`` on standard input."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from worker.cli.text import detect, sentences, summarize

AZ_ARTICLE = (
    "Azərbaycan Respublikasının Prezidenti İlham Əliyev martın 12-də Avropa İttifaqının "
    "Cənubi Qafqaz üzrə xüsusi nümayəndəsini qəbul edib. Görüşdə Azərbaycan ilə Ermənistan "
    "arasında sülh sazişi üzrə danışıqların gedişi müzakirə olunub.\n\n"
    "Ötən il iki ölkə arasında ticarət dövriyyəsi 3.5 faiz artıb. Prezident bildirib ki, "
    "sərhədlərin delimitasiyası prosesi davam edir."
)
HY_ARTICLE = (
    "Հայաստանի վարչապետը այսօր Երևանում ընդունել է Եվրոպական միության հատուկ "
    "ներկայացուցչին։ Հանդիպման ընթացքում քննարկվել են խաղաղության պայմանագրի շուրջ "
    "բանակցությունները։ Կողմերը նաև անդրադարձել են սահմանազատման գործընթացին։ "
    "Վարչապետը նշել է, որ Հայաստանը պատրաստ է ստորագրել պայմանագիրը։"
)
# TICO-19 test set (CC0), Persian side.
FA_LINE = "و همچنین نیاز است که کلسترول و فشار خون شما بررسی شود"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    for command in (sentences, detect, summarize):
        app.command()(command)
    return app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_sentences_one_per_line_with_blank_lines_between_paragraphs(
    app: typer.Typer, runner: CliRunner
) -> None:
    result = runner.invoke(app, ["sentences", "--lang", "az"], input=AZ_ARTICLE)
    assert result.exit_code == 0, result.output
    assert result.output.split("\n") == [
        "Azərbaycan Respublikasının Prezidenti İlham Əliyev martın 12-də Avropa İttifaqının "
        "Cənubi Qafqaz üzrə xüsusi nümayəndəsini qəbul edib.",
        "Görüşdə Azərbaycan ilə Ermənistan arasında sülh sazişi üzrə danışıqların gedişi "
        "müzakirə olunub.",
        "",
        "Ötən il iki ölkə arasında ticarət dövriyyəsi 3.5 faiz artıb.",
        "Prezident bildirib ki, sərhədlərin delimitasiyası prosesi davam edir.",
        "",
    ]


def test_sentences_detects_the_language_when_not_given(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["sentences"], input=HY_ARTICLE)
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 4
    assert all(line.endswith("։") for line in result.output.splitlines())


def test_sentences_rejects_an_unknown_language(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["sentences", "--lang", "xx-nonsense-123"], input="Hello.")
    assert result.exit_code == 2
    assert "--lang" in result.output


def test_detect_whole_input(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["detect"], input=AZ_ARTICLE)
    assert result.exit_code == 0, result.output
    code, confidence = result.output.split()
    assert code == "az"
    assert 0.5 < float(confidence) <= 1.0
    assert len(confidence.split(".")[1]) == 2


def test_detect_lines(app: typer.Typer, runner: CliRunner) -> None:
    text = f"{FA_LINE}\n\n{HY_ARTICLE}\n12:30\n"
    result = runner.invoke(app, ["detect", "--lines"], input=text)
    assert result.exit_code == 0, result.output
    answers = [line.split() for line in result.output.splitlines()]
    assert [code for code, _ in answers] == ["fa", "und", "hy", "und"]
    assert answers[1][1] == answers[3][1] == "0.00"


def test_detect_empty_input_is_undetermined(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["detect"], input="")
    assert (result.exit_code, result.output) == (0, "und 0.00\n")


def test_summarize_picks_sentences_verbatim(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["summarize", "--sentences", "2", "--lang", "hy"], input=HY_ARTICLE)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert all(line in HY_ARTICLE for line in lines)
    # News leads with its key fact.
    assert lines[0].startswith("Հայաստանի վարչապետը")


def test_summarize_ratio_detection_and_cap(app: typer.Typer, runner: CliRunner) -> None:
    by_ratio = runner.invoke(app, ["summarize", "--ratio", "0.5"], input=AZ_ARTICLE)
    assert by_ratio.exit_code == 0, by_ratio.output
    assert len(by_ratio.output.splitlines()) == 2
    capped = runner.invoke(app, ["summarize", "--ratio", "1", "--sentences", "1"], input=AZ_ARTICLE)
    assert len(capped.output.splitlines()) == 1
    default = runner.invoke(app, ["summarize"], input=AZ_ARTICLE)
    assert len(default.output.splitlines()) == 3


def test_summarize_validates_options_and_handles_empty_input(
    app: typer.Typer, runner: CliRunner
) -> None:
    assert runner.invoke(app, ["summarize", "--sentences", "0"], input=AZ_ARTICLE).exit_code == 2
    assert runner.invoke(app, ["summarize", "--ratio", "0"], input=AZ_ARTICLE).exit_code == 2
    empty = runner.invoke(app, ["summarize"], input="")
    assert (empty.exit_code, empty.output) == (0, "")

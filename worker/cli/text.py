"""Text tools of the ``dragoman`` CLI: sentence splitting, language detection, summaries.

Plain functions with Typer annotations; ``worker.cli`` registers each as a
top-level command (``app.command()(sentences)``). They read standard input and
need no service, broker or model download.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from service.errors import UnsupportedLanguage
from service.languages import normalize_code


def _language(code: str | None, text: str) -> str:
    """The canonical code given, else the detected language of ``text``, else ``en``."""
    if code is not None:
        try:
            return normalize_code(code)
        except UnsupportedLanguage as exc:
            raise typer.BadParameter(exc.message, param_hint="--lang") from exc
    from worker.pipeline.detect import detect_language

    detection = detect_language(text)
    return detection.code if detection is not None else "en"


def sentences(
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language code; detected when omitted.")
    ] = None,
) -> None:
    """Split standard input into sentences: one per line, a blank line between paragraphs."""
    from worker.pipeline.text import segment_document

    text = sys.stdin.read()
    document = segment_document(text, _language(lang, text))
    for index, paragraph in enumerate(document.paragraphs):
        if index:
            typer.echo("")
        for sentence in paragraph:
            typer.echo(sentence)


def detect(
    lines: Annotated[
        bool, typer.Option("--lines", help="One answer per input line instead of one in all.")
    ] = False,
) -> None:
    """Print the language of standard input as ``CODE CONFIDENCE`` (``und 0.00`` if unknown)."""
    from worker.pipeline.detect import detect_language

    text = sys.stdin.read()
    for chunk in text.splitlines() if lines else [text]:
        detection = detect_language(chunk)
        if detection is None:
            typer.echo("und 0.00")
        else:
            typer.echo(f"{detection.code} {detection.confidence:.2f}")


def summarize(
    count: Annotated[
        int | None,
        typer.Option("--sentences", min=1, help="Sentences in the summary (a cap with --ratio)."),
    ] = None,
    ratio: Annotated[
        float | None,
        typer.Option(max=1.0, help="Share of the article's sentences (0 < R <= 1)."),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language code; detected when omitted.")
    ] = None,
) -> None:
    """Summarise standard input by picking its key sentences; prints one per line.

    Without options the summary has 3 sentences.
    """
    from worker.pipeline.summarize import ExtractiveSummarizer
    from worker.pipeline.text import segment_document

    if ratio is not None and ratio <= 0:
        raise typer.BadParameter("must be above 0", param_hint="--ratio")
    text = sys.stdin.read()
    language = _language(lang, text)
    article = segment_document(text, language).sentences
    if not article:
        return
    if ratio is not None:
        wanted = max(1, round(ratio * len(article)))
        wanted = min(wanted, count) if count is not None else wanted
    else:
        wanted = count if count is not None else 3
    for sentence in ExtractiveSummarizer().summarize(article, language, wanted):
        typer.echo(sentence)

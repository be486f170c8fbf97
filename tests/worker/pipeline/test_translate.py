"""Quality guarantees through the whole pipeline: numbers, paragraphs, long sentences, flags."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from service import store
from service.contract import JobStatus, TranslationStatus
from service.db import Database, upgrade_database
from tests.conftest import make_settings
from tests.fixtures.engines import Wrapped, register_engine
from worker.engines.base import Segment, Translator
from worker.engines.echo import EchoTranslator
from worker.models.registry import registry
from worker.pipeline import job as pipeline
from worker.pipeline.context import WorkerContext
from worker.pipeline.quality import find_numbers
from worker.pipeline.quotes import balance

NUMBERS_ARTICLE = (
    "On 27 September 2020 clashes erupted along a 190-kilometre line. Officials said "
    "3,500 people had left by 20:30, and 1.5 million were at risk.\n\n"
    "The ceasefire of 1994 left 20 percent of the territory occupied; over 30,000 were "
    "killed. Details: https://example.org/report-2020 or press@example.org.\n\n"
    "- 7 districts\n- 1 region\n- 2 countries"
)


def context(tmp_path: Path, **overrides: Any) -> WorkerContext:
    settings = make_settings(tmp_path / "data", **overrides)
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)
    return WorkerContext(
        settings=settings, db=Database(settings.effective_database_url), pid=os.getpid()
    )


@pytest.fixture
def echo_ctx(tmp_path: Path) -> Iterator[WorkerContext]:
    ctx = context(tmp_path, translation_backend="echo", cache="off")
    yield ctx
    ctx.close()


def run(ctx: WorkerContext, text: str, targets: list[str], **values: Any) -> Any:
    job = store.create_job(
        ctx.db,
        store.NewJob(
            title=values.get("title"),
            text=text,
            source_language=values.get("source", "en"),
            target_languages=targets,
            summary_sentences=values.get("summary"),
            translate_fields=values.get("fields", ["body"]),
        ),
    )
    pipeline.run_job(ctx, job.id)
    return store.get_job(ctx.db, job.id)


def numbers(text: str) -> list[frozenset[str]]:
    return [token.values for token in find_numbers(text)]


def test_every_number_survives_into_every_language(echo_ctx: WorkerContext) -> None:
    job = run(echo_ctx, NUMBERS_ARTICLE, ["fa", "hy", "az"])
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    source_numbers = numbers(NUMBERS_ARTICLE)
    assert len(source_numbers) >= 10
    for translation in job.translations:
        body = translation.body
        assert body is not None
        out = numbers(body)
        for value in source_numbers:
            assert any(value & other for other in out), (translation.language, value, body)
        assert "https://example.org/report-2020" in body
        assert "press@example.org" in body
        # paragraphs and the bullet list keep their shape
        assert len(body.split("\n\n")) == 3
        assert body.split("\n\n")[2].count("\n") == 2


def test_an_echoed_sentence_is_flagged_as_untranslated(echo_ctx: WorkerContext) -> None:
    job = run(echo_ctx, "The talks resume on Monday in Baku.", ["fa"])
    fa = job.translations[0]
    assert fa.status == TranslationStatus.SUCCEEDED
    assert fa.flags
    assert fa.flags[0]["field"] == "body" and fa.flags[0]["index"] == 0
    assert "untranslated" in fa.flags[0]["flags"]
    # the flagged translation is named, as the translated text has it
    assert fa.flags[0]["target"] and fa.flags[0]["target"] in (fa.body or "")
    # the target language itself needs no translation and no flags
    same = run(echo_ctx, "The talks resume on Monday in Baku.", ["en"])
    assert same.translations[0].flags is None


def test_gibberish_is_retried_and_flagged(tmp_path: Path, tiny_nllb_ct2_dir: Path) -> None:
    ctx = context(tmp_path, translation_model=str(tiny_nllb_ct2_dir))
    try:
        job = run(ctx, "Delegations met in Baku on 12 May. The talks lasted 6 hours.", ["hy"])
        hy = job.translations[0]
        assert hy.status == TranslationStatus.SUCCEEDED
        flagged = {f["index"]: f["flags"] for f in hy.flags or []}
        # a random-weight model's output is not Armenian text carrying the numbers
        assert set(flagged) == {0, 1}
        assert all(flags for flags in flagged.values())
        assert job.progress_done == job.progress_total == 2
    finally:
        ctx.close()


def test_a_sentence_over_the_model_limit_is_split_not_cut(
    tmp_path: Path, tiny_nllb_ct2_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model limit of 40 tokens: the long sentence goes in pieces and comes back whole."""
    seen: list[str] = []

    class SmallLimit(Wrapped):
        def __init__(self, inner: Translator) -> None:
            super().__init__(inner)
            self.max_input_tokens = 40

        def translate_segments(
            self, segments: list[Segment], tokens: Sequence[Any] | None = None
        ) -> list[str]:
            seen.extend(segment.text for segment in segments)
            assert all(n <= 40 for n in self.inner.count_tokens([s.text for s in segments], "en"))
            return [segment.text for segment in segments]  # echo, to check the rejoin

    register_engine(
        monkeypatch,
        "small-limit",
        lambda name, device: SmallLimit(
            registry().get_translator(name, "ctranslate2", device, threads=1)
        ),
        runs_like="ctranslate2",
    )
    ctx = context(
        tmp_path,
        translation_model=str(tiny_nllb_ct2_dir),
        cache="off",
        quality_checks="off",
    )
    ctx.settings = ctx.settings.model_copy(update={"translation_backend": "small-limit"})
    long_sentence = (
        "The delegations, which had travelled from Baku, Yerevan and Tehran, met on Monday; "
        "they discussed the border, the return of refugees, the exchange of prisoners and "
        "the reopening of roads, and they agreed, after six hours of talks that officials "
        "described as difficult but useful, to meet again in December."
    )
    try:
        job = run(ctx, f"Short opening sentence.\n\n{long_sentence}", ["fa"])
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        assert len(seen) > 2  # the long sentence went in several pieces
        body = job.translations[0].body
        assert "".join(body.split()) == "".join(
            f"Short opening sentence.\n\n{long_sentence}".split()
        )
        split = job.analysis["split_segments"]
        assert len(split) == 1 and split[0]["pieces"] >= 2
        assert split[0]["places"] == [["body", 1]]
        assert job.progress_done == job.progress_total
    finally:
        ctx.close()


def test_mixed_language_article_translates_each_paragraph_from_its_language(
    echo_ctx: WorkerContext,
) -> None:
    text = (
        "Iran's foreign minister visited Baku on Monday and met President Aliyev. The two "
        "discussed transport links, trade and the situation on the border.\n\n"
        "Ermənistan və Azərbaycan arasında danışıqlar bərpa olunur. Tərəflər sərhəd "
        "məsələlərini və nəqliyyat əlaqələrini müzakirə edəcəklər."
    )
    job = run(echo_ctx, text, ["az", "fa"], source="auto")
    assert job.detected_language == "en"
    assert job.analysis["mixed"] is True
    languages = [p["language"] for p in job.analysis["paragraph_languages"]]
    assert languages == ["en", "az"]
    az = next(t for t in job.translations if t.language == "az")
    # the Azerbaijani paragraph is already in the target language: kept, not flagged
    assert az.body.split("\n\n")[1].startswith("Ermənistan")
    assert all(flag["index"] < 2 for flag in az.flags or [])


def test_persian_digits_on_request(tmp_path: Path) -> None:
    ctx = context(tmp_path, translation_backend="echo", cache="off", persian_digits=True)
    try:
        job = run(ctx, "The ceasefire of 1994 held for 26 years.", ["fa", "hy"])
        bodies = {t.language: t.body for t in job.translations}
        assert "۱۹۹۴" in bodies["fa"] and "۲۶" in bodies["fa"]
        assert "1994" in bodies["hy"]
    finally:
        ctx.close()


def test_summary_length_as_a_ratio(echo_ctx: WorkerContext) -> None:
    text = " ".join(f"Sentence number {i} reports on the talks in Baku." for i in range(10))
    job = store.create_job(
        echo_ctx.db,
        store.NewJob(None, text, "en", ["en"], None, ["summary"], summary_ratio=0.3),
    )
    pipeline.run_job(echo_ctx, job.id)
    done = store.get_job(echo_ctx.db, job.id)
    assert done.status == JobStatus.SUCCEEDED
    assert len(done.summary["sentences"]) == 3


def test_a_quotation_split_into_sentences_keeps_its_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each piece of a split quotation reaches the engine closed; no mark is added or lost."""
    seen: list[str] = []

    class Guillemets(EchoTranslator):
        def translate_segments(
            self, segments: list[Segment], tokens: Sequence[Any] | None = None
        ) -> list[str]:
            seen.extend(segment.text for segment in segments)
            return [s.text.replace("“", "«").replace("”", "»") for s in segments]

    register_engine(monkeypatch, "guillemets", lambda name, device: Guillemets(), "echo")
    ctx = context(tmp_path, cache="off", quality_checks="off")
    ctx.settings = ctx.settings.model_copy(update={"translation_backend": "guillemets"})
    text = "“We made progress. There is work ahead. We meet again,” he said. Talks resume."
    try:
        job = run(ctx, text, ["fa"], summary=3, fields=["body", "summary"])
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        assert {"“We made progress.”", "“We meet again,” he said."} <= set(seen)
        assert job.translations[0].body == (
            "«We made progress. There is work ahead. We meet again,» he said. Talks resume."
        )
        # The summary's sentences from inside the quotation carry its marks.
        summary = job.summary["sentences"]
        assert len(summary) == 3
        assert all(balance(sentence).text == sentence for sentence in summary)
        assert set(summary) <= {
            "“We made progress.”",
            "“There is work ahead.”",
            "“We meet again,” he said.",
            "Talks resume.",
        }
    finally:
        ctx.close()

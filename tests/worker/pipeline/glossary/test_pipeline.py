"""A job with a glossary through the whole pipeline (echo engine)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from service import store, tenants
from service.db import Database, upgrade_database
from service.glossary.domain import create_glossary, job_snapshot
from service.glossary.schemas import GlossaryIn
from tests.conftest import make_settings
from tests.fixtures.engines import Wrapped, register_engine
from worker.engines.base import Segment
from worker.engines.echo import EchoTranslator
from worker.pipeline import job as pipeline
from worker.pipeline.context import WorkerContext

TEXT = "Khamenei spoke about Nagorno-Karabakh on Monday.\n\nArmenia's envoy left Nagorno Karabakh."


def context(tmp: Path, **overrides: Any) -> WorkerContext:
    settings = make_settings(tmp / "data", **overrides)
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)
    return WorkerContext(
        settings=settings, db=Database(settings.effective_database_url), pid=os.getpid()
    )


def glossary(ctx: WorkerContext, name: str, az: str = "Dağlıq Qarabağ") -> str:
    tenants.ensure_tenant(ctx.db, "local")
    body = GlossaryIn.model_validate(
        {
            "name": name,
            "entries": [
                {
                    "source": "Nagorno-Karabakh",
                    "targets": {"az": az, "fa": "قره‌باغ کوهستانی", "hy": "Լեռնային Ղարաբաղ"},
                },
                {"source": "Khamenei", "targets": {"az": "Xamenei", "fa": "خامنه‌ای"}},
                {"source": "Armenia", "targets": {"az": "Ermənistan"}},
            ],
        }
    )
    return create_glossary(ctx.db, ctx.settings, "local", body).id


def run(ctx: WorkerContext, glossary_id: str | None) -> Any:
    snapshot = job_snapshot(
        ctx.db, ctx.settings, "local", [glossary_id] if glossary_id else [], TEXT
    )
    job = store.create_job(
        ctx.db,
        store.NewJob(
            title=None,
            text=TEXT,
            source_language="en",
            target_languages=["az", "fa", "hy"],
            summary_sentences=None,
            translate_fields=["body"],
            tenant="local",
            glossary=snapshot,
        ),
    )
    pipeline.run_job(ctx, job.id)
    return {t.language: t for t in store.get_job(ctx.db, job.id).translations}


def test_terms_are_applied_cached_apart_and_reported(tmp_path: Path) -> None:
    ctx = context(tmp_path, translation_backend="echo", cache="database")
    first = glossary(ctx, "a")
    done = run(ctx, first)
    assert done["az"].body == (
        "Xamenei spoke about Dağlıq Qarabağ on Monday.\n\nErmənistan's envoy left Dağlıq Qarabağ."
    )
    assert done["fa"].body.startswith("خامنه‌ای spoke about قره‌باغ کوهستانی")
    assert "Khamenei" in done["hy"].body and "Լեռնային Ղարաբաղ" in done["hy"].body
    assert [(t["index"], t["target"]) for t in done["az"].terms] == [
        (0, "Xamenei"),
        (0, "Dağlıq Qarabağ"),
        (1, "Ermənistan"),
        (1, "Dağlıq Qarabağ"),
    ]
    again = run(ctx, first)  # from the cache, terms still reported
    assert again["az"].body == done["az"].body and again["az"].terms == done["az"].terms
    other = run(ctx, glossary(ctx, "b", az="Qarabağ (dağlıq)"))  # never the other's cache
    assert "Qarabağ (dağlıq)" in other["az"].body and "Dağlıq Qarabağ" not in other["az"].body
    plain = run(ctx, None)
    assert "Nagorno-Karabakh" in plain["az"].body and not plain["az"].terms
    ctx.close()


def test_a_lost_term_is_flagged_glossary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Dropper(Wrapped):
        def translate_segments(
            self, segments: list[Segment], tokens: Sequence[Any] | None = None
        ) -> list[str]:
            return [s.replace("[1]", "") for s in self.inner.translate_segments(segments, tokens)]

    register_engine(
        monkeypatch, "dropper", lambda *a, **k: Dropper(EchoTranslator()), runs_like="echo"
    )
    ctx = context(tmp_path, translation_backend="dropper", cache="off")
    done = run(ctx, glossary(ctx, "a"))
    assert [f["flags"] for f in done["az"].flags] == [["glossary"], ["glossary"]]
    ctx.close()


def test_with_a_real_model_each_term_comes_through_or_is_flagged(
    tmp_path: Path, tiny_nllb_ct2_dir: Path
) -> None:
    """The tiny random-weight model mangles text, so placeholders may be lost: where a
    term's sentence does not carry the desk's spelling, it is flagged ``glossary``."""
    ctx = context(
        tmp_path, translation_model=str(tiny_nllb_ct2_dir), cache="off", quality_checks="flag"
    )
    done = run(ctx, glossary(ctx, "a"))
    # The terms each sentence (one a paragraph here) asks for, per target language.
    wanted = {
        "az": [["Xamenei", "Dağlıq Qarabağ"], ["Ermənistan", "Dağlıq Qarabağ"]],
        "fa": [["خامنه‌ای", "قره‌باغ کوهستانی"], ["قره‌باغ کوهستانی"]],
        "hy": [["Լեռնային Ղարաբաղ"], ["Լեռնային Ղարաբաղ"]],
    }
    outcomes = set()
    for language, result in done.items():
        assert result.status == "succeeded"
        paragraphs = result.body.split("\n\n")
        flagged = {f["index"] for f in result.flags or [] if "glossary" in f["flags"]}
        for index, terms in enumerate(wanted[language]):
            for term in terms:
                if term in paragraphs[index]:
                    outcomes.add("kept")
                else:
                    assert index in flagged, (language, index, term, paragraphs[index])
                    outcomes.add("flagged")
    assert outcomes  # every term was checked one way or the other
    ctx.close()

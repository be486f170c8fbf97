"""Event ids and the events that take a client from what it has seen to the job as it is."""

from __future__ import annotations

import datetime as dt

import pytest

from service.contract import JobStatus
from service.events import Seen, changes
from service.schemas import JobOut, Progress, SourceOut, TranslationOut

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def job(status: str, done: int, total: int, finished: dict[str, str]) -> JobOut:
    codes = ["az", "fa", "hy"]
    return JobOut(
        id="j",
        status=JobStatus(status),
        title=None,
        source=SourceOut(kind="text"),
        output="text",
        source_language="en",
        detected_language="en",
        detected_confidence=1.0,
        target_languages=codes,
        translate=["title"],
        summary=None,
        translations={
            code: TranslationOut(status=finished.get(code, "pending"))  # type: ignore[arg-type]
            for code in codes
        },
        progress=Progress(done=done, total=total),
        error=None,
        attempts=1,
        model=None,
        created_at=NOW,
        updated_at=NOW,
        started_at=None,
        finished_at=None,
    )


@pytest.mark.parametrize(
    "seen",
    [Seen(), Seen(JobStatus.RUNNING, 3, 9, 0b101), Seen(JobStatus.SUCCEEDED, 0, 0, 2**63 + 1)],
)
def test_an_event_id_names_what_was_seen(seen: Seen) -> None:
    assert Seen.parse(seen.event_id()) == seen


@pytest.mark.parametrize(
    "value",
    [None, "", "x", "running.1.2", "sleeping.1.2.3", "running.a.2.3", "r.1.2.zz", "-.1.2.3.4"],
)
def test_a_malformed_id_starts_from_nothing(value: str | None) -> None:
    assert Seen.parse(value) == Seen()


def test_changes_in_order_and_only_once() -> None:
    events, seen = changes(job("running", 2, 6, {"fa": "succeeded"}), Seen())
    assert [e.name for e in events] == ["status", "language", "progress"]
    assert seen == Seen(JobStatus.RUNNING, 2, 6, 0b010)
    assert events[-1].id == seen.event_id()
    # nothing new, nothing sent
    assert changes(job("running", 2, 6, {"fa": "succeeded"}), seen) == ([], seen)
    # a failed language is finished too; the final status comes last
    final = job("failed", 4, 6, {"fa": "succeeded", "az": "failed", "hy": "failed"})
    events, seen = changes(final, seen)
    assert [e.name for e in events] == ["language", "language", "progress", "status"]
    assert [e.data.split('"')[3] for e in events[:2]] == ["az", "hy"]
    assert seen.final

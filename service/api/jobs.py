"""Job routes: submit an article, read, list and cancel jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from service import events, jobs, store
from service.api.deps import DatabaseDep, LimiterDep, PrincipalDep, QueueDep, SettingsDep
from service.api.responses import BODY_ERRORS, ERRORS, EVENT_STREAM
from service.contract import JobStatus, Lane
from service.errors import NotFound
from service.schemas import ArticleOut, JobCreate, JobList, JobOut

router = APIRouter()
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Repeat a request with the same key within 24 hours to get the same job.",
    ),
]
LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=200,
        description="The id of the last event received: the stream resumes after it.",
    ),
]


@router.post(
    "/v1/jobs", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, responses=BODY_ERRORS
)
def create_job(
    body: JobCreate,
    response: Response,
    principal: PrincipalDep,
    db: DatabaseDep,
    queue: QueueDep,
    limiter: LimiterDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobOut:
    """Queue an article for summarisation and translation."""
    submission = jobs.submit_job(
        db, queue, limiter, settings, principal, body, idempotency_key=idempotency_key
    )
    response.headers["Location"] = f"/v1/jobs/{submission.job.id}"
    if submission.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return jobs.describe(db, submission.job)


@router.get("/v1/jobs", response_model=JobList, responses=ERRORS)
def list_jobs(
    principal: PrincipalDep,
    db: DatabaseDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    lane: Annotated[
        Lane, Query(description="interactive: the LibreTranslate-style requests instead.")
    ] = Lane.ARTICLE,
) -> JobList:
    """List your jobs, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""
    page = store.list_jobs(
        db, tenant=principal.tenant, status=status, limit=limit, cursor=cursor, lane=lane
    )
    return jobs.describe_page(db, page)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
def get_job(job_id: str, principal: PrincipalDep, db: DatabaseDep) -> JobOut:
    """A job with its summary, per-language results and progress."""
    return jobs.describe(db, store.get_job(db, job_id, tenant=principal.tenant))


@router.delete("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
def cancel_job(job_id: str, principal: PrincipalDep, db: DatabaseDep) -> JobOut:
    """Cancel a queued or running job (work stops between batches)."""
    return jobs.describe(db, store.cancel_job(db, job_id, tenant=principal.tenant))


@router.get("/v1/jobs/{job_id}/article", response_model=ArticleOut, responses=ERRORS)
def get_article(job_id: str, principal: PrincipalDep, db: DatabaseDep) -> ArticleOut:
    """The job's article in plain text, as its translations are aligned with it."""
    return jobs.article_out(store.get_job(db, job_id, tenant=principal.tenant))


@router.get(
    "/v1/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={**ERRORS, **EVENT_STREAM},
)
async def job_events(
    job_id: str,
    principal: PrincipalDep,
    db: DatabaseDep,
    settings: SettingsDep,
    last_event_id: LastEventIdHeader = None,
) -> StreamingResponse:
    """Follow a job as server-sent events: ``status``, ``progress``, and ``language`` as each
    language finishes; the stream ends after the final status."""
    if await run_in_threadpool(store.job_version, db, job_id, tenant=principal.tenant) is None:
        raise NotFound(f"No job with id {job_id!r}.")
    stream = events.follow_job(db, settings, job_id, principal.tenant, last_event_id)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

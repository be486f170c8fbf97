"""Job routes: submit an article, read, list and cancel jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from service import jobs, store
from service.api.deps import DatabaseDep, LimiterDep, PrincipalDep, QueueDep, SettingsDep
from service.api.responses import BODY_ERRORS, ERRORS
from service.contract import JobStatus
from service.schemas import JobCreate, JobList, JobOut

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
) -> JobList:
    """List your jobs, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""
    page = store.list_jobs(db, tenant=principal.tenant, status=status, limit=limit, cursor=cursor)
    return jobs.describe_page(db, page)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
def get_job(job_id: str, principal: PrincipalDep, db: DatabaseDep) -> JobOut:
    """A job with its summary, per-language results and progress."""
    return jobs.describe(db, store.get_job(db, job_id, tenant=principal.tenant))


@router.delete("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
def cancel_job(job_id: str, principal: PrincipalDep, db: DatabaseDep) -> JobOut:
    """Cancel a queued or running job (work stops between batches)."""
    return jobs.describe(db, store.cancel_job(db, job_id, tenant=principal.tenant))

"""HTTP routes: validate, call one domain function, map the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse

from service import jobs, store
from service.api.deps import DatabaseDep, LimiterDep, PrincipalDep, QueueDep, SettingsDep
from service.api.errors import exc_body
from service.contract import JobStatus
from service.errors import DragomanError, ModelUnavailable
from service.schemas import ErrorResponse, JobCreate, JobList, JobOut, LanguagesOut

router = APIRouter()
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 409, 413, 422, 429, 503)
}
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Repeat a request with the same key within 24 hours to get the same job.",
    ),
]


BODY_ERRORS: dict[int | str, dict[str, object]] = {
    **ERRORS,
    400: {"model": ErrorResponse, "description": "The body is not UTF-8 or is nested too deep."},
}


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


@router.get("/v1/languages", response_model=LanguagesOut, responses=ERRORS)
def list_languages(
    _principal: PrincipalDep, db: DatabaseDep, settings: SettingsDep
) -> LanguagesOut:
    """Languages the configured translation model can translate from and into."""
    codes = jobs.supported_languages(db, settings)
    if codes is None:
        raise ModelUnavailable(
            f"No running worker has loaded {settings.translation_model!r} yet, so its "
            "languages are not known. Start a worker (`dragoman worker`)."
        )
    return LanguagesOut(model=settings.translation_model, languages=jobs.describe_languages(codes))


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready"}})
def readyz(db: DatabaseDep, queue: QueueDep, settings: SettingsDep) -> JSONResponse:
    """Ready when the database and broker are reachable and a worker can run the model."""
    checks: dict[str, dict[str, object]] = {}
    try:
        db.ping()
        checks["database"] = {"ok": True}
    except DragomanError as exc:
        checks["database"] = {"ok": False, **exc_body(exc)}
    try:
        queue.ping()
        checks["broker"] = {"ok": True}
    except DragomanError as exc:
        checks["broker"] = {"ok": False, **exc_body(exc)}
    if checks["database"]["ok"]:
        workers = store.live_workers(db, stale_after=settings.worker_stale_seconds)
        checks["workers"] = {"ok": bool(workers), "count": len(workers)}
        checks["model"] = jobs.model_readiness(workers, settings)
    else:
        checks["workers"] = {"ok": False, "count": 0}
        checks["model"] = {"ok": False, "status": "unknown"}
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )

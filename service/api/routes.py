"""HTTP routes: validate, call one domain function, map the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from service import jobs, store
from service.api.deps import DatabaseDep, QueueDep, SettingsDep
from service.api.errors import exc_body
from service.contract import JobStatus
from service.errors import DragomanError, ModelUnavailable
from service.schemas import ErrorResponse, JobCreate, JobList, JobOut, LanguagesOut

router = APIRouter()
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 413, 422, 503)
}


@router.post(
    "/v1/jobs", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, responses=ERRORS
)
def create_job(
    body: JobCreate, response: Response, db: DatabaseDep, queue: QueueDep, settings: SettingsDep
) -> JobOut:
    """Queue an article for summarisation and translation."""
    job = jobs.submit_job(db, queue, settings, body)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return jobs.job_out(job)


@router.get("/v1/jobs", response_model=JobList, responses=ERRORS)
def list_jobs(
    db: DatabaseDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JobList:
    """List jobs, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""
    page = store.list_jobs(db, status=status, limit=limit, cursor=cursor)
    return JobList(items=[jobs.job_out(j) for j in page.items], next_cursor=page.next_cursor)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
def get_job(job_id: str, db: DatabaseDep) -> JobOut:
    """A job with its summary, per-language results and progress."""
    return jobs.job_out(store.get_job(db, job_id))


@router.delete("/v1/jobs/{job_id}", response_model=JobOut, responses=ERRORS)
def cancel_job(job_id: str, db: DatabaseDep) -> JobOut:
    """Cancel a queued or running job (work stops between batches)."""
    return jobs.job_out(store.cancel_job(db, job_id))


@router.get("/v1/languages", response_model=LanguagesOut, responses=ERRORS)
def list_languages(db: DatabaseDep, settings: SettingsDep) -> LanguagesOut:
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
    """Ready when the database and broker are reachable and a worker is answering."""
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
    else:
        checks["workers"] = {"ok": False, "count": 0}
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )

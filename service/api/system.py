"""Routes about the service itself: its languages, liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service import jobs, store
from service.api.deps import DatabaseDep, PrincipalDep, QueueDep, SettingsDep
from service.api.errors import exc_body
from service.api.responses import ERRORS
from service.errors import DragomanError, ModelUnavailable
from service.schemas import LanguagesOut

router = APIRouter()


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

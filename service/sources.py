"""Where a job's article came from: what a worker records after fetching or extracting it.

A ``url`` job is stored without text; the worker fetches the page, extracts the
article and records it here before the pipeline runs, as one fenced write (only
the attempt that holds the job may write). An ``html`` job records the text and
metadata extracted from its HTML the same way, without ``final_url``/``fetched_at``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from service.auth import principal_for
from service.contract import JobStatus
from service.db import Database
from service.limits import Charge, Limiter
from service.models import Job, utcnow
from service.settings import Settings


def record_source(
    db: Database,
    job_id: str,
    *,
    attempt: int,
    text: str,
    title: str | None = None,
    author: str | None = None,
    published: str | None = None,
    site: str | None = None,
    html: str | None = None,
    final_url: str | None = None,
    fetched_at: dt.datetime | None = None,
) -> bool:
    """Store the article a worker extracted; False if the attempt no longer holds the job.

    ``title`` fills the job's title only when the caller gave none; ``html`` (the
    article as clean HTML, for ``output: html``) replaces the stored HTML when given.
    """
    values: dict[str, object] = {
        "text": text,
        "author": author,
        "published": published,
        "site": site,
        "updated_at": utcnow(),
    }
    if html is not None:
        values["html"] = html
    if final_url is not None:
        values["final_url"] = final_url
    if fetched_at is not None:
        values["fetched_at"] = fetched_at
    with db.session() as session:
        owned = (Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
        result = session.execute(update(Job).where(*owned).values(**values))
        if title:
            session.execute(update(Job).where(*owned, Job.title.is_(None)).values(title=title))
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def charge_fetched(
    db: Database, settings: Settings, limiter: Limiter, job: Job, chars: int
) -> Charge:
    """Count a fetched article's characters against the daily quota of the key that asked.

    Raises:
        QuotaExceeded: the article does not fit in what is left today.
        Unauthorized: the key has been revoked since the job was submitted.
    """
    principal = principal_for(db, settings, job.tenant, job.key_id)
    return limiter.charge_chars(principal, chars)

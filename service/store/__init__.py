"""The store: every state change of a job is one committed transition.

The database is the source of truth. ``jobs`` is the API's side (create, read, list,
cancel), ``attempts`` the workers' (claim, progress, results, finish), ``workers``
their heartbeats, ``webhooks`` the deliveries of finished jobs, and ``recovery`` the
reaper's rules for work stranded by dead workers and lost messages. The functions
are used as ``store.create_job(...)``; ``recovery`` is imported as a module.
"""

from service.store.attempts import (
    claim_job,
    fail_job,
    finish_job,
    hand_back_job,
    record_analysis,
    record_detection,
    record_plan,
    record_progress,
    record_summary,
    record_translation,
    still_running,
)
from service.store.jobs import (
    Idempotency,
    IdempotencyKeyTaken,
    JobPage,
    NewJob,
    cancel_job,
    count_jobs,
    create_job,
    discard_job,
    find_idempotency,
    get_job,
    job_version,
    list_jobs,
)
from service.store.webhooks import (
    delivery_attempts,
    finished_job,
    mark_webhook_pending,
    record_delivery,
    set_webhook_status,
    webhook_deliveries,
)
from service.store.workers import live_workers, record_heartbeat, remove_worker

__all__ = [
    "Idempotency",
    "IdempotencyKeyTaken",
    "JobPage",
    "NewJob",
    "cancel_job",
    "claim_job",
    "count_jobs",
    "create_job",
    "delivery_attempts",
    "discard_job",
    "fail_job",
    "find_idempotency",
    "finish_job",
    "finished_job",
    "get_job",
    "hand_back_job",
    "job_version",
    "list_jobs",
    "live_workers",
    "mark_webhook_pending",
    "record_analysis",
    "record_delivery",
    "record_detection",
    "record_heartbeat",
    "record_plan",
    "record_progress",
    "record_summary",
    "record_translation",
    "remove_worker",
    "set_webhook_status",
    "still_running",
    "webhook_deliveries",
]

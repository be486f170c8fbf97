"""Webhook delivery to a real HTTP receiver on loopback, signatures checked as a receiver would."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import Retry
from sqlalchemy import select, update

from service import store
from service.db import Database
from service.models import Job, WebhookDelivery
from service.settings import Settings
from service.tenants import webhook_secret
from service.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.conftest import make_settings
from worker.runtime import webhooks


@dataclass
class Receiver:
    """An HTTP server answering POSTs with the next scripted status code."""

    statuses: list[int]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(statuses=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((dict(self.headers.items()), body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.server = server
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook_settings(tmp_path: Path) -> Settings:
    s = make_settings(
        tmp_path / "data",
        allow_private_callbacks=True,
        webhook_max_attempts=3,
        webhook_backoff_seconds=2.0,
        webhook_timeout=5.0,
    )
    s.ensure_dirs()
    return s


@pytest.fixture
def hook_db(hook_settings: Settings) -> Iterator[Database]:
    from service.db import upgrade_database

    upgrade_database(hook_settings.effective_database_url, hook_settings.data_dir)
    database = Database(hook_settings.effective_database_url)
    yield database
    database.dispose()


def finished_job(db: Database, url: str | None) -> str:
    """A succeeded job with ``url`` as its callback."""
    job_id = store.create_job(
        db,
        store.NewJob(
            title="Talks",
            text="Talks resumed.",
            source_language="en",
            target_languages=["az"],
            summary_sentences=None,
            translate_fields=["body"],
        ),
    ).id
    with db.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(callback_url=url))
        session.commit()
    job = store.claim_job(db, job_id, model="m", worker="w", stale_after=30)
    assert job is not None
    assert store.finish_job(db, job_id, attempt=job.attempts)
    return job_id


def deliveries(db: Database, job_id: str) -> list[WebhookDelivery]:
    with db.session() as session:
        return list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.job_id == job_id)
                .order_by(WebhookDelivery.id)
            )
        )


def test_delivers_the_public_job_signed_with_the_tenants_secret(
    hook_db: Database, hook_settings: Settings, receiver: Receiver
) -> None:
    job_id = finished_job(hook_db, receiver.url)
    sent: list[str] = []
    webhooks.job_finished(hook_db, job_id, send=sent.append)
    assert sent == [job_id]
    assert store.get_job(hook_db, job_id).webhook_status == "pending"

    outcome = webhooks.deliver(hook_db, hook_settings, job_id)

    assert outcome is not None and outcome.delivered and outcome.status_code == 200
    ((headers, body),) = receiver.requests
    secret = webhook_secret(hook_db, "local")
    timestamp = int(headers[TIMESTAMP_HEADER])
    assert verify_signature(secret, timestamp, body, headers[SIGNATURE_HEADER], now=time.time())
    assert not verify_signature(
        "wrong", timestamp, body, headers[SIGNATURE_HEADER], now=time.time()
    )
    assert headers["X-Dragoman-Job"] == job_id and headers["X-Dragoman-Delivery"] == "1"
    payload = json.loads(body)
    assert payload["id"] == job_id and payload["status"] == "succeeded"
    assert store.get_job(hook_db, job_id).webhook_status == "delivered"
    assert [(d.attempt, d.status_code, d.delivered) for d in deliveries(hook_db, job_id)] == [
        (1, 200, True)
    ]
    # delivered once: another message for the same job sends nothing
    assert webhooks.deliver(hook_db, hook_settings, job_id) is None
    assert len(receiver.requests) == 1


def test_retries_after_server_errors_then_succeeds(
    hook_db: Database, hook_settings: Settings, receiver: Receiver
) -> None:
    job_id = finished_job(hook_db, receiver.url)
    receiver.statuses = [500, 503, 200]

    outcomes = [webhooks.deliver(hook_db, hook_settings, job_id) for _ in range(3)]

    assert [o.retry_in for o in outcomes if o] == [2.0, 4.0, None]
    assert [o.delivered for o in outcomes if o] == [False, False, True]
    assert [h["X-Dragoman-Delivery"] for h, _ in receiver.requests] == ["1", "2", "3"]
    rows = deliveries(hook_db, job_id)
    assert [(d.attempt, d.status_code, d.delivered) for d in rows] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert store.get_job(hook_db, job_id).webhook_status == "delivered"


def test_gives_up_after_max_attempts(
    hook_db: Database, hook_settings: Settings, receiver: Receiver
) -> None:
    job_id = finished_job(hook_db, receiver.url)
    receiver.statuses = [500, 302, 500, 500]  # a redirect is not followed

    outcomes = [webhooks.deliver(hook_db, hook_settings, job_id) for _ in range(4)]

    assert outcomes[3] is None  # nothing more is due
    assert outcomes[2] is not None and outcomes[2].retry_in is None
    assert len(receiver.requests) == 3
    rows = deliveries(hook_db, job_id)
    assert [(d.attempt, d.status_code) for d in rows] == [(1, 500), (2, 302), (3, 500)]
    assert store.get_job(hook_db, job_id).webhook_status == "failed"


def test_unreachable_receiver_is_recorded_without_internals(
    hook_db: Database, hook_settings: Settings
) -> None:
    job_id = finished_job(hook_db, "http://127.0.0.1:9/closed")

    outcome = webhooks.deliver(hook_db, hook_settings, job_id)

    assert outcome is not None and outcome.retry_in == 2.0
    (row,) = deliveries(hook_db, job_id)
    assert row.status_code is None and row.error and row.error.startswith("ConnectError")
    assert "Traceback" not in row.error and ".py" not in row.error
    assert store.get_job(hook_db, job_id).webhook_status == "pending"


def test_private_address_refused_at_delivery_time(
    hook_db: Database, tmp_path: Path, receiver: Receiver
) -> None:
    """Allowed when the job was submitted; refused when the worker is stricter now."""
    strict = make_settings(tmp_path / "data", allow_private_callbacks=False)
    job_id = finished_job(hook_db, receiver.url)

    outcome = webhooks.deliver(hook_db, strict, job_id)

    assert outcome is not None and not outcome.delivered and outcome.retry_in is None
    assert outcome.error and outcome.error.startswith("refused:")
    assert receiver.requests == []
    assert store.get_job(hook_db, job_id).webhook_status == "failed"


def test_a_name_that_rebinds_to_loopback_is_refused_at_connect_time(
    hook_db: Database, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL check sees a public address; the connection would go to loopback.

    ``socket.getaddrinfo`` stands for a DNS server that answers differently the
    second time (DNS rebinding). The sender connects only to the address it vets.
    """
    strict = make_settings(tmp_path / "data", allow_private_callbacks=False)
    port = receiver.url.split(":")[2].split("/")[0]
    job_id = finished_job(hook_db, f"http://hooks.rebind.test:{port}/hook")
    answers = iter(["93.184.215.14"])

    def getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> list[Any]:
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(str(port))))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    outcome = webhooks.deliver(hook_db, strict, job_id)

    assert outcome is not None and not outcome.delivered and outcome.retry_in is None
    assert outcome.error and outcome.error.startswith("refused:") and "127.0.0.1" in outcome.error
    assert receiver.requests == []


def test_jobs_without_callback_send_nothing(hook_db: Database, hook_settings: Settings) -> None:
    job_id = finished_job(hook_db, None)
    sent: list[str] = []
    webhooks.job_finished(hook_db, job_id, send=sent.append)
    assert sent == []
    assert webhooks.deliver(hook_db, hook_settings, job_id) is None
    assert store.get_job(hook_db, job_id).webhook_status is None


def test_task_retries_with_backoff(
    hook_db: Database,
    hook_settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from worker.runtime import context, tasks

    ctx = context.WorkerContext(settings=hook_settings, db=hook_db, pid=os.getpid())
    monkeypatch.setattr(context, "current", lambda: ctx)
    job_id = finished_job(hook_db, receiver.url)
    receiver.statuses = [500]

    with pytest.raises(Retry):
        tasks.deliver_webhook(job_id)
    tasks.deliver_webhook(job_id)

    assert [d.status_code for d in deliveries(hook_db, job_id)] == [500, 200]
    assert store.get_job(hook_db, job_id).webhook_status == "delivered"


def test_keys_secret_shows_the_secret_webhooks_are_signed_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from service import tenants
    from service.settings import get_settings
    from worker.cli.keys import keys_app

    monkeypatch.setenv("DRAGOMAN_DATA_DIR", str(tmp_path / "cli"))
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(keys_app, ["secret"])
        again = CliRunner().invoke(keys_app, ["secret", "--tenant", "local"])
        assert first.exit_code == 0 and again.exit_code == 0
        assert first.stdout.strip() == again.stdout.strip()
        db = Database(get_settings().effective_database_url)
        assert tenants.webhook_secret(db, "local") == first.stdout.strip()
        db.dispose()
        refused = CliRunner().invoke(keys_app, ["secret", "--tenant", "../bad name"])
        assert refused.exit_code != 0
    finally:
        get_settings.cache_clear()


def test_a_retry_goes_to_the_webhooks_queue_whatever_queue_it_came_from(
    hook_db: Database,
    hook_settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from celery.canvas import Signature

    from service.contract import QueueName
    from worker.runtime import context, tasks

    ctx = context.WorkerContext(settings=hook_settings, db=hook_db, pid=os.getpid())
    monkeypatch.setattr(context, "current", lambda: ctx)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(Signature, "apply_async", lambda sig, *a, **kw: sent.append(sig.options))
    job_id = finished_job(hook_db, receiver.url)
    receiver.statuses = [500]

    # a message from before the upgrade, taken from the jobs queue by the jobs' consumer
    came_from = {"exchange": "", "routing_key": QueueName.JOBS.value}
    tasks.deliver_webhook.push_request(
        args=[job_id], retries=0, delivery_info=came_from, called_directly=False
    )
    try:
        with pytest.raises(Retry):
            tasks.deliver_webhook.run(job_id)
    finally:
        tasks.deliver_webhook.pop_request()
    assert [options["queue"] for options in sent] == [QueueName.WEBHOOKS.value]
    assert sent[0]["countdown"] == hook_settings.webhook_backoff_seconds

"""Webhook deliveries on their own queue: a slow receiver never holds up jobs.

A real API and worker on each broker (the embedded one, Redis, RabbitMQ). The
receiver fails every first attempt and then holds the retries open until the
test lets them go: the worker's webhook consumer is then full and retries wait
in its queue, and a new job must still run at once in a job slot. A delivery
sent on the jobs queue (a message from before the upgrade) is still made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from service.contract import QueueName, TaskName
from service.queue import make_producer
from testkit.procs import Proc, free_port
from tests.conftest import make_settings, redis_broker
from tests.integration.conftest import base_env, wait_job, wait_ready, wait_until

pytestmark = pytest.mark.integration

SHORT = "The talks will resume in Baku on Monday.\n\nNo date was set for the next round."
WEBHOOK_CONCURRENCY = 2


@dataclass
class SlowReceiver:
    """Answers a first attempt 503 at once; holds later ones until ``release`` is set."""

    release: threading.Event = field(default_factory=threading.Event)
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (job, attempt)
    holding: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[SlowReceiver]:
    state = SlowReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            attempt = self.headers["X-Dragoman-Delivery"]
            with state.lock:
                state.attempts.append((self.headers["X-Dragoman-Job"], attempt))
            if attempt == "1":
                status = 503
            else:
                with state.lock:
                    state.holding += 1
                state.release.wait(120)
                with state.lock:
                    state.holding -= 1
                status = 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["embedded", "redis", "amqp"])
def any_broker(request: pytest.FixtureRequest) -> str:
    """The broker URL: empty for the embedded filesystem broker."""
    if request.param == "embedded":
        return ""
    if request.param == "redis":
        return redis_broker(8)
    url: str = request.getfixturevalue("amqp_url")
    return url


def submit(base: str, **extra: Any) -> str:
    payload = {
        "text": SHORT,
        "source_language": "en",
        "target_languages": ["az"],
        "summary": None,
        "translate": ["body"],
        **extra,
    }
    response = httpx.post(f"{base}/v1/jobs", json=payload, timeout=30)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def webhook(base: str, job_id: str) -> dict[str, Any]:
    job = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=5).json()
    result: dict[str, Any] = job["webhook"]
    return result


def test_slow_receiver_never_holds_up_a_job(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    tiny_nllb_ct2_dir: Path,
    any_broker: str,
    receiver: SlowReceiver,
) -> None:
    env = base_env(
        tmp_path / "data",
        tiny_nllb_ct2_dir,
        DRAGOMAN_BROKER_URL=any_broker,
        DRAGOMAN_ALLOW_PRIVATE_CALLBACKS="true",
        DRAGOMAN_WEBHOOK_CONCURRENCY=str(WEBHOOK_CONCURRENCY),
        DRAGOMAN_WEBHOOK_TIMEOUT="120",
        DRAGOMAN_WEBHOOK_BACKOFF_SECONDS="0.5",
        DRAGOMAN_WEBHOOK_MAX_ATTEMPTS="5",
        DRAGOMAN_METRICS_PORT=str(free_port()),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = spawn("api", ["api", "--port", str(port)], env)
    worker = spawn("worker", ["worker", "--concurrency", "2"], env)
    wait_ready(base, [api, worker])

    # five finished jobs: the receiver fails each first attempt and holds the retries,
    # so the webhook consumer is full and the other deliveries wait in their queue
    hooked = [submit(base, callback_url=receiver.url) for _ in range(5)]
    for job_id in hooked:
        assert wait_job(base, job_id, [api, worker], timeout=120)["status"] == "succeeded"
    wait_until(
        lambda: receiver.holding == WEBHOOK_CONCURRENCY,
        60,
        "the receiver to hold as many deliveries as the webhook consumer makes at once",
        [api, worker],
    )
    pending = [webhook(base, j)["status"] for j in hooked]
    assert pending == ["pending"] * len(hooked)

    # a new job runs at once, in a job slot, while every delivery is stuck
    fresh = submit(base)
    done = wait_job(base, fresh, [api, worker], timeout=60)
    assert done["status"] == "succeeded"
    assert receiver.holding == WEBHOOK_CONCURRENCY and not receiver.release.is_set()

    # let them go: every delivery ends delivered on its second attempt
    receiver.release.set()
    for job_id in hooked:
        delivered = wait_until(
            lambda j=job_id: (w := webhook(base, j))["status"] == "delivered" and w,  # type: ignore[misc]
            60,
            f"the webhook of {job_id}",
            [api, worker],
        )
        assert [(d["attempt"], d["status_code"]) for d in delivered["deliveries"]] == [
            (1, 503),
            (2, 204),
        ]

    # a delivery sent on the jobs queue, as before the upgrade, is still made
    old = hooked[0]
    settings = make_settings(tmp_path / "data", broker_url=any_broker)
    engine = create_engine(settings.effective_database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM webhook_deliveries WHERE job_id = :id"), {"id": old})
        connection.execute(
            text("UPDATE jobs SET webhook_status = 'pending' WHERE id = :id"), {"id": old}
        )
    engine.dispose()
    producer = make_producer(settings)
    try:
        producer.send_task(TaskName.DELIVER_WEBHOOK.value, args=[old], queue=QueueName.JOBS.value)
    finally:
        producer.close()
    resent = wait_until(
        lambda: (w := webhook(base, old))["status"] == "delivered" and w,
        60,
        "the delivery sent on the jobs queue",
        [api, worker],
    )
    assert [(d["attempt"], d["status_code"]) for d in resent["deliveries"]] == [(1, 503), (2, 204)]

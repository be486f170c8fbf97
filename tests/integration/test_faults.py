"""Faults production throws at the service, with real processes, Redis and PostgreSQL.

A worker killed with SIGKILL mid-article, Redis restarted without persistence while
jobs wait, PostgreSQL stopped while jobs run: every job must still finish once,
with complete, non-duplicated results. Timings are short (heartbeat 1 s, a worker
is dead after 5 s of silence, the reaper looks every second) so each test takes
tens of seconds. Redis and PostgreSQL are always started again, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from service.contract import QueueName
from service.db import upgrade_database
from service.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from testkit.procs import Proc, free_port
from tests.conftest import REDIS_URL
from tests.integration.conftest import base_env, wait_job, wait_ready, wait_until
from tests.integration.test_end_to_end import TARGETS, article

pytestmark = pytest.mark.integration

BROKER_URL = f"{REDIS_URL}/10"
REDIS_START = os.environ.get(
    "DRAGOMAN_TEST_REDIS_START",
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
)
SHORT = "The talks will resume in Baku on Monday.\n\nNo date was set for the next round."


@pytest.fixture
def fresh_stores(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """The run's PostgreSQL database emptied, and Redis db 10 empty."""
    upgrade_database(postgres_url, tmp_path)
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE jobs, job_translations, workers, translation_cache, tenants, "
                "api_keys, idempotency_keys, webhook_deliveries, usage_counters CASCADE"
            )
        )
    engine.dispose()
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    yield postgres_url
    with contextlib.suppress(redis.RedisError):
        client.flushdb()
    client.close()


def fault_env(
    tmp_path: Path, model: Path, database_url: str, broker: str = BROKER_URL, **extra: str
) -> dict[str, str]:
    return base_env(
        tmp_path / "data",
        model,
        DRAGOMAN_DATABASE_URL=database_url,
        DRAGOMAN_BROKER_URL=broker,
        DRAGOMAN_AUTH="disabled",
        DRAGOMAN_WORKER_HEARTBEAT_SECONDS="1",
        DRAGOMAN_WORKER_STALE_SECONDS="5",
        DRAGOMAN_REAPER_SECONDS="1",
        DRAGOMAN_REAPER_GRACE_SECONDS="3",
        **extra,
    )


def submit(base: str, title: str | None, body: str, **extra: Any) -> str:
    payload = {
        "title": title,
        "text": body,
        "source_language": "en",
        "target_languages": TARGETS,
        "summary": {"sentences": 2},
        "translate": ["title", "summary", "body"] if title else ["summary", "body"],
        **extra,
    }
    response = httpx.post(f"{base}/v1/jobs", json=payload, timeout=30)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def assert_complete(job: dict[str, Any], body: str, database_url: str) -> None:
    """Succeeded, every language once and whole, progress at its total."""
    assert job["status"] == "succeeded", job["error"]
    assert job["error"] is None
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    assert sorted(job["translations"]) == sorted(TARGETS)
    for code, result in job["translations"].items():
        assert result["status"] == "succeeded", (code, result)
        assert result["summary"], code
        assert len(result["body"].split("\n\n")) == len(paragraphs), code
    assert job["progress"]["total"] > 0
    assert job["progress"]["done"] == job["progress"]["total"]
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT language FROM job_translations WHERE job_id = :id"), {"id": job["id"]}
        ).all()
    engine.dispose()
    assert sorted(row.language for row in rows) == sorted(TARGETS)


def get_job(base: str, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=5).json()
    return job


def start_api(spawn: Callable[..., Proc], env: dict[str, str]) -> tuple[Proc, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = spawn("api", ["api", "--port", str(port)], env)
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, 60, "the api", [api])
    return api, base


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A webhook receiver on loopback: its URL and the requests it got."""
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("broker", ["redis", "amqp"])
def test_worker_killed_mid_job_is_finished_by_another(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    tiny_nllb_ct2_dir: Path,
    fresh_stores: str,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
    broker: str,
    request: pytest.FixtureRequest,
) -> None:
    # small batches: the job takes seconds, long enough to be caught halfway
    env = fault_env(
        tmp_path,
        tiny_nllb_ct2_dir,
        fresh_stores,
        BROKER_URL if broker == "redis" else request.getfixturevalue("amqp_url"),
        DRAGOMAN_TRANSLATION_BATCH_SIZE="4",
        DRAGOMAN_ALLOW_PRIVATE_CALLBACKS="true",
    )
    api, base = start_api(spawn, env)
    first = spawn("worker", ["worker", "--concurrency", "1"], env)
    wait_ready(base, [api, first])
    title, body = article()
    url, received = receiver
    job_id = submit(base, title, body, callback_url=url)

    def halfway() -> dict[str, Any] | None:
        job = get_job(base, job_id)
        done, total = job["progress"]["done"], job["progress"]["total"]
        return job if job["status"] == "running" and 0 < done < total else None

    caught = wait_until(halfway, 120, "the job to be halfway", [api, first])
    os.killpg(first.popen.pid, signal.SIGKILL)  # no warm shutdown, no ack, no goodbye
    first.popen.wait(timeout=10)
    assert get_job(base, job_id)["status"] == "running"

    second = spawn("worker", ["worker", "--concurrency", "1"], env)
    done = wait_job(base, job_id, [api, second], timeout=180)

    assert_complete(done, body, fresh_stores)
    assert done["attempts"] == 2, (caught["attempts"], done["attempts"])
    if broker == "redis":
        # Redis would redeliver the unacknowledged message only after its visibility
        # timeout: the reaper put the job back. RabbitMQ redelivers it as soon as the
        # dead worker's connection drops; the second worker claims it from that
        # message once the first one's heartbeat is stale, or the reaper re-queues it.
        assert "re-queued 1 job(s) of dead workers" in second.log.read_text()
    # the finished job is POSTed once, signed with the tenant's secret
    wait_until(lambda: received, 30, "the webhook", [api, second])
    webhook = wait_until(
        lambda: (w := get_job(base, job_id)["webhook"])["status"] == "delivered" and w,
        10,
        "the delivery to be recorded",
    )
    assert [(d["attempt"], d["status_code"]) for d in webhook["deliveries"]] == [(1, 204)]
    assert len(received) == 1
    headers, payload = received[0]
    engine = create_engine(fresh_stores)
    with engine.connect() as connection:
        secret = connection.execute(
            text("SELECT webhook_secret FROM tenants WHERE name = 'local'")
        ).scalar_one()
    engine.dispose()
    timestamp = int(headers[TIMESTAMP_HEADER])
    assert verify_signature(secret, timestamp, payload, headers[SIGNATURE_HEADER], now=time.time())
    sent = json.loads(payload)
    assert sent["id"] == job_id and sent["status"] == "succeeded" and sent["attempts"] == 2


@contextlib.contextmanager
def redis_stopped() -> Iterator[None]:
    """Redis shut down without saving (its data is gone), started again on exit."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(nosave=True)
        wait_until(lambda: not _redis_up(), 20, "redis to stop")
        yield
    finally:
        if not _redis_up():
            subprocess.run(REDIS_START, shell=True, check=True, timeout=30)
        wait_until(_redis_up, 30, "redis to start")
        client.close()


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.ConnectionError:
        return False


def test_redis_restart_loses_no_job(
    spawn: Callable[..., Proc], tmp_path: Path, tiny_nllb_ct2_dir: Path, fresh_stores: str
) -> None:
    if shutil.which("redis-server") is None and "DRAGOMAN_TEST_REDIS_START" not in os.environ:
        pytest.fail(
            "the fault tests restart Redis: install redis-server or set DRAGOMAN_TEST_REDIS_START"
        )
    env = fault_env(tmp_path, tiny_nllb_ct2_dir, fresh_stores)
    api, base = start_api(spawn, env)
    waiting = [submit(base, None, SHORT) for _ in range(4)]
    broker = redis.Redis.from_url(BROKER_URL)
    assert broker.llen(QueueName.JOBS.value) == 4

    with redis_stopped():
        pass
    assert broker.llen(QueueName.JOBS.value) == 0  # the messages are gone, the jobs are not

    worker = spawn("worker", ["worker", "--concurrency", "2"], env)
    for job_id in waiting:
        assert_complete(wait_job(base, job_id, [api, worker], timeout=120), SHORT, fresh_stores)
    # the reaper may find them over more than one sweep; each is re-sent once
    resent = re.findall(r"re-sent (\d+) queued job\(s\) the broker lost", worker.log.read_text())
    assert sum(int(count) for count in resent) == 4, resent

    # Redis goes away under a running worker and the API: both reconnect by themselves
    with redis_stopped():
        time.sleep(1)
    later = [submit(base, None, SHORT) for _ in range(2)]
    for job_id in later:
        job = wait_job(base, job_id, [api, worker], timeout=120)
        assert_complete(job, SHORT, fresh_stores)
        assert job["attempts"] == 1
    broker.close()


@contextlib.contextmanager
def postgres_stopped() -> Iterator[None]:
    """PostgreSQL stopped (fast: sessions are cut), started again on exit."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    try:
        subprocess.run([*command, "stop"], check=True, timeout=60)
        yield
    finally:
        subprocess.run([*command, "start"], check=False, timeout=60)
        wait_until(
            lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0,
            60,
            "postgresql to start",
        )


def test_database_outage_loses_no_job(
    spawn: Callable[..., Proc], tmp_path: Path, tiny_nllb_ct2_dir: Path, fresh_stores: str
) -> None:
    if shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql"):
        pytest.fail("the fault tests stop and start PostgreSQL: they need a local cluster")
    env = fault_env(tmp_path, tiny_nllb_ct2_dir, fresh_stores, DRAGOMAN_TRANSLATION_BATCH_SIZE="8")
    api, base = start_api(spawn, env)
    worker = spawn("worker", ["worker", "--concurrency", "2"], env)
    wait_ready(base, [api, worker])
    title, body = article()
    jobs = [submit(base, title, body) for _ in range(3)]
    wait_until(
        lambda: any(get_job(base, j)["progress"]["done"] > 0 for j in jobs),
        120,
        "a job to make progress",
        [api, worker],
    )

    with postgres_stopped():
        # the API says so, and that it is worth retrying
        for response in (
            httpx.get(f"{base}/v1/jobs/{jobs[0]}", timeout=30),
            httpx.post(f"{base}/v1/jobs", json={"text": SHORT, "target_languages": ["az"]}),
        ):
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "database_unavailable"
        time.sleep(3)

    for job_id in jobs:
        job = wait_job(base, job_id, [api, worker], timeout=180)
        assert_complete(job, body, fresh_stores)
        assert 1 <= job["attempts"] <= 3
    # the worker's threads lived through it: its heartbeat is fresh again
    wait_ready(base, [api, worker], timeout=30)


def test_sigterm_hands_running_jobs_back_and_exits_in_time(
    spawn: Callable[..., Proc],
    tmp_path: Path,
    tiny_nllb_ct2_dir: Path,
    fresh_stores: str,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    bound = 3.0
    env = fault_env(
        tmp_path,
        tiny_nllb_ct2_dir,
        fresh_stores,
        DRAGOMAN_TRANSLATION_BATCH_SIZE="4",
        DRAGOMAN_ALLOW_PRIVATE_CALLBACKS="true",
        DRAGOMAN_WORKER_SHUTDOWN_SECONDS=str(bound),
    )
    api, base = start_api(spawn, env)
    first = spawn("worker", ["worker", "--concurrency", "2"], env)
    wait_ready(base, [api, first])
    title, body = article()
    url, received = receiver
    job_id = submit(base, title, body, callback_url=url)
    wait_until(
        lambda: (
            (j := get_job(base, job_id))["status"] == "running"
            and 0 < j["progress"]["done"] < j["progress"]["total"]
        ),
        120,
        "the job to be halfway",
        [api, first],
    )
    started = time.monotonic()
    first.popen.send_signal(signal.SIGTERM)  # what a deploy or `docker stop` does
    first.popen.wait(timeout=bound + 10)
    took = time.monotonic() - started
    assert took <= bound + 2, f"the worker took {took:.1f}s to stop"
    log = first.log.read_text()
    assert "handed back to the queue (worker stopping)" in log
    handed_back = get_job(base, job_id)
    assert handed_back["status"] == "queued", handed_back["status"]
    assert handed_back["attempts"] == 0  # a hand-back is not a failed try

    second = spawn("worker", ["worker", "--concurrency", "1"], env)
    done = wait_job(base, job_id, [api, second], timeout=180)
    assert_complete(done, body, fresh_stores)
    assert done["attempts"] == 1
    # finished once: one webhook, one delivery
    wait_until(lambda: received, 30, "the webhook", [api, second])
    time.sleep(1)
    assert len(received) == 1
    engine = create_engine(fresh_stores)
    with engine.connect() as connection:
        attempts, handbacks = connection.execute(
            text("SELECT attempts, handbacks FROM jobs WHERE id = :id"), {"id": job_id}
        ).one()
    engine.dispose()
    assert (attempts, handbacks) == (2, 1)

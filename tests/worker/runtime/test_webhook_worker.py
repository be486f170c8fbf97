"""The webhook lane's Celery app beside the jobs' app and the API's producer."""

from __future__ import annotations

from pathlib import Path

import pytest

import worker.runtime.tasks  # noqa: F401  (registers the jobs app's tasks)
from service.contract import QueueName, TaskName
from service.queue import make_producer
from tests.conftest import make_settings
from worker.runtime import webhook_worker
from worker.runtime.celery_app import app as jobs_app


@pytest.fixture
def apps(tmp_path: Path) -> dict[str, object]:
    settings = make_settings(tmp_path / "data", broker_url="amqp://guest:guest@127.0.0.1//")
    return {
        "api": make_producer(settings),
        "jobs": jobs_app,
        "webhooks": webhook_worker.make_app(settings),
    }


def test_tasks_are_routed_to_their_queues(apps: dict[str, object]) -> None:
    producer = apps["api"]
    route = producer.amqp.router.route  # type: ignore[attr-defined]
    assert route({}, TaskName.PROCESS_JOB.value)["queue"].name == QueueName.JOBS.value
    assert route({}, TaskName.DELIVER_WEBHOOK.value)["queue"].name == QueueName.WEBHOOKS.value


def test_each_consumer_takes_its_own_queue(apps: dict[str, object]) -> None:
    lane = apps["webhooks"]
    assert lane.conf.task_default_queue == QueueName.WEBHOOKS.value  # type: ignore[attr-defined]
    assert jobs_app.conf.task_default_queue == QueueName.JOBS.value
    # one function behind the task in both, so a delivery is the same wherever it lands
    lane_task = lane.tasks[TaskName.DELIVER_WEBHOOK.value]  # type: ignore[attr-defined]
    jobs_task = jobs_app.tasks[TaskName.DELIVER_WEBHOOK.value]
    assert lane_task._decorated_fun is jobs_task._decorated_fun is webhook_worker.deliver_webhook
    assert lane_task.acks_late and jobs_task.acks_late


@pytest.mark.parametrize("queue", list(QueueName))
def test_every_side_declares_a_queue_alike_and_without_priorities(
    apps: dict[str, object], queue: QueueName
) -> None:
    # RabbitMQ refuses (PRECONDITION_FAILED) a declaration whose arguments differ from
    # the queue's, and honours message priorities only on a queue declared with
    # x-max-priority; Dragoman uses separate queues instead of priorities.
    declared = []
    for name, app in apps.items():
        q = app.amqp.queues[queue.value]  # type: ignore[attr-defined]
        assert not (q.queue_arguments or {}).get("x-max-priority"), name
        assert app.conf.task_default_priority is None, name  # type: ignore[attr-defined]
        declared.append(
            (q.name, q.durable, q.auto_delete, q.exchange.name, q.exchange.type, q.routing_key,
             q.queue_arguments)
        )  # fmt: skip
    assert len(set(map(repr, declared))) == 1, declared

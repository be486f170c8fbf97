"""Celery task events (for Flower): on with a server broker, off with the embedded one."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.queue import celery_config
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("broker", "events", "sent"),
    [
        ("redis://127.0.0.1:6379/0", "auto", True),
        ("amqp://guest:guest@127.0.0.1:5672//", "auto", True),
        ("", "auto", False),  # nobody would empty the embedded broker's fanout queues
        ("", "on", True),
        ("redis://127.0.0.1:6379/0", "off", False),
    ],
)
def test_task_events_follow_the_setting(
    tmp_path: Path, broker: str, events: str, sent: bool
) -> None:
    config = celery_config(make_settings(tmp_path, broker_url=broker, task_events=events))
    assert config["worker_send_task_events"] is sent
    assert config["task_send_sent_event"] is sent


def test_an_unknown_value_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="task_events"):
        make_settings(tmp_path, task_events="sometimes")

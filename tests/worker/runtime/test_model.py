"""The worker's model loader: pull when needed, describe, load, report, and fail clearly."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.db import Database, upgrade_database
from service.errors import ModelUnavailable
from tests.conftest import make_settings
from tests.fixtures.fake_hub import NLLB, NLLB_CARD, FakeHub, serve_hub
from worker.models.pull import needs_pull
from worker.models.store import resolve
from worker.pipeline import translate as translation
from worker.pipeline.context import WorkerContext
from worker.runtime import model
from worker.runtime.context import wait_for_model
from worker.runtime.model import ModelLoader, ModelState


@pytest.fixture
def installed_loader() -> Iterator[None]:
    yield
    model.install(None)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hub_at(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    """Point huggingface_hub at a URL, with offline mode lifted (as a real worker has it)."""
    from huggingface_hub import constants

    def point(url: str) -> None:
        monkeypatch.setattr(constants, "ENDPOINT", url)
        monkeypatch.setattr(
            constants,
            "HUGGINGFACE_CO_URL_TEMPLATE",
            url + "/{repo_id}/resolve/{revision}/{filename}",
        )
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "token"))
        for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
            monkeypatch.delenv(name, raising=False)

    yield point


def test_a_local_model_is_described_and_loaded(tmp_path: Path, tiny_nllb_ct2_dir: Path) -> None:
    settings = make_settings(tmp_path, translation_model=str(tiny_nllb_ct2_dir))
    loader = ModelLoader(settings)
    assert loader.report().state is ModelState.PENDING
    loader.run()
    report = loader.report()
    assert report.state is ModelState.READY, report.error
    assert {"az", "fa", "hy", "en"} <= set(report.languages or [])
    info = report.info
    assert (info["engine"], info["device"], info["path"]) == (
        "ctranslate2",
        "cpu",
        str(tiny_nllb_ct2_dir),
    )
    # what the engine runs with, for the log and /readyz
    assert info["compute_type"] == "int8" and info["max_batch_tokens"] == 4096
    assert loader.wait(0) is True
    loader.check_pulled()


def test_a_missing_model_is_reported_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    loader = ModelLoader(make_settings(tmp_path, translation_model=str(missing)))
    loader.run()
    report = loader.report()
    assert report.state is ModelState.UNAVAILABLE
    assert str(missing) in (report.error or "")


def test_only_missing_hub_ids_run_by_ctranslate2_are_pulled(
    tmp_path: Path, tiny_nllb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    store = tmp_path / "models"
    assert needs_pull(NLLB, "auto", store, enabled=True)
    assert needs_pull(NLLB, "ctranslate2", store, enabled=True)
    assert not needs_pull(NLLB, "auto", store, enabled=False)
    assert not needs_pull(NLLB, "transformers", store, enabled=True)
    assert not needs_pull(str(tiny_nllb_dir), "auto", store, enabled=True)
    assert not needs_pull("./nllb", "auto", store, enabled=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not needs_pull(NLLB, "auto", store, enabled=True)


def test_a_missing_hub_model_is_pulled_then_loaded(
    tmp_path: Path, tiny_nllb_dir: Path, hub_at: object, caplog: pytest.LogCaptureFixture
) -> None:
    hub = FakeHub()
    hub.add(NLLB, tiny_nllb_dir, NLLB_CARD)
    settings = make_settings(tmp_path, translation_model=NLLB)
    with serve_hub(hub):
        hub_at(hub.url)  # type: ignore[operator]
        caplog.set_level("INFO", logger="dragoman.models")
        loader = ModelLoader(settings)
        loader.run()
    report = loader.report()
    assert report.state is ModelState.READY, report.error
    assert report.info["engine"] == "ctranslate2"
    assert resolve(NLLB, settings.effective_models_dir) is not None
    log = caplog.text
    assert "pulling it from the Hugging Face Hub" in log
    assert "% of" in log  # progress lines, the log not being a terminal
    assert "forbids commercial use" in log  # NLLB's CC-BY-NC licence is spelt out


def test_a_failed_pull_fails_jobs_at_once(
    tmp_path: Path, hub_at: object, installed_loader: None
) -> None:
    hub_at(f"http://127.0.0.1:{_closed_port()}")  # type: ignore[operator]
    settings = make_settings(tmp_path, translation_model=NLLB)
    settings.ensure_dirs()
    loader = ModelLoader(settings)
    loader.run()
    report = loader.report()
    assert report.state is ModelState.UNAVAILABLE
    assert f"Cannot download model '{NLLB}'" in (report.error or "")
    with pytest.raises(ModelUnavailable, match="Cannot download"):
        loader.check_pulled()
    model.install(loader)
    upgrade_database(settings.effective_database_url, settings.data_dir)
    ctx = WorkerContext(
        settings=settings,
        db=Database(settings.effective_database_url),
        pid=os.getpid(),
        wait_for_model=wait_for_model,  # what the worker's runtime gives its jobs
    )
    try:
        with pytest.raises(ModelUnavailable, match="Cannot download"):
            translation.load_translator(ctx)
    finally:
        ctx.close()

"""Which engine runs the configured model, and the engines' registrations."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.errors import ModelUnavailable
from service.settings import Settings
from tests.conftest import make_settings
from worker.models.backends import BACKENDS, model_languages, resolve


def resolve_model(settings: Settings) -> tuple[str, str]:
    name, backend = resolve(settings)
    return name, backend.name


def test_backend_is_chosen_by_what_the_model_is(
    tiny_nllb_dir: Path, tiny_nllb_ct2_dir: Path, tmp_path: Path
) -> None:
    assert resolve_model(make_settings(tmp_path, translation_model=str(tiny_nllb_ct2_dir))) == (
        str(tiny_nllb_ct2_dir),
        "ctranslate2",
    )
    assert resolve_model(make_settings(tmp_path, translation_model=str(tiny_nllb_dir)))[1] == (
        "transformers"
    )
    # a Hub id installed by `dragoman models pull` runs from the model store
    hub_id = "facebook/nllb-200-distilled-600M"
    installed = tmp_path / "models" / "facebook--nllb-200-distilled-600M"
    shutil.copytree(tiny_nllb_ct2_dir, installed)
    settings = make_settings(tmp_path, translation_model=hub_id)
    assert resolve_model(settings) == (str(installed), "ctranslate2")
    assert {"az", "fa", "hy"} <= set(model_languages(settings))
    forced = make_settings(tmp_path, translation_model=hub_id, translation_backend="transformers")
    assert resolve_model(forced) == (hub_id, "transformers")


def test_every_engine_is_registered_once_under_its_name() -> None:
    assert sorted(BACKENDS) == ["ctranslate2", "echo", "transformers"]
    assert all(name == backend.name for name, backend in BACKENDS.items())


def test_an_unknown_backend_is_refused_with_the_choices(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, translation_backend="marian-cpp")
    with pytest.raises(ModelUnavailable, match="ctranslate2, echo, transformers"):
        resolve(settings)


def test_auto_prefers_transformers_only_where_pytorch_has_the_gpu_ctranslate2_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.engines import device
    from worker.models import backends

    settings = make_settings(tmp_path, translation_model="facebook/nllb-200-distilled-600M")
    # This machine as it is: no GPU, so the choice stays as the settings say.
    if not device.gpu_present():
        assert not backends.gpu_needs_transformers(settings)
        assert backends.backend_choice(settings) == "auto"
    # A CUDA 13 machine: PyTorch sees the GPU, CTranslate2's wheels do not.
    monkeypatch.setattr(device, "gpu_present", lambda: True)
    monkeypatch.setattr(device, "ctranslate2_has_cuda", lambda: False)
    monkeypatch.setattr(device, "torch_device", lambda requested: "cuda")
    assert backends.gpu_needs_transformers(settings)
    assert backends.backend_choice(settings) == "transformers"
    assert resolve(settings)[1].name == "transformers"
    assert not backends.gpu_needs_transformers(make_settings(tmp_path, device="cpu"))
    # Where CTranslate2 has CUDA too, auto keeps CTranslate2's choice.
    monkeypatch.setattr(device, "ctranslate2_has_cuda", lambda: True)
    assert backends.backend_choice(settings) == "auto"


def test_a_device_name_is_checked_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="device"):
        make_settings(tmp_path, device="gpu0")

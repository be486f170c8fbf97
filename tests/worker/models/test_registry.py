"""The per-process model registry."""

from __future__ import annotations

import os
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from service.errors import ModelUnavailable
from worker.engines.hf import TransformersTranslator
from worker.models import registry as registry_module
from worker.models.registry import ModelRegistry, registry


class Loaded:
    """What the counting loader returns."""

    def __init__(self, name: str, device: str, **options: Any) -> None:
        self.name, self.device, self.options = name, device, options


def counting_loader(calls: list[str], delay: float = 0.0) -> Any:
    def load(name: str, device: str, **options: Any) -> Loaded:
        calls.append(name)
        time.sleep(delay)
        return Loaded(name, device, **options)

    return load


def test_translator_is_loaded_once(tiny_nllb_dir: Path) -> None:
    models = ModelRegistry()
    first = models.get_translator(str(tiny_nllb_dir))
    assert isinstance(first, TransformersTranslator)
    assert models.get_translator(str(tiny_nllb_dir)) is first
    assert models.get_translator(str(tiny_nllb_dir), "transformers", "cpu") is first
    # Different load options are a different model object.
    assert models.get_translator(str(tiny_nllb_dir), batch_size=4) is not first
    assert len(models.loaded()) == 2


def test_failed_load_is_not_cached(tiny_nllb_dir: Path, tmp_path: Path) -> None:
    models = ModelRegistry()
    later = tmp_path / "downloaded-later"
    with pytest.raises(ModelUnavailable):
        models.get_translator(str(later))
    assert models.loaded() == []
    # The operator downloads the model; the next request loads it.
    shutil.copytree(tiny_nllb_dir, later)
    translator = models.get_translator(str(later))
    assert "hy" in translator.languages()


def test_concurrent_requests_load_once() -> None:
    calls: list[str] = []
    models = ModelRegistry()
    models.register_loader("translator", "counting", counting_loader(calls, delay=0.2))
    results: list[Any] = []

    def worker() -> None:
        results.append(models.get_translator("m", backend="counting"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["m"]
    assert len(results) == 8 and all(result is results[0] for result in results)


def test_keys_include_device_and_backend() -> None:
    calls: list[str] = []
    models = ModelRegistry()
    models.register_loader("translator", "counting", counting_loader(calls))
    models.register_loader("translator", "other", counting_loader(calls))
    cpu = models.get_translator("m", backend="counting", device="cpu")
    cuda = models.get_translator("m", backend="counting", device="cuda")
    other = models.get_translator("m", backend="other", device="cpu")
    assert len({id(cpu), id(cuda), id(other)}) == 3
    assert cuda.device == "cuda"


def test_summarizer_loaders_are_separate_from_translators() -> None:
    calls: list[str] = []
    models = ModelRegistry()
    models.register_loader("summarizer", "counting", counting_loader(calls))
    summarizer = models.get_summarizer("s", device="cpu", backend="counting")
    assert isinstance(summarizer, Loaded)
    with pytest.raises(ModelUnavailable, match="No translator backend named 'counting'"):
        models.get_translator("s", backend="counting")


def test_default_summarizer_loader_reports_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable):
        ModelRegistry().get_summarizer(str(tmp_path / "no-summarizer"))


def test_unknown_backend() -> None:
    models = ModelRegistry()
    with pytest.raises(ModelUnavailable) as info:
        models.get_translator("facebook/nllb-200-distilled-600M", backend="onnx")
    assert "onnx" in info.value.message
    assert "transformers" in info.value.message
    assert models.backends("translator") == ["ctranslate2", "echo", "transformers"]


def test_registry_is_a_per_process_singleton() -> None:
    assert registry() is registry()


def _in_child(check: Any) -> bool:
    """Run ``check()`` in a forked child; return its boolean result."""
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a multi-threaded process; the child below
        # touches no threads or models.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            ok = bool(check())
        except BaseException:
            ok = False
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    return answer == b"1"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_registry_is_not_inherited_across_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    # A singleton of this test's own, so its loader does not leak into other tests.
    monkeypatch.setattr(registry_module, "_registry", None)
    calls: list[str] = []
    parent = registry()
    parent.register_loader("translator", "counting", counting_loader(calls))
    parent_model = parent.get_translator("m", backend="counting")

    def child_check() -> bool:
        child = registry()
        # The parent's instance, used in the child, forgets what the parent loaded.
        return child is not parent and parent.loaded() == [] and child.loaded() == []

    assert _in_child(child_check)
    # The parent keeps its registry and its models.
    assert registry() is parent
    assert parent.get_translator("m", backend="counting") is parent_model
    assert calls == ["m"]

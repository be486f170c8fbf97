"""The model store: pulling through a fake Hugging Face Hub, listing, resolving, the CLI.

The fake hub (``tests/fixtures/fake_hub.py``) serves the tiny test checkpoints the way
huggingface.co serves models; the real download code runs against it, nothing reaches
the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.errors import InvalidInput, ModelUnavailable
from service.settings import get_settings
from tests.fixtures.fake_hub import (
    GATED,
    M2M100,
    M2M100_CARD,
    NLLB,
    NLLB_CARD,
    FakeHub,
    serve_hub,
)
from worker.cli.models import human_size, models_app
from worker.engines.convert import METADATA_FILE, is_ctranslate2_dir
from worker.models.pull import needs_pull, pull
from worker.models.store import installed, licence_note, resolve, store_path


def leftovers(models_dir: Path) -> list[Path]:
    """What a pull left in the store, besides the lock files that serialise pulls."""
    return [p for p in models_dir.iterdir() if p.name != ".locks"]


@pytest.fixture(scope="module")
def fake_hub(tiny_nllb_dir: Path, tiny_m2m100_dir: Path) -> Iterator[FakeHub]:
    hub = FakeHub()
    hub.add(NLLB, tiny_nllb_dir, NLLB_CARD)
    hub.add(M2M100, tiny_m2m100_dir, M2M100_CARD)
    hub.add(GATED, tiny_nllb_dir, NLLB_CARD, gated=True)
    with serve_hub(hub):
        yield hub


@pytest.fixture(scope="module")
def online(fake_hub: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeHub]:
    """huggingface_hub pointed at the fake hub, with offline mode lifted for this module.

    huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE once at import, so the
    constants it derived from them are patched as well as the variables.
    """
    from huggingface_hub import constants

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_ENDPOINT", fake_hub.url)
        mp.setattr(constants, "ENDPOINT", fake_hub.url)
        mp.setattr(
            constants,
            "HUGGINGFACE_CO_URL_TEMPLATE",
            fake_hub.url + "/{repo_id}/resolve/{revision}/{filename}",
        )
        mp.delenv("HF_HUB_OFFLINE", raising=False)
        mp.setattr(constants, "HF_HUB_OFFLINE", False)
        # No token of the machine's user travels to the fake hub.
        for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
            mp.delenv(name, raising=False)
        mp.setattr(constants, "HF_TOKEN_PATH", str(tmp_path_factory.mktemp("hf") / "token"))
        yield fake_hub


@pytest.fixture(scope="module")
def nllb_store(online: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store into which the tiny NLLB model was pulled from the fake hub."""
    models_dir = tmp_path_factory.mktemp("store")
    pull(NLLB, models_dir, progress=False)
    return models_dir


@pytest.fixture
def models_dir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty store that the CLI finds through DRAGOMAN_MODELS_DIR."""
    models_dir = tmp_path / "models"
    monkeypatch.setenv("DRAGOMAN_MODELS_DIR", str(models_dir))
    get_settings.cache_clear()
    yield models_dir
    get_settings.cache_clear()


# --- names -----------------------------------------------------------------------------


def test_store_path_maps_hub_ids_to_folders(tmp_path: Path) -> None:
    assert store_path(tmp_path, NLLB) == tmp_path / "facebook--nllb-200-distilled-600M"
    assert store_path(tmp_path, "t5-small") == tmp_path / "t5-small"


@pytest.mark.parametrize(
    "name",
    ["../etc", "facebook/../../etc", "/etc/passwd", "a/b/c", "..", "a--b/c", "", "a b/c"],
)
def test_store_refuses_names_that_are_not_hub_ids(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="not a Hugging Face model id"):
        store_path(tmp_path, name)
    assert resolve(name, tmp_path) is None


def test_pull_refuses_a_traversal_name_before_any_request(online: FakeHub, tmp_path: Path) -> None:
    before = len(online.requests)
    with pytest.raises(InvalidInput):
        pull("../../outside", tmp_path / "models", progress=False)
    assert len(online.requests) == before
    assert not (tmp_path / "outside").exists()


def test_pull_refuses_an_unknown_quantization_before_any_request(
    online: FakeHub, tmp_path: Path
) -> None:
    before = len(online.requests)
    with pytest.raises(InvalidInput, match="int8"):
        pull(NLLB, tmp_path, quantization="int3", progress=False)
    assert len(online.requests) == before


# --- pulling ---------------------------------------------------------------------------


def test_pull_installs_a_ctranslate2_model(nllb_store: Path, online: FakeHub) -> None:
    path = nllb_store / "facebook--nllb-200-distilled-600M"
    assert is_ctranslate2_dir(path)
    for name in ("model.bin", "sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json"):
        assert (path / name).is_file(), name
    meta = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    assert meta["source"] == NLLB
    assert meta["revision"] == online.repos[NLLB].sha
    assert meta["licence"] == "cc-by-nc-4.0"
    assert meta["quantization"] == "int8"
    assert {"az", "azb", "fa", "hy", "en"} <= set(meta["languages"])
    assert len(meta["languages"]) == 202
    assert datetime.fromisoformat(meta["pulled_at"]).tzinfo is not None
    # The temporary download is gone; only the model folder remains (and the pull lock).
    assert sorted(p.name for p in nllb_store.iterdir()) == [".locks", path.name]


def test_pull_fetches_only_what_the_conversion_needs(nllb_store: Path, online: FakeHub) -> None:
    assert online.fetched(NLLB) == {
        "README.md",
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "sentencepiece.bpe.model",
        "tokenizer.json",
        "tokenizer_config.json",
    }


def test_installed_lists_the_pulled_model(nllb_store: Path, online: FakeHub) -> None:
    (model,) = installed(nllb_store)
    path = nllb_store / "facebook--nllb-200-distilled-600M"
    assert model.name == NLLB
    assert model.path == path
    assert model.size_bytes == sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    assert model.size_bytes > (path / "model.bin").stat().st_size > 0
    assert model.licence == "cc-by-nc-4.0"
    assert model.quantization == "int8"
    assert model.source == NLLB
    assert model.revision == online.repos[NLLB].sha
    assert "hy" in model.languages


def test_resolve_finds_installed_models_only(nllb_store: Path) -> None:
    assert resolve(NLLB, nllb_store) == nllb_store / "facebook--nllb-200-distilled-600M"
    assert resolve(M2M100, nllb_store) is None
    assert resolve(NLLB, nllb_store / "missing") is None


def test_installed_on_an_empty_or_missing_store(tmp_path: Path) -> None:
    assert installed(tmp_path / "missing") == []
    (tmp_path / ".pull-leftover").mkdir()  # an interrupted pull is not a model
    (tmp_path / "not-a-model").mkdir()
    assert installed(tmp_path) == []


def test_pulled_model_translates_with_ctranslate2(nllb_store: Path) -> None:
    import ctranslate2
    from transformers import AutoTokenizer

    path = resolve(NLLB, nllb_store)
    assert path is not None
    tokenizer = AutoTokenizer.from_pretrained(str(path), src_lang="eng_Latn")
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("Armenia and Azerbaijan.").input_ids)
    assert tokens[0] == "eng_Latn" and tokens[-1] == "</s>"
    translator = ctranslate2.Translator(str(path), device="cpu", compute_type="int8")
    (result,) = translator.translate_batch(
        [tokens], target_prefix=[["hye_Armn"]], max_decoding_length=8
    )
    hypothesis = result.hypotheses[0]
    assert hypothesis[0] == "hye_Armn"
    assert len(hypothesis) > 1
    vocabulary = set(tokenizer.get_vocab())
    assert set(hypothesis) <= vocabulary


def test_pull_m2m100_records_its_mit_licence(online: FakeHub, tmp_path: Path) -> None:
    model = pull(M2M100, tmp_path, quantization="float32", progress=False)
    assert model.name == M2M100
    assert model.licence == "mit"
    assert licence_note(model.licence) is None
    assert model.quantization == "float32"
    assert len(model.languages) == 100
    assert {"az", "fa", "hy"} <= set(model.languages)
    assert online.fetched(M2M100) >= {"vocab.json", "sentencepiece.bpe.model", "model.safetensors"}
    assert "pytorch_model.bin" not in online.fetched(M2M100)


def test_pull_pins_an_explicit_revision(online: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="no revision 'v9'"):
        pull(M2M100, tmp_path, revision="v9", progress=False)
    sha = online.repos[M2M100].sha
    assert pull(M2M100, tmp_path, revision=sha, progress=False).revision == sha


# --- failures --------------------------------------------------------------------------


def test_pull_converts_a_checkpoint_already_in_the_local_cache(
    online: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants, snapshot_download

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    snapshot_download(NLLB, cache_dir=cache)  # what `huggingface-cli download` leaves
    # from now on the Hub is out of reach: the pull must not need it
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert needs_pull(NLLB, "auto", tmp_path / "models", enabled=True)
    before = len(online.requests)
    model = pull(NLLB, tmp_path / "models", progress=False)
    assert len(online.requests) == before
    assert model.revision == online.repos[NLLB].sha
    assert model.licence == "cc-by-nc-4.0"
    assert is_ctranslate2_dir(model.path)
    assert not needs_pull(NLLB, "auto", tmp_path / "models", enabled=True)
    assert not needs_pull(M2M100, "auto", tmp_path / "models", enabled=True)  # offline, uncached


def test_missing_repo_is_model_unavailable(online: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="facebook/no-such-model.*not found") as info:
        pull("facebook/no-such-model", tmp_path, progress=False)
    assert info.value.details == {"model": "facebook/no-such-model"}
    assert leftovers(tmp_path) == []  # no model folder, no leftover download


def test_gated_repo_is_model_unavailable(online: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="gated.*HF_TOKEN"):
        pull(GATED, tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_offline_mode_is_model_unavailable_without_a_request(
    online: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    before = len(online.requests)
    with pytest.raises(ModelUnavailable, match="offline mode.*HF_HUB_OFFLINE") as info:
        pull(NLLB, tmp_path, progress=False)
    assert NLLB in info.value.message
    assert len(online.requests) == before


def test_unreachable_hub_is_model_unavailable(
    online: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from huggingface_hub import constants

    with socket.socket() as sock:  # a port nobody listens on once the socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(ModelUnavailable, match=f"Cannot download model '{NLLB}'"):
        pull(NLLB, tmp_path, progress=False)


# --- licences and the CLI --------------------------------------------------------------


@pytest.mark.parametrize("licence", ["cc-by-nc-4.0", "CC-BY-NC-SA-4.0", "cc-by-nc-nd-3.0"])
def test_non_commercial_licences_get_a_warning(licence: str) -> None:
    note = licence_note(licence)
    assert note is not None and "commercial" in note and licence in note


@pytest.mark.parametrize("licence", [None, "", "mit", "apache-2.0", "cc-by-4.0", "cc-by-sa-4.0"])
def test_other_licences_get_no_warning(licence: str | None) -> None:
    assert licence_note(licence) is None


def test_human_size() -> None:
    assert human_size(512) == "512 B"
    assert human_size(1_536) == "1.5 KB"
    assert human_size(623_400_000) == "623.4 MB"
    assert human_size(2_460_000_000) == "2.5 GB"


def test_cli_pull_and_list(online: FakeHub, models_dir_env: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(models_app, ["pull", NLLB])
    assert result.exit_code == 0, result.output
    assert f"installed {NLLB} in {models_dir_env / 'facebook--nllb-200-distilled-600M'}" in (
        result.stdout
    )
    assert "202 languages" in result.stdout
    assert "licence: cc-by-nc-4.0" in result.stdout
    assert "forbids commercial use" in result.stdout
    assert f"DRAGOMAN_TRANSLATION_MODEL={NLLB}" in result.stdout

    listing = runner.invoke(models_app, ["list"])
    assert listing.exit_code == 0, listing.output
    (row,) = [line for line in listing.stdout.splitlines() if NLLB in line]
    assert "cc-by-nc-4.0 (non-commercial)" in row
    (model,) = installed(models_dir_env)
    assert f" {human_size(model.size_bytes)} " in row
    assert " 202 " in row and " int8 " in row


def test_cli_list_of_an_empty_store_says_how_to_pull(models_dir_env: Path) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(models_app, ["list"])
    assert result.exit_code == 0
    assert "no models in" in result.stdout
    assert "dragoman models pull" in result.stdout


def test_cli_pull_of_a_missing_model_fails_cleanly(online: FakeHub, models_dir_env: Path) -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(models_app, ["pull", "nobody/nothing"])
    assert result.exit_code == 1
    assert "'nobody/nothing' was not found" in result.stderr
    assert "Traceback" not in result.output
    assert not models_dir_env.exists() or leftovers(models_dir_env) == []

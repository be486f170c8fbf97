"""The model store: pulling through a fake Hugging Face Hub, listing, resolving, the CLI.

The fake hub is a small HTTP server that answers the requests huggingface_hub 2.x makes
for ``HfApi.model_info`` and ``snapshot_download`` (model info, recursive tree listing,
``HEAD``/``GET`` of ``/{repo}/resolve/{commit}/{file}``), serving the tiny test
checkpoints. The real download code runs against it over plain HTTP; nothing reaches the
network.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from typer.testing import CliRunner

from service.errors import InvalidInput, ModelUnavailable
from service.settings import get_settings
from worker.cli_models import human_size, models_app
from worker.engines.convert import METADATA_FILE, is_ctranslate2_dir
from worker.model_store import installed, licence_note, pull, resolve, store_path

NLLB = "facebook/nllb-200-distilled-600M"
M2M100 = "facebook/m2m100_418M"
GATED = "meta-llama/gated-translator"
NLLB_CARD = "---\nlanguage:\n- az\n- fa\n- hy\nlicense: cc-by-nc-4.0\n---\n\n# NLLB-200\n"
M2M100_CARD = "---\nlicense: mit\n---\n\n# M2M100 418M\n"
# Files the real repositories also hold that a pull must not fetch.
UNWANTED = {
    ".gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n",
    "pytorch_model.bin": b"a pickle the pull must skip when safetensors exist",
    "onnx/model.safetensors": b"an export in a sub-folder",
}


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    sha: str
    gated: bool = False


@dataclass
class FakeHub:
    """Model repositories served the way huggingface.co serves them, and a request log."""

    repos: dict[str, FakeRepo] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def add(self, repo_id: str, checkpoint: Path, card: str, *, gated: bool = False) -> None:
        files = {p.name: p.read_bytes() for p in sorted(checkpoint.iterdir()) if p.is_file()}
        files.update(UNWANTED)
        files["README.md"] = card.encode()
        sha = hashlib.sha1(repo_id.encode()).hexdigest()
        self.repos[repo_id] = FakeRepo(files, sha, gated)

    def fetched(self, repo_id: str) -> set[str]:
        """Files of ``repo_id`` whose content was downloaded (``GET .../resolve/...``)."""
        prefix = f"/{repo_id}/resolve/"
        return {
            path[len(prefix) :].split("/", 1)[1]
            for method, path in self.requests
            if method == "GET" and path.startswith(prefix)
        }


class _HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as huggingface_hub's client expects
    hub: FakeHub

    def do_GET(self) -> None:
        self._route(send_body=True)

    def do_HEAD(self) -> None:
        self._route(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _route(self, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        self.hub.requests.append((self.command, path))
        if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)", path):
            self._tree(m[1], m[2], send_body)
        elif m := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path):
            self._info(m[1], m[2] or "main", send_body)
        elif m := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
            self._file(m[1], m[2], m[3], send_body)
        else:
            self._error(404, "EntryNotFound", "Not found", send_body)

    def _repo(self, repo_id: str, revision: str, send_body: bool) -> FakeRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found", send_body)
        elif revision not in ("main", repo.sha):
            self._error(404, "RevisionNotFound", "Invalid rev id", send_body)
        else:
            return repo
        return None

    def _info(self, repo_id: str, revision: str, send_body: bool) -> None:
        if repo := self._repo(repo_id, revision, send_body):
            self._json(
                {
                    "_id": repo.sha[:24],
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": repo.sha,
                    "private": False,
                    "gated": "auto" if repo.gated else False,
                    "disabled": False,
                    "library_name": "transformers",
                    "tags": ["transformers", "safetensors", "m2m_100", "translation"],
                    "siblings": [{"rfilename": name} for name in sorted(repo.files)],
                },
                send_body,
            )

    def _tree(self, repo_id: str, revision: str, send_body: bool) -> None:
        if repo := self._repo(repo_id, revision, send_body):
            entries: list[dict[str, Any]] = [
                {
                    "type": "directory",
                    "oid": hashlib.sha1(b"onnx").hexdigest(),
                    "size": 0,
                    "path": "onnx",
                }
            ]
            entries += [
                {"type": "file", "oid": _oid(data), "size": len(data), "path": name}
                for name, data in sorted(repo.files.items())
            ]
            self._json(entries, send_body)

    def _file(self, repo_id: str, revision: str, name: str, send_body: bool) -> None:
        repo = self._repo(repo_id, revision, send_body)
        if repo is None:
            return
        if repo.gated:
            self._error(401, "GatedRepo", "Access to this model is restricted", send_body)
            return
        data = repo.files.get(name)
        if data is None:
            self._error(404, "EntryNotFound", "Entry not found", send_body)
            return
        # What huggingface_hub reads from a HEAD: the commit, an ETag and the size. No
        # X-Xet-Hash header, so it downloads with a plain GET rather than through Xet.
        self._send(
            200,
            data,
            "application/octet-stream",
            {"X-Repo-Commit": repo.sha, "ETag": f'"{_oid(data)}"'},
            send_body,
        )

    def _json(self, payload: Any, send_body: bool) -> None:
        self._send(200, json.dumps(payload).encode(), "application/json", {}, send_body)

    def _error(self, status: int, code: str, message: str, send_body: bool) -> None:
        body = json.dumps({"error": message}).encode()
        headers = {"X-Error-Code": code, "X-Error-Message": message}
        self._send(status, body, "application/json", headers, send_body)

    def _send(
        self, status: int, body: bytes, kind: str, headers: dict[str, str], send_body: bool
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def _oid(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


@pytest.fixture(scope="module")
def fake_hub(tiny_nllb_dir: Path, tiny_m2m100_dir: Path) -> Iterator[FakeHub]:
    hub = FakeHub()
    hub.add(NLLB, tiny_nllb_dir, NLLB_CARD)
    hub.add(M2M100, tiny_m2m100_dir, M2M100_CARD)
    hub.add(GATED, tiny_nllb_dir, NLLB_CARD, gated=True)
    handler = type("Handler", (_HubHandler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # huggingface_hub keeps connections open; do not wait for their threads at shutdown.
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
    # The temporary download is gone; only the model folder remains.
    assert [p.name for p in nllb_store.iterdir()] == [path.name]


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


def test_missing_repo_is_model_unavailable(online: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="facebook/no-such-model.*not found") as info:
        pull("facebook/no-such-model", tmp_path, progress=False)
    assert info.value.details == {"model": "facebook/no-such-model"}
    assert list(tmp_path.iterdir()) == []  # no model folder, no leftover download


def test_gated_repo_is_model_unavailable(online: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="gated.*HF_TOKEN"):
        pull(GATED, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


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
    assert not models_dir_env.exists() or list(models_dir_env.iterdir()) == []

"""Random-weight NLLB checkpoints with a real model's shape, built once and cached.

The benchmark needs the cost of NLLB-200-distilled-600M without downloading it: same
dimensions, same vocabulary size, same on-disk format (``config.json`` with
``model_type`` ``m2m_100``, safetensors, ``sentencepiece.bpe.model`` and an
``NllbTokenizer`` with the 202 language codes). The tokenizer is the test fixtures'
(trained on ``testkit/corpus``); CTranslate2's converter pads the vocabulary with
filler tokens up to the model's 256206 rows, so the output projection costs what the
real one does.

Builds live in ``bench/.cache/<shape hash>/`` with ``hf/`` (transformers) and ``ct2/``
(CTranslate2) folders and a ``done`` marker written last, so an interrupted build is
redone and a finished one is reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger("bench.model")

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
# Bump when the builder changes in a way that alters the built files.
BUILD_VERSION = 1


@dataclass(frozen=True)
class ModelShape:
    """Dimensions of an M2M100/NLLB model and of its tokenizer."""

    name: str
    dims: dict[str, int] = field(hash=False)
    model_vocab_size: int
    spm_vocab_size: int = 1500
    seed: int = 0

    def key(self) -> str:
        """A short hash of everything that changes the built files."""
        facts = {**asdict(self), "build_version": BUILD_VERSION}
        facts.pop("name")
        blob = json.dumps(facts, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


NLLB_600M = ModelShape(
    name="nllb-200-distilled-600M shape",
    dims={
        "d_model": 1024,
        "encoder_layers": 12,
        "decoder_layers": 12,
        "encoder_attention_heads": 16,
        "decoder_attention_heads": 16,
        "encoder_ffn_dim": 4096,
        "decoder_ffn_dim": 4096,
    },
    model_vocab_size=256206,
    # The most pieces the fixture corpus supports: English then splits into about as
    # many tokens per word as NLLB's real 256k-piece model gives.
    spm_vocab_size=8000,
)

# NLLB-200 3.3B's shape (the GPU benchmark's larger model; never converted for CPU).
NLLB_3B3 = ModelShape(
    name="nllb-200-3.3B shape",
    dims={
        "d_model": 2048,
        "encoder_layers": 24,
        "decoder_layers": 24,
        "encoder_attention_heads": 16,
        "decoder_attention_heads": 16,
        "encoder_ffn_dim": 8192,
        "decoder_ffn_dim": 8192,
    },
    model_vocab_size=256206,
    spm_vocab_size=8000,
)

# Small enough to build, convert and run in seconds: for checking the benchmark itself.
QUICK = ModelShape(
    name="quick check shape",
    dims={
        "d_model": 128,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        "encoder_ffn_dim": 256,
        "decoder_ffn_dim": 256,
    },
    model_vocab_size=8000,
)


def parameter_count(hf_dir: Path) -> int:
    """Parameters stored in the checkpoint, read from the safetensors header only."""
    from safetensors import safe_open

    total = 0
    with safe_open(str(hf_dir / "model.safetensors"), framework="np") as weights:
        for name in weights.keys():  # noqa: SIM118 - safe_open has no __iter__
            size = 1
            for dim in weights.get_slice(name).get_shape():
                size *= dim
            total += size
    return total


@dataclass(frozen=True)
class BuiltModel:
    """Where a built shape lives: the transformers and the CTranslate2 folders."""

    shape: ModelShape
    hf_dir: Path
    ct2_dir: Path
    reused: bool


def ensure_model(shape: ModelShape, cache_dir: Path = CACHE_DIR) -> BuiltModel:
    """Build and convert ``shape`` unless a finished build is cached; return its folders."""
    root = cache_dir / shape.key()
    hf_dir, ct2_dir, done = root / "hf", root / "ct2", root / "done"
    if done.is_file():
        return BuiltModel(shape, hf_dir, ct2_dir, reused=True)
    if root.exists():
        shutil.rmtree(root)  # an interrupted build: start over
    root.mkdir(parents=True)
    build_hf(shape, hf_dir)
    convert(shape, hf_dir, ct2_dir)
    done.write_text(json.dumps({**asdict(shape), "key": shape.key()}, indent=2), encoding="utf-8")
    return BuiltModel(shape, hf_dir, ct2_dir, reused=False)


def ensure_hf(shape: ModelShape, dtype: str, cache_dir: Path = CACHE_DIR) -> Path:
    """The transformers checkpoint of ``shape`` with ``dtype`` weights, built unless cached."""
    root = cache_dir / f"{shape.key()}-{dtype}"
    hf_dir, done = root / "hf", root / "done"
    if done.is_file():
        return hf_dir
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    build_hf(shape, hf_dir, dtype)
    done.write_text(json.dumps({**asdict(shape), "dtype": dtype}, indent=2), encoding="utf-8")
    return hf_dir


def build_hf(shape: ModelShape, dest: Path, dtype: str | None = None) -> Path:
    """Write the transformers checkpoint of ``shape`` into ``dest``.

    The weights are created directly in float32 (the checkpoint's dtype) and saved as
    safetensors, so the build holds one copy of the model in memory (~2.5 GB at 600M).
    """
    from testkit.tiny_models import build_tiny_nllb

    log.info("building %s (%s) in %s", shape.name, shape.key(), dest)
    return build_tiny_nllb(
        dest,
        vocab_size=shape.spm_vocab_size,
        seed=shape.seed,
        dims=shape.dims,
        model_vocab_size=shape.model_vocab_size,
        dtype=dtype,
    )


def convert(shape: ModelShape, hf_dir: Path, dest: Path) -> Path:
    """Convert the checkpoint in ``hf_dir`` to CTranslate2 int8 in ``dest``."""
    from worker.engines.convert import convert_to_ctranslate2

    log.info("converting %s to CTranslate2 int8", shape.name)
    return convert_to_ctranslate2(
        hf_dir,
        dest,
        quantization="int8",
        metadata={"source": f"random weights, {shape.name}", "licence": "none (random)"},
    )

"""Converting a transformers translation checkpoint into a CTranslate2 model directory.

The output directory holds CTranslate2's ``model.bin``, ``config.json`` and
vocabulary, plus the checkpoint's own tokenizer files (the engine tokenises with
the model's Hugging Face tokenizer) and ``dragoman.json``, which records where the
model came from, its family, quantisation and licence.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from worker.engines.libraries import import_libraries, model_loading

# Tokenizer files of the supported families; whichever exist are copied.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "sentencepiece.bpe.model",
    "spm.model",
    "source.spm",
    "target.spm",
    "vocab.json",
    "generation_config.json",
)
METADATA_FILE = "dragoman.json"


def is_ctranslate2_dir(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding a converted CTranslate2 model."""
    directory = Path(path).expanduser()
    return (directory / "model.bin").is_file() and (directory / "config.json").is_file()


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``dragoman.json`` of a converted model, or ``{}`` for one converted elsewhere."""
    file = Path(path).expanduser() / METADATA_FILE
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def convert_to_ctranslate2(
    source_dir: str | Path,
    output_dir: str | Path,
    *,
    quantization: str = "int8",
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Convert the checkpoint in ``source_dir`` to CTranslate2 in ``output_dir``.

    The conversion is written to a temporary sibling folder and moved into place
    at the end, so an interrupted conversion never leaves a half-written model.

    Args:
        source_dir: A transformers checkpoint directory (config, weights, tokenizer).
        output_dir: Where the converted model goes; replaced if it exists.
        quantization: CTranslate2 weight type: ``int8`` (CPU default), ``int8_float16``,
            ``float16``, ``float32``...
        metadata: Extra facts to record in ``dragoman.json`` (source id, licence...).
    """
    import_libraries("transformers", "ctranslate2")
    import ctranslate2.converters

    _register_m2m100_vocabulary_fix()
    source = Path(source_dir).expanduser()
    output = Path(output_dir).expanduser()
    output.parent.mkdir(parents=True, exist_ok=True)
    copy = [name for name in TOKENIZER_FILES if (source / name).is_file()]
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}-") as tmp:
        staging = Path(tmp) / "model"
        converter = ctranslate2.converters.TransformersConverter(str(source), copy_files=copy)
        with model_loading:  # the converter loads the checkpoint with transformers
            converter.convert(str(staging), quantization=quantization, force=True)
        config = json.loads((source / "config.json").read_text(encoding="utf-8"))
        facts = {
            "format": "ctranslate2",
            "quantization": quantization,
            "model_type": config.get("model_type"),
            "architectures": config.get("architectures"),
            **(metadata or {}),
        }
        (staging / METADATA_FILE).write_text(json.dumps(facts, indent=2), encoding="utf-8")
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    return output


_fix_registered = False


def _register_m2m100_vocabulary_fix() -> None:
    """Make CTranslate2 keep M2M100's language tokens with transformers 5.

    CTranslate2's M2M100 loader finds language tokens among the tokenizer's
    ``additional_special_tokens``; M2M100Tokenizer no longer lists them there, so
    ``__en__``... would be missing and the vocabulary would not match the model.
    NLLB's tokenizer is unaffected: its codes are ordinary added tokens.
    """
    global _fix_registered
    if _fix_registered:
        return
    from ctranslate2.converters import transformers as ct2_transformers

    base = ct2_transformers.M2M100Loader

    class M2M100Loader(base):  # type: ignore[misc, valid-type]
        def get_vocabulary(self, model: Any, tokenizer: Any) -> list[str]:
            tokens: list[str] = super().get_vocabulary(model, tokenizer)
            lang_tokens = getattr(tokenizer, "lang_token_to_id", None) or {}
            missing = [
                t for t, _ in sorted(lang_tokens.items(), key=lambda kv: kv[1]) if t not in tokens
            ]
            if missing:
                # The base loader padded with "madeupword" fillers where the language
                # tokens belong: the language tokens come first, then the fillers.
                fillers = [t for t in tokens if t.startswith("madeupword")]
                tokens = [t for t in tokens if not t.startswith("madeupword")] + missing
                tokens += fillers[: max(0, model.config.vocab_size - len(tokens))]
            return tokens

    ct2_transformers.register_loader("M2M100Config")(M2M100Loader)
    _fix_registered = True

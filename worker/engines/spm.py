"""SentencePiece tokenisation for CTranslate2 models, without transformers or PyTorch.

NLLB-200, M2M100 and Marian checkpoints all tokenise with SentencePiece; the
model's special tokens (language codes, ``</s>``) are added around the pieces the
way their Hugging Face tokenizers do:

- NLLB-200: ``[src_lang] pieces </s>``, decoder prefix ``[tgt_lang]``
- M2M100: ``[__src__] pieces </s>``, decoder prefix ``[__tgt__]``
- Marian: ``[>>tgt<<] pieces </s>`` (the target token only for multi-target models)

Reading the SentencePiece model directly keeps a CTranslate2 worker free of
transformers and PyTorch, which would add several hundred megabytes to every
worker process for nothing.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from worker.engines.checkpoints import Family
from worker.engines.languages import (
    LanguageMap,
    m2m100_language_map,
    marian_language_map,
    nllb_language_map,
)
from worker.engines.libraries import import_libraries

_NO_LIMIT = 1_000_000
EOS = "</s>"
_FILLER = re.compile(r"madeupword\d+")
_MARIAN = re.compile(r">>[A-Za-z_]+<<")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_vocabulary(model_dir: Path) -> list[str]:
    """CTranslate2's target vocabulary (shared by most translation models)."""
    for name in ("shared_vocabulary", "target_vocabulary"):
        json_file = model_dir / f"{name}.json"
        if json_file.is_file():
            tokens: list[str] = json.loads(json_file.read_text(encoding="utf-8"))
            return tokens
        text_file = model_dir / f"{name}.txt"
        if text_file.is_file():
            return text_file.read_text(encoding="utf-8").splitlines()
    raise OSError(f"no vocabulary file in {model_dir}")


def detect_family(model_dir: Path, tokenizer_config: dict[str, Any]) -> Family:
    name = str(tokenizer_config.get("tokenizer_class") or "")
    metadata = read_json(model_dir / "dragoman.json")
    if name.startswith("Nllb"):
        return Family.NLLB
    if name.startswith("M2M100"):
        return Family.M2M100
    if name.startswith("Marian") or (model_dir / "source.spm").is_file():
        return Family.MARIAN
    if metadata.get("model_type") == "m2m_100":
        return Family.NLLB if (model_dir / "tokenizer.json").is_file() else Family.M2M100
    raise ValueError(f"cannot tell the model family of {model_dir} (tokenizer {name or 'unknown'})")


class SentencePieceCodec:
    """Turns text into a model's source tokens and target tokens back into text."""

    def __init__(self, model_dir: Path) -> None:
        import_libraries("ctranslate2")
        import sentencepiece

        config = read_json(model_dir / "tokenizer_config.json")
        self.family = detect_family(model_dir, config)
        vocabulary = read_vocabulary(model_dir)
        if self.family is Family.MARIAN:
            source_file, target_file = model_dir / "source.spm", model_dir / "target.spm"
            self.language_map: LanguageMap = marian_language_map(
                config.get("source_lang"), config.get("target_lang"), vocabulary
            )
        else:
            source_file = target_file = model_dir / "sentencepiece.bpe.model"
            if self.family is Family.NLLB:
                self.language_map = nllb_language_map(vocabulary)
            else:
                self.language_map = m2m100_language_map(vocabulary)
        self._source = sentencepiece.SentencePieceProcessor(model_file=str(source_file))
        self._target = (
            self._source
            if target_file == source_file
            else sentencepiece.SentencePieceProcessor(model_file=str(target_file))
        )
        # Tokens to leave out of decoded text: markers, language codes, padding fillers.
        codes = set(self.language_map.sources.values()) | set(self.language_map.targets.values())
        if self.family is Family.M2M100:
            codes = {f"__{code}__" for code in codes}
        self._special = {"<s>", "</s>", "<pad>", "<mask>"} | codes
        self._special |= {t for t in vocabulary if _FILLER.fullmatch(t) or _MARIAN.fullmatch(t)}
        limit = config.get("model_max_length")
        self.max_length = int(limit) if isinstance(limit, int) and 0 < limit < _NO_LIMIT else None
        # SentencePieceProcessor is not documented as thread-safe.
        self._lock = threading.Lock()

    def encode(self, texts: list[str], source: str, target: str) -> list[list[str]]:
        """Source tokens per text, with the family's language and end tokens."""
        with self._lock:
            pieces: list[list[str]] = self._source.encode(texts, out_type=str)
        source_code = self.language_map.source_code(source)
        target_code = self.language_map.target_code(target)
        if self.family is Family.NLLB:
            return [[source_code, *p, EOS] for p in pieces]
        if self.family is Family.M2M100:
            return [[f"__{source_code}__", *p, EOS] for p in pieces]
        if target_code.startswith(">>"):  # multi-target Marian
            return [[target_code, *p, EOS] for p in pieces]
        return [[*p, EOS] for p in pieces]

    def target_prefix(self, target: str) -> list[str] | None:
        code = self.language_map.target_code(target)
        if self.family is Family.NLLB:
            return [code]
        if self.family is Family.M2M100:
            return [f"__{code}__"]
        return None

    def decode(self, tokens: list[str]) -> str:
        kept = [token for token in tokens if token not in self._special]
        with self._lock:
            text: str = self._target.decode_pieces(kept)
        return text.strip()

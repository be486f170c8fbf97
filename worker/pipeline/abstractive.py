"""Abstractive summaries with a Hugging Face seq2seq model (BART, T5, mT5...).

Long articles are summarised chunk by chunk, each within the model's input limit,
so no input is silently truncated; the chunks' summaries are joined and cut to the
requested length.
"""

from __future__ import annotations

import os
from typing import Any

from service.errors import ModelUnavailable
from worker.pipeline.summarize import Count, Ratio, summary_length
from worker.pipeline.text import normalize_text, sentence_separator, split_sentences


def _unavailable(name_or_path: str, exc: Exception) -> ModelUnavailable:
    """A ModelUnavailable that says how to make ``name_or_path`` loadable."""
    reason = f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'})"
    if os.path.isabs(name_or_path) or name_or_path.startswith((".", "~")):
        missing = "" if os.path.isdir(os.path.expanduser(name_or_path)) else "It does not exist. "
        hint = missing + (
            "The directory must hold config.json, the tokenizer files and the weights "
            "(as written by save_pretrained); set DRAGOMAN_SUMMARY_MODEL to such a "
            "directory or to a Hugging Face hub id."
        )
    else:
        hint = (
            "Fetch it on a machine with network access with "
            f"`hf download {name_or_path}` (older huggingface_hub: "
            f"`huggingface-cli download {name_or_path}`) into the Hugging Face cache, "
            "or set DRAGOMAN_SUMMARY_MODEL to a local directory holding the model and "
            "its tokenizer."
        )
    return ModelUnavailable(
        f"summarisation model {name_or_path!r} could not be loaded {reason}. {hint}",
        model=name_or_path,
    )


class TransformersSummarizer:
    """An abstractive Hugging Face seq2seq summarisation model (BART, T5, mT5...).

    Args:
        name_or_path: hub id or local directory of the model and tokenizer.
        device: torch device to run on.
        max_summary_tokens: upper bound on generated tokens per chunk.

    Raises:
        ModelUnavailable: the weights cannot be loaded (offline and not cached,
            bad path, broken files).
    """

    def __init__(
        self, name_or_path: str, device: str = "cpu", max_summary_tokens: int = 200
    ) -> None:
        from worker.engines.device import torch_device
        from worker.engines.libraries import import_libraries, model_loading

        import_libraries("transformers")
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.model_name = name_or_path
        self.device = device = torch_device(device)
        try:
            with model_loading:
                self.tokenizer: Any = AutoTokenizer.from_pretrained(name_or_path)
                self.model: Any = AutoModelForSeq2SeqLM.from_pretrained(name_or_path)
                self.model.to(device)
        except Exception as exc:  # hub, file-system and format errors alike
            raise _unavailable(name_or_path, exc) from exc
        self.model.eval()
        params = getattr(self.model.config, "task_specific_params", None) or {}
        self.prefix: str = params.get("summarization", {}).get("prefix", "")
        self.max_input_tokens = self._max_input_tokens()
        self.max_summary_tokens = max(1, min(max_summary_tokens, self.max_input_tokens // 2))

    def _max_input_tokens(self) -> int:
        """Content tokens one chunk may hold: the model's limit less specials and prefix."""
        limit = self.tokenizer.model_max_length
        if not limit or limit > 100_000:  # "no limit" sentinel: ask the model
            limit = getattr(self.model.config, "max_position_embeddings", None) or 512
        overhead = self._overhead()
        if limit - overhead < 8:
            raise ModelUnavailable(
                f"model {self.model_name!r} accepts only {limit} input tokens",
                model=self.model_name,
            )
        return int(limit - overhead)

    def _count(self, text: str) -> int:
        if not text:
            return 0
        return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def summarize(
        self, sentences: list[str], language: str, count: Count = None, ratio: Ratio = None
    ) -> list[str]:
        """Summarise ``sentences`` into at most ``count`` sentences (or a ``ratio`` of them).

        Articles longer than the model's input are summarised chunk by chunk,
        and the partial summaries summarised again until they fit one chunk.
        """
        count = summary_length(len(sentences), count, ratio)
        pieces = [s.strip() for s in sentences if s.strip()]
        if not pieces:
            return []
        separator = sentence_separator(language)
        while True:
            chunks = self._chunks(pieces, separator)
            partials = [self._generate(chunk) for chunk in chunks]
            summary = [s for text in partials for s in split_sentences(text, language)]
            # Stop at one chunk, or when the model no longer shortens the text
            # (re-summarising would loop for ever).
            shrinking = sum(map(len, summary)) < sum(map(len, pieces))
            if len(chunks) == 1 or not summary or not shrinking:
                return summary[:count]
            pieces = summary

    def _chunks(self, sentences: list[str], separator: str) -> list[str]:
        """Pack whole sentences into texts of at most ``max_input_tokens`` tokens."""
        budget = self.max_input_tokens
        chunks: list[str] = []
        current: list[str] = []
        for sentence in sentences:
            for part in self._fit(sentence, budget):
                # Count the joined text, not the parts: subword merges and the
                # separator make the sum of parts inexact.
                if current and self._count(separator.join([*current, part])) > budget:
                    chunks.append(separator.join(current))
                    current = []
                current.append(part)
        if current:
            chunks.append(separator.join(current))
        return chunks

    def _fit(self, sentence: str, budget: int) -> list[str]:
        """Split a sentence longer than ``budget`` tokens at word (or token) boundaries."""
        if self._count(sentence) <= budget:
            return [sentence]
        parts: list[str] = []
        current = ""
        for word in sentence.split():
            candidate = f"{current} {word}" if current else word
            if self._count(candidate) <= budget:
                current = candidate
                continue
            if current:
                parts.append(current)
            if self._count(word) <= budget:
                current = word
            else:  # one "word" longer than the model's input: cut by tokens
                ids = self.tokenizer(word, add_special_tokens=False)["input_ids"]
                step = max(1, budget - 2)
                parts.extend(
                    self.tokenizer.decode(ids[i : i + step]) for i in range(0, len(ids), step)
                )
                current = ""
        if current:
            parts.append(current)
        return parts

    def _generate(self, text: str) -> str:
        import torch

        # Chunks are built to fit, so truncation here is only a guard against a
        # decode/re-encode round trip of an over-long word coming out longer.
        inputs = self.tokenizer(
            self.prefix + text,
            return_tensors="pt",
            truncation=True,
            max_length=self.max_input_tokens + self._overhead(),
        ).to(self.device)
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=self.max_summary_tokens)
        return normalize_text(str(self.tokenizer.decode(output[0], skip_special_tokens=True)))

    def _overhead(self) -> int:
        """Tokens of each model input that are not article text."""
        return int(self.tokenizer.num_special_tokens_to_add()) + self._count(self.prefix)

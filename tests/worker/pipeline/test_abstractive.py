"""The transformers summariser: missing models, and a tiny random-weight BART."""

from __future__ import annotations

import re
from pathlib import Path

import huggingface_hub.constants
import pytest

from service.errors import ModelUnavailable
from tests.fixtures.summaries import (
    ARTICLE,
)
from worker.pipeline.abstractive import TransformersSummarizer
from worker.pipeline.text import segment_document


def _sentences(text: str, language: str) -> list[str]:
    return segment_document(text, language).sentences


class TestTransformersSummarizerUnavailable:
    def test_missing_local_directory(self, tmp_path: Path) -> None:
        path = str(tmp_path / "no-such-model")
        with pytest.raises(ModelUnavailable) as info:
            TransformersSummarizer(path)
        message = info.value.message
        assert path in message
        assert "does not exist" in message
        assert "DRAGOMAN_SUMMARY_MODEL" in message
        assert "Traceback" not in message
        assert info.value.to_dict()["code"] == "model_unavailable"

    def test_unknown_hub_id_offline(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        name = "dragoman-tests/no-such-summariser"
        with pytest.raises(ModelUnavailable) as info:
            TransformersSummarizer(name)
        assert f"hf download {name}" in info.value.message
        assert "DRAGOMAN_SUMMARY_MODEL" in info.value.message


@pytest.fixture(scope="module")
def tiny_bart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight BART with a byte-level tokenizer and a 64-token input limit."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    path = tmp_path_factory.mktemp("tiny-bart")
    byte_chars = list(bytes_to_unicode().values())
    vocab = {tok: i for i, tok in enumerate(["<s>", "<pad>", "</s>", "<unk>", *byte_chars])}
    vocab["<mask>"] = len(vocab)
    tokenizer = BartTokenizer(vocab=vocab, merges=[], model_max_length=64)
    config = BartConfig(  # type: ignore[call-arg]  # forced_bos_token_id: a generic kwarg
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=None,
    )
    torch.manual_seed(0)
    model = BartForConditionalGeneration(config)
    # Random weights emit control bytes; make greedy decoding write letters instead.
    with torch.no_grad():
        model.final_logits_bias[0, vocab["a"]] = 50.0
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


class TestTransformersSummarizerTiny:
    def test_chunks_fit_and_lose_nothing(self, tiny_bart: Path) -> None:
        summarizer = TransformersSummarizer(str(tiny_bart))
        assert summarizer.max_input_tokens == 62  # 64 less <s> and </s>
        sentences = _sentences(ARTICLE, "en")
        chunks = summarizer._chunks(sentences, " ")
        assert len(chunks) > 10
        for chunk in chunks:
            ids = summarizer.tokenizer(chunk, add_special_tokens=False)["input_ids"]
            assert len(ids) <= summarizer.max_input_tokens
        squash = re.compile(r"\s")
        assert squash.sub("", "".join(chunks)) == squash.sub("", "".join(sentences))

    def test_long_article_is_summarised(self, tiny_bart: Path) -> None:
        summarizer = TransformersSummarizer(str(tiny_bart), max_summary_tokens=8)
        sentences = _sentences(ARTICLE, "en")[6:10]
        assert len(summarizer._chunks(sentences, " ")) > 5
        summary = summarizer.summarize(sentences, "en", 2)
        # Partial summaries are re-summarised until one chunk is left, whose
        # output (a run of "a" without punctuation) is a single sentence.
        assert len(summary) == 1
        assert re.fullmatch("a{4,8}", summary[0])

"""The transformers engine, loaded from tiny random-weight checkpoints on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.errors import ModelUnavailable, TextTooLong, UnsupportedLanguage
from worker.engines.base import Translator
from worker.engines.checkpoints import Family
from worker.engines.hf import TransformersTranslator

SENTENCES = [
    "Armenia and Azerbaijan signed a joint statement on Tuesday.",
    "The ceasefire was violated again overnight.",
    "Doctors urged people to wear masks.",
    "Talks will continue in Moscow next week, the ministry said.",
]


@pytest.fixture(scope="module")
def nllb(tiny_nllb_dir: Path) -> TransformersTranslator:
    return TransformersTranslator(str(tiny_nllb_dir))


def test_nllb_is_a_translator(nllb: TransformersTranslator, tiny_nllb_dir: Path) -> None:
    assert isinstance(nllb, Translator)
    assert nllb.family is Family.NLLB
    assert nllb.model_name == str(tiny_nllb_dir)


def test_nllb_languages(nllb: TransformersTranslator) -> None:
    languages = nllb.languages()
    assert {"az", "azb", "fa", "hy", "en", "prs"} <= set(languages)
    assert len(languages) == 202
    assert languages == sorted(languages)
    assert nllb.supports("en", "azb")
    assert nllb.supports("eng", "pes_Arab")
    assert not nllb.supports("en", "tlh")  # Klingon: a real code, not an NLLB language


@pytest.mark.parametrize("target", ["az", "fa", "hy", "azb"])
def test_translate_returns_one_string_per_sentence(
    nllb: TransformersTranslator, target: str
) -> None:
    out = nllb.translate(SENTENCES, "en", target)
    assert len(out) == len(SENTENCES)
    assert all(isinstance(text, str) and text for text in out)


def test_translate_keeps_order(nllb: TransformersTranslator) -> None:
    forward = nllb.translate(SENTENCES, "en", "hy")
    backward = nllb.translate(SENTENCES[::-1], "en", "hy")
    assert backward == forward[::-1]
    # Different inputs give different outputs, so the order check above means something.
    assert len(set(forward)) > 1


def test_batch_size_does_not_change_results(
    tiny_nllb_dir: Path, nllb: TransformersTranslator
) -> None:
    one_by_one = TransformersTranslator(str(tiny_nllb_dir), batch_size=1)
    assert one_by_one.translate(SENTENCES[:2], "en", "fa") == nllb.translate(
        SENTENCES[:2], "en", "fa"
    )


def test_empty_sentences_skip_the_model(nllb: TransformersTranslator) -> None:
    sentences = ["", SENTENCES[0], "   ", SENTENCES[1]]
    out = nllb.translate(sentences, "en", "az")
    assert out[0] == "" and out[2] == ""
    assert out[1] and out[3]
    ids = nllb.generate_ids(sentences, "en", "az")
    assert ids[0] == [] and ids[2] == []
    assert nllb.translate([], "en", "az") == []
    assert nllb.translate(["", " "], "en", "az") == ["", ""]


@pytest.mark.parametrize(
    ("target", "code"),
    [("az", "azj_Latn"), ("azb", "azb_Arab"), ("fa", "pes_Arab"), ("hy", "hye_Armn")],
)
def test_target_language_token_is_forced(
    nllb: TransformersTranslator, target: str, code: str
) -> None:
    tokenizer = nllb._tokenizer
    expected = [nllb._model.config.decoder_start_token_id, tokenizer.convert_tokens_to_ids(code)]
    for ids in nllb.generate_ids(SENTENCES, "en", target):
        assert ids[:2] == expected


def test_source_language_token_is_prepended(nllb: TransformersTranslator) -> None:
    tokenizer = nllb._tokenizer
    for source, code in [("en", "eng_Latn"), ("fa", "pes_Arab"), ("hy", "hye_Armn")]:
        for ids in nllb.encode(SENTENCES, source, "az"):
            assert ids[0] == tokenizer.convert_tokens_to_ids(code)
            assert ids[-1] == tokenizer.eos_token_id


def test_output_length_is_bounded(nllb: TransformersTranslator) -> None:
    # Random weights rarely emit EOS; generation must still stop near the input length.
    for sentence, ids in zip(SENTENCES, nllb.generate_ids(SENTENCES, "en", "fa"), strict=True):
        source_tokens = len(nllb._tokenizer(sentence).input_ids)
        assert len(ids) <= 2 * source_tokens + 16


def test_no_repeat_ngram_size_reaches_generation(tiny_nllb_dir: Path) -> None:
    translator = TransformersTranslator(str(tiny_nllb_dir), num_beams=2, no_repeat_ngram_size=2)
    for ids in translator.generate_ids(SENTENCES, "en", "hy"):
        bigrams = list(zip(ids, ids[1:], strict=False))
        assert len(bigrams) == len(set(bigrams))


def test_unsupported_language(nllb: TransformersTranslator) -> None:
    with pytest.raises(UnsupportedLanguage):
        nllb.translate(SENTENCES, "en", "tlh")
    with pytest.raises(UnsupportedLanguage):
        nllb.translate(SENTENCES, "garbage", "fa")


def test_too_long_sentence_is_an_error_not_a_truncation(tiny_nllb_dir: Path) -> None:
    translator = TransformersTranslator(str(tiny_nllb_dir), max_input_tokens=12)
    assert translator.translate(["Armenia signed."], "en", "hy")[0]
    with pytest.raises(TextTooLong) as info:
        translator.translate(["Armenia signed.", " ".join(SENTENCES)], "en", "hy")
    assert info.value.details["sentence"] == 1
    assert info.value.details["limit"] == 12
    assert "12" in info.value.message


def test_model_limit_applies_by_default(nllb: TransformersTranslator) -> None:
    assert nllb.max_input_tokens == 1024
    with pytest.raises(TextTooLong):
        nllb.translate(["word " * 1100], "en", "fa")


def test_missing_directory_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "no-model-here"
    with pytest.raises(ModelUnavailable) as info:
        TransformersTranslator(str(missing))
    assert str(missing) in info.value.message
    assert info.value.code == "model_unavailable"
    assert "Traceback" not in info.value.message


def test_unknown_hub_id_offline_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = "dragoman-tests/no-such-model"
    with pytest.raises(ModelUnavailable) as info:
        TransformersTranslator(name)
    assert name in info.value.message
    assert f"huggingface-cli download {name}" in info.value.message
    assert "DRAGOMAN_TRANSLATION_MODEL" in info.value.message
    assert info.value.details == {"model": name}


def test_corrupted_weights_are_unavailable(tiny_nllb_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_nllb_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelUnavailable) as info:
        TransformersTranslator(str(broken))
    assert str(broken) in info.value.message


def test_directory_without_a_model_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable):
        TransformersTranslator(str(tmp_path))


def test_m2m100(tiny_m2m100_dir: Path) -> None:
    translator = TransformersTranslator(str(tiny_m2m100_dir))
    assert translator.family is Family.M2M100
    assert {"az", "fa", "hy", "en"} <= set(translator.languages())
    assert not translator.supports("en", "azb")
    fa_token = translator._tokenizer.get_lang_id("fa")
    for ids in translator.generate_ids(SENTENCES, "en", "fa"):
        assert ids[1] == fa_token
    out = translator.translate(SENTENCES, "en", "fa")
    assert len(out) == len(SENTENCES)
    # M2M100's language tokens are not special to its tokenizer; they must not leak.
    assert not any("__fa__" in text for text in out)


def test_marian_single_pair(tiny_marian_dir: Path) -> None:
    translator = TransformersTranslator(str(tiny_marian_dir))
    assert translator.family is Family.MARIAN
    assert translator.languages() == ["de", "en"]
    assert translator.supports("en", "de")
    assert not translator.supports("de", "en")
    out = translator.translate(["", *SENTENCES], "en", "de")
    assert out[0] == "" and all(out[1:])
    with pytest.raises(UnsupportedLanguage):
        translator.translate(SENTENCES, "en", "fa")


def test_marian_multi_target(tiny_marian_multi_dir: Path) -> None:
    translator = TransformersTranslator(str(tiny_marian_multi_dir))
    assert {"az", "azb", "fa", "hy"} <= set(translator.languages())
    vocab = translator._tokenizer.get_vocab()
    for target, token in [("az", ">>aze<<"), ("azb", ">>azb<<"), ("hy", ">>hye<<")]:
        for ids in translator.encode(SENTENCES, "en", target):
            assert ids[0] == vocab[token]
    assert not any(">>" in text for text in translator.translate(SENTENCES, "en", "azb"))
    with pytest.raises(UnsupportedLanguage):
        translator.translate(SENTENCES, "en", "de")


def test_auto_device_on_a_cpu_machine_keeps_the_cpu_defaults(tiny_nllb_dir: Path) -> None:
    from worker.engines.device import gpu_present

    if gpu_present():
        pytest.skip("this machine has a GPU")
    engine = TransformersTranslator(str(tiny_nllb_dir), device="auto", gpu_batch_tokens=123)
    info = engine.describe()
    assert (info["engine"], info["device"], info["dtype"]) == ("transformers", "cpu", "float32")
    assert (info["max_batch_tokens"], info["max_batch_sentences"]) == (4096, 32)

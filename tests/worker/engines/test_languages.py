"""Language codes: normalisation, per-family maps, text direction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from transformers.models.m2m_100.tokenization_m2m_100 import (
    FAIRSEQ_LANGUAGE_CODES as M2M100_CODES,
)
from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES as NLLB_CODES

from service.errors import PermanentError, UnsupportedLanguage
from service.languages import normalize_code, text_direction
from worker.engines.languages import (
    m2m100_language_map,
    marian_language_map,
    nllb_language_map,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("fa", "fa"),
        ("fas", "fa"),
        ("per", "fa"),
        ("pes", "fa"),
        ("FA", "fa"),
        (" fa ", "fa"),
        ("fa-IR", "fa"),
        ("pes_Arab", "fa"),
        ("hy", "hy"),
        ("hye", "hy"),
        ("arm", "hy"),
        ("hye_Armn", "hy"),
        ("az", "az"),
        ("aze", "az"),
        ("azj", "az"),
        ("azj_Latn", "az"),
        ("az-Latn-AZ", "az"),
        ("azb", "azb"),
        ("AZB", "azb"),
        ("azb_Arab", "azb"),
        ("prs", "prs"),
        ("eng", "en"),
        ("en-GB", "en"),
        ("iw", "he"),
        ("zh-TW", "zh-Hant"),
        ("zho_Hant", "zh-Hant"),
        ("zho_Hans", "zh"),
    ],
)
def test_normalize_code(code: str, expected: str) -> None:
    assert normalize_code(code) == expected


@pytest.mark.parametrize(
    "code", ["", "   ", "garbage", "xx", "12", "en-Xxxx", "und", "mul", "qaa", "gem", "zxx"]
)
def test_normalize_code_rejects_non_languages(code: str) -> None:
    with pytest.raises(UnsupportedLanguage) as info:
        normalize_code(code)
    assert isinstance(info.value, PermanentError)
    assert info.value.code == "unsupported_language"
    assert repr(code) in info.value.message


@given(st.sampled_from(NLLB_CODES + [f"{c}-IR" for c in ("fa", "azb", "az")] + ["zh-TW"]))
def test_normalize_code_is_idempotent(code: str) -> None:
    once = normalize_code(code)
    assert normalize_code(once) == once


NLLB = nllb_language_map(NLLB_CODES)


@pytest.mark.parametrize(
    ("code", "model_code"),
    [
        ("az", "azj_Latn"),
        ("azb", "azb_Arab"),
        ("fa", "pes_Arab"),
        ("fas", "pes_Arab"),
        ("prs", "prs_Arab"),
        ("hy", "hye_Armn"),
        ("en", "eng_Latn"),
        ("ar", "arb_Arab"),
        ("arz", "arz_Arab"),
        ("zh", "zho_Hans"),
        ("zh-Hant", "zho_Hant"),
        ("ms", "zsm_Latn"),
        ("uz", "uzn_Latn"),
        ("et", "est_Latn"),
        ("lv", "lvs_Latn"),
        ("sw", "swh_Latn"),
        ("ps", "pbt_Arab"),
        ("pbt", "pbt_Arab"),
        ("ks", "kas_Arab"),
        ("ks-Deva", "kas_Deva"),
        ("ak", "aka_Latn"),
        ("twi", "twi_Latn"),
    ],
)
def test_nllb_codes(code: str, model_code: str) -> None:
    assert NLLB.source_code(code) == model_code
    assert NLLB.target_code(code) == model_code


def test_nllb_map_reaches_every_code_once() -> None:
    languages = NLLB.languages()
    assert len(languages) == len(NLLB_CODES) == 202
    assert sorted(NLLB.target_code(code) for code in languages) == sorted(NLLB_CODES)
    assert {"az", "azb", "fa", "hy", "en", "prs"} <= set(languages)


def test_nllb_map_comes_from_the_tokens_it_is_given() -> None:
    language_map = nllb_language_map(["<s>", "eng_Latn", "hye_Armn", "▁the", "</s>"])
    assert language_map.languages() == ["en", "hy"]
    assert language_map.supports("en", "hy")
    assert not language_map.supports("en", "fa")
    with pytest.raises(UnsupportedLanguage, match="fa"):
        language_map.target_code("fa")


def test_m2m100_map() -> None:
    language_map = m2m100_language_map(f"__{code}__" for code in M2M100_CODES["m2m100"])
    assert len(language_map.languages()) == 100
    assert language_map.target_code("fas") == "fa"
    assert language_map.target_code("hye") == "hy"
    assert language_map.source_code("az") == "az"
    # Not an ISO code, but one of the model's languages (Northern Sotho).
    assert language_map.target_code("ns") == "ns"
    assert not language_map.supports("en", "azb")


def test_marian_single_pair() -> None:
    language_map = marian_language_map("en", "de", ["▁the", "</s>"])
    assert language_map.languages() == ["de", "en"]
    assert language_map.supports("en", "de")
    assert language_map.supports("eng", "deu")
    assert not language_map.supports("de", "en")


def test_marian_multi_target_tokens() -> None:
    tokens = [">>aze<<", ">>azb<<", ">>hye<<", ">>pes<<", ">>zho_Hant<<", "▁the"]
    language_map = marian_language_map("en", "mul", tokens)
    assert language_map.target_code("az") == ">>aze<<"
    assert language_map.target_code("azb") == ">>azb<<"
    assert language_map.target_code("fa") == ">>pes<<"
    assert language_map.target_code("zh-TW") == ">>zho_Hant<<"
    assert not language_map.supports("en", "de")


def test_marian_multilingual_source_accepts_any_language() -> None:
    language_map = marian_language_map("mul", "en")
    assert language_map.supports("fa", "en")
    assert language_map.supports("hy", "en")
    assert not language_map.supports("fa", "de")
    assert not language_map.supports("garbage", "en")


@pytest.mark.parametrize(
    "code", ["fa", "azb", "ar", "he", "ur", "ps", "ckb", "yi", "ks", "pes_Arab", "fa-AF", "az-IR"]
)
def test_rtl_languages(code: str) -> None:
    assert text_direction(code) == "rtl"


@pytest.mark.parametrize("code", ["en", "az", "hy", "ru", "zh-Hant", "ku", "ks-Deva", "prs-Latn"])
def test_ltr_languages(code: str) -> None:
    assert text_direction(code) == "ltr"


def test_text_direction_rejects_garbage() -> None:
    with pytest.raises(UnsupportedLanguage):
        text_direction("garbage")

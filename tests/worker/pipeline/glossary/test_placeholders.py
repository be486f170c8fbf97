"""The glossary's placeholder survives NLLB-style tokenizers as pieces of its own.

The measurement itself is ``bench.placeholders`` (``python -m bench.placeholders`` writes
the table to ``bench/results/placeholders.md``); these tests hold the choice to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.model import NLLB_600M
from bench.placeholders import FORMS, load_tokenizer, measure
from testkit.tiny_models import build_tiny_nllb
from worker.pipeline.glossary import PLACEHOLDER, JobGlossary
from worker.pipeline.quality.protect import protect
from worker.pipeline.quality.protect import restore as restore_protected

# Forms with a character NLLB-style vocabularies trained on news text lack.
UNKNOWN_TO_THE_VOCABULARY = ("<N>", "{N}", "__N__", "⟦N⟧", "#N")


@pytest.fixture(scope="session")
def nllb_shape_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NLLB tokenizer with the benchmark's NLLB-600M vocabulary size (8,000 pieces)."""
    return build_tiny_nllb(
        tmp_path_factory.mktemp("nllb-shape"), vocab_size=NLLB_600M.spm_vocab_size
    )


@pytest.fixture(params=["tiny_nllb_dir", "nllb_shape_dir"])
def tokenizer(request: pytest.FixtureRequest) -> Any:
    return load_tokenizer(request.getfixturevalue(request.param))


def test_the_chosen_form_is_the_one_protect_uses() -> None:
    assert FORMS["[N]"] == PLACEHOLDER
    assert protect("see https://example.am").masked == "see " + PLACEHOLDER.format(n=1)


def test_the_chosen_placeholder_survives_as_whole_tokens(tokenizer: Any) -> None:
    results = measure(tokenizer)
    chosen = results["[N]"]
    assert chosen.known and chosen.round_trip and chosen.whole and chosen.stable
    for form in UNKNOWN_TO_THE_VOCABULARY:
        assert not results[form].known, form
        assert not results[form].survives, form


def test_at_the_nllb_shape_only_the_bracket_form_survives(nllb_shape_dir: Path) -> None:
    results = measure(load_tokenizer(nllb_shape_dir))
    assert [form for form, result in results.items() if result.survives] == ["[N]"]
    # Why the look-alikes lose: "(N)" is ordinary text whose pieces change with the
    # context, and "ZZN" shares a piece with the character after it.
    assert not results["(N)"].stable
    assert not results["ZZN"].whole


def test_masked_sentences_tokenise_with_every_placeholder_intact(nllb_shape_dir: Path) -> None:
    from worker.pipeline.glossary import Entry

    tokenizer = load_tokenizer(nllb_shape_dir)
    entries = [
        Entry("a", "Armenia", "en", {"az": "Ermənistan"}),
        Entry("b", "Nagorno-Karabakh", "en", {"az": "Dağlıq Qarabağ"}),
        Entry("c", "Qarabağ", "az", {"en": "Karabakh"}),
    ]
    glossary = JobGlossary(entries)
    for sentence, source, target, language in [
        ("Armenia's envoy (https://mfa.am) spoke on Nagorno-Karabakh.", "en", "az", "eng_Latn"),
        ("Qarabağda və Qarabağın kəndlərində sakitlik var.", "az", "en", "azj_Latn"),
    ]:
        protected = protect(sentence)
        terms = glossary.index(source, target).mask(protected.masked)
        assert terms.matches
        tokenizer.src_lang = language
        ids = tokenizer(terms.masked, add_special_tokens=False).input_ids
        assert tokenizer.unk_token_id not in ids
        decoded = tokenizer.decode(ids, skip_special_tokens=True)
        for placeholder in terms.placeholders:
            assert placeholder in decoded
        text, lost = restore_protected(protected, decoded)
        assert lost == []

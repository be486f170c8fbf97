"""The CTranslate2 engine on the tests' tiny models, converted by the product's converter."""

from __future__ import annotations

import gc
import json
import sys
import types
from pathlib import Path

import pytest

from service.errors import ModelUnavailable, TextTooLong, UnsupportedLanguage
from worker import metrics
from worker.engines.base import Segment, Translator
from worker.engines.checkpoints import Family
from worker.engines.convert import METADATA_FILE, is_ctranslate2_dir
from worker.engines.ct2 import CTranslate2Translator
from worker.engines.planning import cut_batches

SENTENCES = [
    "Delegations met in Baku on Monday.",
    "",
    "The talks lasted six hours, officials said, and will resume next week.",
    "No date was set.",
]


@pytest.fixture(scope="module")
def nllb(tiny_nllb_ct2_dir: Path) -> CTranslate2Translator:
    return CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1)


def test_conversion_writes_a_complete_model(tiny_nllb_ct2_dir: Path) -> None:
    assert is_ctranslate2_dir(tiny_nllb_ct2_dir)
    names = {p.name for p in tiny_nllb_ct2_dir.iterdir()}
    assert {"model.bin", "sentencepiece.bpe.model", "tokenizer_config.json"} <= names
    facts = json.loads((tiny_nllb_ct2_dir / METADATA_FILE).read_text())
    assert facts["quantization"] == "int8"
    assert facts["model_type"] == "m2m_100"


def test_loads_with_int8_on_cpu_and_knows_the_languages(nllb: CTranslate2Translator) -> None:
    assert isinstance(nllb, Translator)
    assert nllb.family is Family.NLLB
    assert nllb.compute_type == "int8"
    assert {"en", "az", "azb", "fa", "hy"} <= set(nllb.languages())
    assert nllb.supports("en", "hy")
    assert not nllb.supports("en", "tlh")
    assert nllb._target_prefix("az") == ["azj_Latn"]
    assert nllb._target_prefix("fa") == ["pes_Arab"]
    assert nllb.max_input_tokens == 1024


@pytest.mark.parametrize("target", ["az", "fa", "hy", "azb"])
def test_translates_one_output_per_input(nllb: CTranslate2Translator, target: str) -> None:
    outputs = nllb.translate(SENTENCES, "en", target)
    assert len(outputs) == len(SENTENCES)
    assert outputs[1] == ""
    assert all(isinstance(text, str) and text for i, text in enumerate(outputs) if i != 1)
    # the target language code is a decoder prefix, never part of the text
    assert not any("azj_Latn" in text or "pes_Arab" in text for text in outputs)


def test_one_call_serves_several_language_pairs(nllb: CTranslate2Translator) -> None:
    before = metrics.TARGET_TOKENS._value.get()
    segments = [
        Segment("Delegations met in Baku on Monday.", "en", "az"),
        Segment("Delegations met in Baku on Monday.", "en", "fa"),
        Segment("Talks will resume in Tehran.", "en", "hy"),
        Segment("این یک آزمون است.", "fa", "en"),
    ]
    outputs = nllb.translate_segments(segments)
    assert len(outputs) == 4 and all(outputs)
    assert metrics.TARGET_TOKENS._value.get() > before
    with pytest.raises(UnsupportedLanguage):
        nllb.translate_segments([Segment("Hello.", "en", "tlh")])


class _Recorder:
    """Forwards to the real CTranslate2 translator and records each batch it is given."""

    def __init__(self, translator: object) -> None:
        self.translator = translator
        self.calls: list[tuple[list[list[str]], int, int]] = []

    def translate_batch(self, batch: list[list[str]], **options: object) -> object:
        self.calls.append((batch, int(options["beam_size"]), int(options["max_decoding_length"])))
        return self.translator.translate_batch(batch, **options)  # type: ignore[attr-defined]


def test_batches_stay_within_the_decoder_budget(tiny_nllb_ct2_dir: Path) -> None:
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1, max_batch_tokens=700)
    recorder = _Recorder(engine._translator)
    engine._translator = recorder
    words = ["officials", "said", "the", "talks", "in", "Baku", "would", "resume", "next", "week"]
    texts = [" ".join(words[: 2 + i % 9] * (1 + i % 4)) + "." for i in range(40)]
    segments = [Segment(text, "en", "az") for text in texts]
    segments += [Segment(text, "en", "fa", strict=True) for text in texts[:6]]
    outputs = engine.translate_segments(segments)
    assert len(outputs) == len(segments) and all(outputs)
    assert sum(len(batch) for batch, _, _ in recorder.calls) == len(segments)
    assert len(recorder.calls) > 2
    for batch, beams, bound in recorder.calls:
        width = max(len(tokens) for tokens in batch)
        assert bound == engine._max_length(width)
        cost = engine.batch_cost(len(batch), width, beams)
        assert cost == len(batch) * beams * (width + bound)
        assert cost <= 700 or len(batch) == 1
    # strict (beam search) batches count every beam: fewer rows fit
    strict_rows = [len(batch) for batch, beams, _ in recorder.calls if beams > 1]
    plain_rows = [len(batch) for batch, beams, _ in recorder.calls if beams == 1]
    assert strict_rows and max(strict_rows) < max(plain_rows)
    # a larger budget needs fewer, fuller batches for the same sentences
    recorder.calls.clear()
    engine.max_batch_tokens = 100_000
    engine.translate_segments(segments)
    assert len(recorder.calls) == 2  # one plain, one strict


def test_an_overlong_sentence_is_refused_not_truncated(nllb: CTranslate2Translator) -> None:
    long_sentence = " ".join(["Azerbaijan"] * 1500)
    with pytest.raises(TextTooLong) as caught:
        nllb.check_segments([Segment(long_sentence, "en", "fa")])
    assert caught.value.details["limit"] == 1024
    with pytest.raises(TextTooLong):
        nllb.translate([long_sentence], "en", "fa")


def test_m2m100_and_multi_target_marian(
    tiny_m2m100_ct2_dir: Path, tiny_marian_multi_ct2_dir: Path
) -> None:
    m2m = CTranslate2Translator(str(tiny_m2m100_ct2_dir), threads=1)
    assert m2m.family is Family.M2M100
    assert m2m._target_prefix("fa") == ["__fa__"]
    assert len(m2m.translate(SENTENCES, "en", "fa")) == len(SENTENCES)
    marian = CTranslate2Translator(str(tiny_marian_multi_ct2_dir), threads=1)
    assert marian.family is Family.MARIAN
    assert marian._target_prefix("hy") is None
    assert marian._encode([Segment("Hello.", "en", "hy")])[0][0] == ">>hye<<"
    assert len(marian.translate(SENTENCES, "en", "hy")) == len(SENTENCES)


def test_not_a_ctranslate2_directory(tiny_nllb_dir: Path, tmp_path: Path) -> None:
    for path in (tiny_nllb_dir, tmp_path / "missing"):
        with pytest.raises(ModelUnavailable) as caught:
            CTranslate2Translator(str(path))
        assert "models pull" in caught.value.message


@pytest.mark.parametrize("fixture", ["tiny_nllb", "tiny_m2m100"])
def test_tokens_match_the_hugging_face_tokenizer(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """The engine's own SentencePiece front end gives the checkpoint tokenizer's tokens."""
    from transformers import AutoTokenizer

    from testkit.tiny_models import corpus_lines

    source_dir: Path = request.getfixturevalue(f"{fixture}_dir")
    engine = CTranslate2Translator(str(request.getfixturevalue(f"{fixture}_ct2_dir")), threads=1)
    reference = AutoTokenizer.from_pretrained(str(source_dir))
    lines = corpus_lines()[::40]
    for source, code in (("en", "eng_Latn" if fixture == "tiny_nllb" else "en"),):
        reference.src_lang = code
        expected = [reference.convert_ids_to_tokens(ids) for ids in reference(lines)["input_ids"]]
        assert engine._encode([Segment(line, source, "fa") for line in lines]) == expected
    # decoding drops language codes and markers and gives the text back
    tokens = engine._encode([Segment("The talks resume in Baku.", "en", "fa")])[0]
    assert engine._decode(engine._target_prefix("fa") + tokens) == "The talks resume in Baku."


def test_the_engine_runs_without_pytorch(tiny_nllb_ct2_dir: Path) -> None:
    """A CTranslate2 worker needs neither transformers' models nor PyTorch in memory."""
    import subprocess
    import sys

    code = (
        "import sys; from worker.engines.ct2 import CTranslate2Translator as T; "
        f"t = T({str(tiny_nllb_ct2_dir)!r}, threads=1); "
        "assert t.translate(['Talks resume.'], 'en', 'hy')[0]; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def test_cut_batches_keeps_order_budget_and_row_cap() -> None:
    def cost(rows: int, width: int) -> int:
        return rows * (width + 10)

    widths = [2, 3, 3, 5, 8, 40, 6]
    runs = cut_batches(widths, cost, budget=60, max_rows=3)
    assert [p for run in runs for p in run] == list(range(len(widths)))
    for run in runs:
        assert len(run) <= 3
        assert cost(len(run), max(widths[p] for p in run)) <= 60 or len(run) == 1
    assert [5] in runs  # too long to share the budget: alone, not dropped
    assert cut_batches([], cost, budget=60) == []


def _reaches(root: object, target: object, limit: int = 200_000) -> bool:
    """Whether ``target`` is reachable from ``root`` through object references, not
    counting modules' globals (which reach everything)."""
    modules = {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    seen: set[int] = set()
    todo = [root]
    while todo and len(seen) < limit:
        item = todo.pop()
        if item is target:
            return True
        if id(item) in seen or id(item) in modules or isinstance(item, types.ModuleType):
            continue
        seen.add(id(item))
        todo.extend(gc.get_referents(item))
    return False


def test_the_step_callback_does_not_hold_the_engine(
    nllb: CTranslate2Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CTranslate2 drops a batch's callback on its own worker thread after the batch. A
    callback holding the engine could be its last reference there, and the engine's
    thread pool would then join itself (std::system_error, the process aborts)."""
    callbacks: list[object] = []
    inner = nllb._translator

    class Spy:
        def translate_batch(self, *args: object, **kwargs: object) -> object:
            callbacks.append(kwargs.get("callback"))
            return inner.translate_batch(*args, **kwargs)

    monkeypatch.setattr(nllb, "_translator", Spy())
    nllb.translate(["Delegations met in Baku on Monday."], "en", "fa")
    (callback,) = callbacks
    assert callback is not None  # greedy batches can be paused
    assert not _reaches(callback, nllb)

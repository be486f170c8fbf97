"""Which placeholder form an NLLB-style tokenizer keeps intact: ``python -m bench.placeholders``.

Glossary terms and URLs are masked before translation; the model must copy the
placeholder through. It can only do that if the tokenizer turns the placeholder into
pieces it knows (no ``<unk>``), that decode back to the placeholder, that belong to
the placeholder alone (no piece also holding a neighbouring letter or suffix, as in
``Qarabağ[3]da`` or ``[3]'s``) and that are the same whatever surrounds it. Each form
is tried with several numbers in English, Azerbaijani, Persian and Armenian sentences.

Two tokenizers in the real NLLB-200 on-disk format are measured, both trained on the
test fixtures' corpus: the test fixtures' (1,500 pieces) and the benchmark's
NLLB-600M shape (8,000 pieces, about NLLB's real split of English words). The real
checkpoint's 256k-piece vocabulary cannot be fetched here; ``--model DIR`` measures any
NLLB-style checkpoint directory (``dragoman models pull`` puts one in the model store).
Writes ``bench/results/placeholders.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Candidate forms: "{n}" is the number.
FORMS: dict[str, str] = {
    "[N]": "[{n}]",
    "(N)": "({n})",
    "<N>": "<{n}>",
    "{N}": "{{{n}}}",
    "__N__": "__{n}__",
    "⟦N⟧": "⟦{n}⟧",
    "ZZN": "ZZ{n}",
    "#N": "#{n}",
}
NUMBERS = (1, 7, 12, 38)
# Sentences with "{p}" where the placeholder goes, with the neighbours news text gives it:
# spaces, punctuation, a possessive, case endings glued on, Persian ZWNJ plural.
CONTEXTS: dict[str, tuple[str, ...]] = {
    "eng_Latn": (
        "Talks in {p} resumed on Monday.",
        "{p}'s leaders met in the capital.",
        "The talks ({p}) were delayed.",
    ),
    "azj_Latn": (
        "{p}da danışıqlar bərpa olundu.",
        "Prezident {p} ilə görüşdü.",
    ),
    "pes_Arab": (
        "مذاکرات در {p} از سر گرفته شد.",
        "{p}\u200cها گفتند که توافق شد.",
    ),
    "hye_Armn": (
        "Բանակցությունները {p}ում վերսկսվեցին։",
        "{p}ի նախագահը հանդիպեց։",
    ),
}


@dataclass(frozen=True)
class FormResult:
    """How one placeholder form fared over every number and context."""

    form: str
    known: bool  # never tokenised as <unk>
    round_trip: bool  # decodes back to itself in the sentence
    whole: bool  # its pieces hold nothing of the neighbouring text
    stable: bool  # the same pieces in every context (for a given number)
    pieces: float  # mean pieces per placeholder

    @property
    def survives(self) -> bool:
        return self.known and self.round_trip and self.whole and self.stable


def measure(tokenizer: Any, forms: dict[str, str] = FORMS) -> dict[str, FormResult]:
    """Each form's result with ``tokenizer`` (a fast NLLB tokenizer, offsets available)."""
    results: dict[str, FormResult] = {}
    for name, template in forms.items():
        known = round_trip = whole = stable = True
        counts: list[int] = []
        for number in NUMBERS:
            placeholder = template.format(n=number)
            seen: set[tuple[str, ...]] = set()
            for language, sentences in CONTEXTS.items():
                tokenizer.src_lang = language
                for sentence in sentences:
                    text = sentence.format(p=placeholder)
                    check = _check(tokenizer, text, placeholder)
                    known &= check["known"]
                    round_trip &= check["round_trip"]
                    whole &= check["whole"]
                    seen.add(check["pieces"])
                    counts.append(len(check["pieces"]))
            stable &= len(seen) == 1
        results[name] = FormResult(
            name, known, round_trip, whole, stable, round(sum(counts) / len(counts), 2)
        )
    return results


def _check(tokenizer: Any, text: str, placeholder: str) -> dict[str, Any]:
    start = text.index(placeholder)
    end = start + len(placeholder)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = encoded["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    mine: list[str] = []
    whole = True
    for piece, (left, right) in zip(pieces, encoded["offset_mapping"], strict=True):
        if right <= start or left >= end:
            continue
        # A piece that reaches past the placeholder carries a neighbour's characters
        # (a leading space marker is not a character of the text).
        outside = text[left:start] + text[end:right]
        if outside.strip():
            whole = False
        mine.append(piece.lstrip("\u2581"))
    decoded = tokenizer.decode(ids, skip_special_tokens=True)
    return {
        "known": tokenizer.unk_token_id not in ids,
        "round_trip": placeholder in decoded,
        "whole": whole,
        "pieces": tuple(p for p in mine if p),
    }


def load_tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir), src_lang="eng_Latn")


def build_tokenizers(root: Path) -> dict[str, Path]:
    """The two measured tokenizers (with tiny models), built under ``root``."""
    from bench.model import NLLB_600M
    from testkit.tiny_models import build_tiny_nllb

    return {
        "tiny fixture (1,500 pieces)": build_tiny_nllb(root / "tiny"),
        f"NLLB-600M shape ({NLLB_600M.spm_vocab_size:,} pieces)": build_tiny_nllb(
            root / "nllb-shape", vocab_size=NLLB_600M.spm_vocab_size
        ),
    }


def render(results: dict[str, dict[str, FormResult]]) -> str:
    lines = [
        "# Placeholder forms through NLLB-style tokenizers",
        "",
        f"Numbers {', '.join(map(str, NUMBERS))} in "
        f"{sum(len(s) for s in CONTEXTS.values())} sentences "
        f"({', '.join(CONTEXTS)}). Survives: known pieces, decodes back, "
        "pieces of its own, the same pieces in every context.",
        "",
    ]
    for tokenizer, by_form in results.items():
        lines += [
            f"## {tokenizer}",
            "",
            "| form | no <unk> | decodes back | own pieces | stable | pieces | survives |",
            "|---|---|---|---|---|---:|---|",
        ]
        for result in by_form.values():
            marks = [result.known, result.round_trip, result.whole, result.stable]
            cells = " | ".join("yes" if mark else "no" for mark in marks)
            verdict = "**yes**" if result.survives else "no"
            lines.append(f"| `{result.form}` | {cells} | {result.pieces} | {verdict} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--model", type=Path, action="append", default=[], help="Also measure this checkpoint."
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        dirs = build_tokenizers(Path(tmp))
        dirs.update({str(path): path for path in args.model})
        results = {name: measure(load_tokenizer(path)) for name, path in dirs.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "placeholders.md").write_text(render(results), encoding="utf-8")
    raw = {
        name: {form: {**asdict(r), "survives": r.survives} for form, r in by_form.items()}
        for name, by_form in results.items()
    }
    (args.out / "placeholders.json").write_text(
        json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(render(results))


if __name__ == "__main__":
    main()

"""Sentence segmentation evaluation: ``python -m bench.segmentation`` (``make eval-segmentation``).

Boundary F1 per data set and language for Dragoman's segmenter, pysbd and sentencex,
written to ``bench/results/segmentation.md``. Not part of ``make test``.

Data (``samples/``), each cut into a ``dev`` part (looked at while deciding rules) and
a ``test`` part (measured only):

- ``segmentation``: news paragraphs written for this evaluation, in English,
  Azerbaijani, Persian and Armenian (``samples/segmentation/{dev,test}/LANG.txt``, see
  ``samples/README.md``): one sentence a line, a blank line between documents. The
  first line of a document is its headline, on a line of its own; a sentence that
  starts with a list marker starts a new line, and so does the first sentence after
  a list; an indented sentence continues the list item above it; the other sentences
  are joined by a space into one body paragraph.
- ``flores``: FLORES-200 devtest passages (``samples/flores200-part/``), the lines
  of one source URL joined by a space; even-numbered passages are ``dev``, odd
  ``test``. A FLORES line is a translation unit, not always one sentence: the lines
  that hold several (about one in ten) are split by hand in
  ``samples/segmentation/flores/LANG.tsv`` under the same conventions as our own
  data (a quotation of several sentences is split; a period after an Armenian word,
  the mijaket, and an ellipsis before a lowercase word end none).
- ``tico19``: the written sentences of the TICO-19 test set (English and Persian;
  capitalised, with final punctuation; lines with two sentences run together without
  a space left out), five consecutive ones to a passage; even passages ``dev``, odd
  ``test``.

The metric: every sentence boundary inside a document is a position in the stream of
the document's characters with whitespace and format characters (ZWNJ, ZWJ) removed
and NFKC applied, so what a segmenter normalises (spaces, ZWNJ, punctuation variants)
never counts against it. A boundary is right only at exactly the human position
(after or before a closing quotation mark are different positions). Precision,
recall and F1 are summed over all documents of a data set and language.
"""

from __future__ import annotations

import argparse
import difflib
import os
import platform
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
RESULTS = Path(__file__).resolve().parent / "results" / "segmentation.md"
LANGUAGES = ("en", "az", "fa", "hy")
SPLITS = ("dev", "test")
FLORES_FILES = {"en": "eng_Latn", "az": "azj_Latn", "fa": "pes_Arab", "hy": "hye_Armn"}
TICO_PASSAGE = 5
# pysbd has no Azerbaijani rules; its English ones are the nearest it has (Latin script,
# the same punctuation).
PYSBD_LANGUAGE = {"az": "en"}
_BULLET = re.compile(r"(?:[-–—•*▪]|\(?\d{1,3}[.)]|\(?[a-z]\))\s")
_WRITTEN_EN = re.compile(r"^[A-Z“\"'].*[.?!”\"']$")
_WRITTEN_FA = re.compile(r"[.?!؟»”\"]$")
# Two sentences glued without a space ("therapy.Recommended"): a scraping artefact of
# TICO-19 whose line then holds two sentences; such lines are left out.
_RUN_ON = re.compile(r"[a-z0-9)%\"”][.?!][\"”]?[A-Z]")

Segmenter = Callable[[str, str], list[str]]


@dataclass(frozen=True)
class GoldDocument:
    """A document as lines (each a list of its human sentences)."""

    lines: tuple[tuple[str, ...], ...]

    @property
    def text(self) -> str:
        return "\n".join(" ".join(line) for line in self.lines)

    @property
    def sentences(self) -> list[str]:
        return [sentence for line in self.lines for sentence in line]


# --- data ------------------------------------------------------------------------


def _split(items: Sequence[GoldDocument], split: str) -> list[GoldDocument]:
    parity = SPLITS.index(split)
    return [item for index, item in enumerate(items) if index % 2 == parity]


def load_own(split: str, language: str) -> list[GoldDocument]:
    """The hand-segmented news documents of ``samples/segmentation/SPLIT/LANGUAGE.txt``."""
    path = SAMPLES / "segmentation" / split / f"{language}.txt"
    text = path.read_text(encoding="utf-8")
    documents: list[GoldDocument] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        rows = [row for row in block.splitlines() if row.strip()]
        if not rows:
            continue
        lines: list[list[str]] = [[rows[0].strip()], []]
        in_list = False
        for row in rows[1:]:
            sentence = row.strip()
            if row[:1].isspace():  # an indented sentence continues a list item
                lines[-1].append(sentence)
                continue
            bullet = bool(_BULLET.match(sentence))
            if (bullet or in_list) and lines[-1]:
                lines.append([])
            in_list = bullet
            lines[-1].append(sentence)
        documents.append(GoldDocument(tuple(tuple(line) for line in lines if line)))
    return documents


def load_flores(split: str, language: str) -> list[GoldDocument]:
    """FLORES-200 devtest passages (lines of one URL in one paragraph), hand-split sentences."""
    folder = SAMPLES / "flores200-part"
    urls = [row.split("\t", 1)[0] for row in _read_lines(folder / "metadata.tsv")[1:]]
    sentences = _read_lines(folder / f"{FLORES_FILES[language]}.txt")
    if len(urls) != len(sentences):
        raise ValueError(f"{folder}: {len(urls)} metadata rows for {len(sentences)} sentences")
    splits = _flores_splits(language)
    passages: list[list[str]] = []
    previous = None
    for number, (url, sentence) in enumerate(zip(urls, sentences, strict=True), 1):
        if url != previous:
            passages.append([])
            previous = url
        parts = splits.get(number, [sentence])
        if " ".join(parts).split() != sentence.split():
            raise ValueError(f"flores {language} line {number}: the split changes the text")
        passages[-1].extend(parts)
    return _split([GoldDocument((tuple(p),)) for p in passages], split)


def _flores_splits(language: str) -> dict[int, list[str]]:
    """FLORES lines that hold several sentences, split by hand: line number -> sentences."""
    path = SAMPLES / "segmentation" / "flores" / f"{language}.tsv"
    splits: dict[int, list[str]] = {}
    for row in _read_lines(path):
        if row.strip():
            number, sentence = row.split("\t", 1)
            splits.setdefault(int(number), []).append(sentence)
    return splits


def load_tico(split: str, language: str) -> list[GoldDocument]:
    """TICO-19 written sentences, five consecutive ones to a passage (en and fa only)."""
    folder = SAMPLES / "tico19-en-fa"
    english = _read_lines(folder / "tico19-test.en")
    persian = _read_lines(folder / "tico19-test.fa")
    kept = [
        (en.strip(), fa.strip())
        for en, fa in zip(english, persian, strict=True)
        if _WRITTEN_EN.match(en.strip())
        and _WRITTEN_FA.search(fa.strip())
        and not _RUN_ON.search(en)
    ]
    side = [en if language == "en" else fa for en, fa in kept]
    passages = [side[i : i + TICO_PASSAGE] for i in range(0, len(side), TICO_PASSAGE)]
    return _split([GoldDocument((tuple(p),)) for p in passages], split)


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


DATASETS: dict[str, tuple[Callable[[str, str], list[GoldDocument]], tuple[str, ...]]] = {
    "segmentation": (load_own, LANGUAGES),
    "flores": (load_flores, LANGUAGES),
    "tico19": (load_tico, ("en", "fa")),
}


# --- segmenters ------------------------------------------------------------------


def dragoman(text: str, language: str) -> list[str]:
    """The worker's segmentation of a whole document, as the pipeline does it."""
    from worker.pipeline.text import segment_document

    return segment_document(text, language).sentences


def _per_line(split_line: Segmenter) -> Segmenter:
    # The libraries get each line on its own, as Dragoman does: a newline is a
    # boundary for all three, so only the sentences within lines tell them apart.
    def run(text: str, language: str) -> list[str]:
        return [s for line in text.split("\n") if line.strip() for s in split_line(line, language)]

    return run


def _pysbd(line: str, language: str) -> list[str]:
    import pysbd

    code = PYSBD_LANGUAGE.get(language, language)
    return list(pysbd.Segmenter(language=code, clean=False).segment(line))


def _sentencex(line: str, language: str) -> list[str]:
    from sentencex import segment

    return list(segment(language, line))


SEGMENTERS: dict[str, Segmenter] = {
    "Dragoman": dragoman,
    "pysbd": _per_line(_pysbd),
    "sentencex": _per_line(_sentencex),
}


# --- metric ----------------------------------------------------------------------


def significant(text: str) -> str:
    """``text`` as the metric compares it: NFKC, no whitespace, no format characters."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def boundaries(sentences: Sequence[str]) -> tuple[str, set[int]]:
    """The significant stream of ``sentences`` and the offsets where one ends inside it."""
    stream: list[str] = []
    cuts: set[int] = set()
    offset = 0
    for sentence in sentences:
        chars = significant(sentence)
        stream.append(chars)
        offset += len(chars)
        cuts.add(offset)
    cuts.discard(0)
    cuts.discard(offset)
    return "".join(stream), cuts


def _realign(cuts: set[int], source: str, target: str) -> set[int]:
    """Map offsets in ``source`` to ``target`` (a segmenter that changed characters)."""
    matcher = difflib.SequenceMatcher(None, source, target, autojunk=False)
    mapped: set[int] = set()
    for cut in cuts:
        for a, b, size in matcher.get_matching_blocks():
            if a <= cut <= a + size:
                mapped.add(b + cut - a)
                break
    return mapped


@dataclass
class Score:
    """Boundary counts; ``precision``, ``recall`` and ``f1`` derived from them."""

    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    def add(self, gold: set[int], predicted: set[int]) -> None:
        self.true_positive += len(gold & predicted)
        self.false_positive += len(predicted - gold)
        self.false_negative += len(gold - predicted)

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Miss:
    """A boundary the segmenter got wrong, with the text around it."""

    kind: str  # "missed" (false negative) or "extra" (false positive)
    context: str


def compare(document: GoldDocument, predicted: Sequence[str]) -> tuple[set[int], set[int]]:
    """Gold and predicted boundary offsets of one document, in the gold stream."""
    stream, gold = boundaries(document.sentences)
    other, cuts = boundaries(predicted)
    if other != stream:
        cuts = _realign(cuts, other, stream)
    return gold, cuts


def evaluate(
    segmenter: Segmenter, documents: Sequence[GoldDocument], language: str
) -> tuple[Score, list[Miss]]:
    """Score ``segmenter`` on ``documents``; also list each wrong boundary in context."""
    score = Score()
    misses: list[Miss] = []
    for document in documents:
        gold, cuts = compare(document, segmenter(document.text, language))
        score.add(gold, cuts)
        stream, _ = boundaries(document.sentences)
        for kind, offsets in (("missed", gold - cuts), ("extra", cuts - gold)):
            for cut in sorted(offsets):
                misses.append(Miss(kind, f"{stream[max(0, cut - 40) : cut]} | {stream[cut:][:40]}"))
    return score, misses


# --- report ----------------------------------------------------------------------


def _sizes(documents: Sequence[GoldDocument]) -> tuple[int, int]:
    return len(documents), sum(len(d.sentences) for d in documents)


def _table(split: str, segmenters: Sequence[str]) -> Iterator[str]:
    yield f"### {split}"
    yield ""
    yield "| data | language | documents | sentences | " + " | ".join(segmenters) + " |"
    yield "|---|---|---:|---:|" + "---:|" * len(segmenters)
    for name, (load, languages) in DATASETS.items():
        for language in languages:
            documents = load(split, language)
            scores = {s: evaluate(SEGMENTERS[s], documents, language)[0].f1 for s in segmenters}
            best = max(scores.values())
            cells = [f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in scores.values()]
            count, sentences = _sizes(documents)
            yield f"| {name} | {language} | {count} | {sentences} | " + " | ".join(cells) + " |"
    yield ""


def timing(segmenters: Sequence[str], size: int = 100_000) -> Iterator[str]:
    """Seconds each segmenter takes over a ~``size``-character article per language."""
    yield f"### speed: one article of about {size // 1000} KB (paragraphs of the dev data)"
    yield ""
    yield "| language | " + " | ".join(segmenters) + " |"
    yield "|---|" + "---:|" * len(segmenters)
    for language in LANGUAGES:
        text = article(language, size)
        cells = []
        for name in segmenters:
            segmenter = SEGMENTERS[name]
            segmenter(text[:2000], language)  # warm up: imports, rule compilation
            best = float("inf")
            for _ in range(3):  # the best of three: the machine may be busy
                start = time.perf_counter()
                segmenter(text, language)
                best = min(best, time.perf_counter() - start)
            cells.append(f"{best:.3f} s")
        yield f"| {language} | " + " | ".join(cells) + " |"
    yield ""


def article(language: str, size: int = 100_000) -> str:
    """A long article: the dev documents of ``language``, repeated, blank-line paragraphs."""
    documents = load_own("dev", language) + load_flores("dev", language)
    parts: list[str] = []
    total = 0
    while total < size:
        for document in documents:
            parts.append(document.text)
            total += len(document.text) + 2
            if total >= size:
                break
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", metavar="DATA:LANG", help="list wrong boundaries of --split")
    parser.add_argument("--segmenter", default="Dragoman", choices=sorted(SEGMENTERS))
    parser.add_argument("--split", default="dev", choices=SPLITS)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.errors:
        name, language = args.errors.split(":")
        score, misses = evaluate(
            SEGMENTERS[args.segmenter], DATASETS[name][0](args.split, language), language
        )
        for miss in misses:
            print(f"{miss.kind:6} {miss.context}")
        print(f"F1 {score.f1:.3f} P {score.precision:.3f} R {score.recall:.3f}")
        return 0
    names = list(SEGMENTERS)
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("pysbd", "sentencex"))
    lines = ["# Sentence segmentation: boundary F1", ""]
    lines += [
        "`make eval-segmentation` (`python -m bench.segmentation`); data and metric in the "
        "module docstring of `bench/segmentation.py`. `dev` data decided the rules, `test` "
        "data only measures them; the best score of a row is in bold. "
        f"{versions} ({platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs). pysbd has no Azerbaijani rules: it runs with its English "
        "ones there.",
        "",
    ]
    for split in ("test", "dev"):
        lines += list(_table(split, names))
    lines += list(timing(names))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

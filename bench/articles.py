"""Deterministic news-like English articles for the benchmark.

Sentences come from the test corpus (``testkit/corpus/en.txt``), the sample
article and the English side of TICO-19 (``samples/``; its
written, capitalised sentences; the transcribed doctor-patient dialogues are left
out). Every sentence is used at most once across all articles, so no translation
can be answered from a cache and the measured work is the same on every run.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS_EN = REPO / "testkit" / "corpus" / "en.txt"
SAMPLES = REPO / "samples"

MIN_WORDS, MAX_WORDS = 8, 45
TITLE_MAX_WORDS = 14
_WRITTEN = re.compile(r"^[A-Z“\"'].*[.?!”\"']$")
# Two sentences glued without a space ("in 2020.As of March"): the splitter keeps them whole.
_RUN_ON = re.compile(r"[a-z0-9][.?!][A-Z]")


@dataclass(frozen=True)
class BenchArticle:
    """A headline and a body of paragraphs of sentences."""

    title: str
    paragraphs: tuple[tuple[str, ...], ...]

    @property
    def text(self) -> str:
        """The body as the API takes it: sentences joined by spaces, blank-line paragraphs."""
        return "\n\n".join(" ".join(paragraph) for paragraph in self.paragraphs)

    @property
    def sentence_count(self) -> int:
        return sum(len(paragraph) for paragraph in self.paragraphs)


def _lines(path: Path) -> Iterator[str]:
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield line.strip()


def sentence_pool() -> list[str]:
    """Distinct, news-like English sentences in a fixed order (corpus, sample, TICO-19)."""
    from worker.pipeline.text import split_sentences

    sources = [
        CORPUS_EN,
        SAMPLES / "nagorno-karabakh-2020-11-04.en.txt",
        SAMPLES / "tico19-en-fa" / "tico19-test.en",
    ]
    seen: set[str] = set()
    pool: list[str] = []
    for path in sources:
        for line in _lines(path):
            for sentence in split_sentences(line, "en"):
                words = len(sentence.split())
                wanted = MIN_WORDS <= words <= MAX_WORDS and _WRITTEN.match(sentence)
                if wanted and not _RUN_ON.search(sentence) and sentence not in seen:
                    seen.add(sentence)
                    pool.append(sentence)
    return pool


def _headline(sentence: str) -> str:
    # Headlines carry no final full stop.
    return sentence.rstrip(".")


def build_articles(
    count: int = 20, sentences: int = 25, seed: int = 2020, exclude: frozenset[str] = frozenset()
) -> list[BenchArticle]:
    """``count`` articles of ``sentences`` body sentences each, in 1-4 sentence paragraphs.

    ``exclude``: sentences the articles must not use (another set's, to hold them out).

    Raises:
        ValueError: The sentence pool is too small for that many articles.
    """
    rng = random.Random(seed)
    pool = [s for s in sentence_pool() if s not in exclude]
    rng.shuffle(pool)
    titles = [s for s in pool if len(s.split()) <= TITLE_MAX_WORDS][:count]
    body_pool = [s for s in pool if s not in set(titles)]
    if len(titles) < count or len(body_pool) < count * sentences:
        raise ValueError(
            f"{len(pool)} sentences cannot make {count} articles of {sentences}; "
            f"is the samples folder ({SAMPLES}) there?"
        )
    articles: list[BenchArticle] = []
    for index in range(count):
        body = body_pool[index * sentences : (index + 1) * sentences]
        paragraphs: list[tuple[str, ...]] = []
        start = 0
        while start < len(body):
            size = rng.randint(1, 4)
            paragraphs.append(tuple(body[start : start + size]))
            start += size
        articles.append(BenchArticle(title=_headline(titles[index]), paragraphs=tuple(paragraphs)))
    return articles


def held_out_articles(count: int = 4, sentences: int = 16) -> list[BenchArticle]:
    """Articles none of whose sentences are in the standard 20-article set."""
    used = frozenset(
        sentence
        for article in build_articles()
        for sentence in (article.title, *(s for p in article.paragraphs for s in p))
    )
    return build_articles(count, sentences, seed=17, exclude=used)

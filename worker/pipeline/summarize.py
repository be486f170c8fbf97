"""The extractive summariser: whole sentences of the article, no model weights.

``ExtractiveSummarizer`` picks whole sentences from the article: TF-IDF sentence
vectors, PageRank over their similarity graph (centrality), a lead-position prior
(news states the key facts first; lead-3 is a strong baseline), a preference for
real sentences over datelines, bylines and captions, and MMR so it does not pick
two sentences saying the same thing.

An abstractive model (BART, T5, mT5...) can be configured instead: see
``worker.pipeline.abstractive``.
"""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np

from service.errors import InvalidInput
from service.languages import base_language

# Sentences with fewer words than this are datelines, bylines, "None", "Photo: ..."
# and are used only when nothing longer is left.
Count = int | None
"""A summary length in sentences (None: from the ratio, or the default)."""
Ratio = float | None
"""A summary length as a share of the article's sentences."""

MIN_WORDS = 5


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_WORDS: dict[str, frozenset[str]] = {
    "en": _words(
        """a about above after again against all also am an and any are as at be because
        been before being below between both but by can could did do does doing down
        during each few for from further had has have having he her here hers him his how
        i if in into is it its itself just me more most my no nor not now of off on once
        only or other our ours out over own said same says she should so some such than
        that the their theirs them then there these they this those through to too under
        until up very was we were what when where which while who whom why will with would
        you your mr ms mrs according told also one two new"""
    ),
    "az": _words(
        """və ilə da də bu o bir ki üçün olan olub olaraq edib edir etdi etmək isə ya yaxud
        amma lakin ancaq həm hər heç nə necə niyə harada kimi qədər sonra əvvəl artıq daha
        çox ən belə onun onlar onların biz siz mən sən bizim sizin mənim özü öz deyib
        bildirib qeyd edilib olunub olunur edilir il ildə görə üzrə arasında barədə
        haqqında tərəfindən zaman indi hələ yenə bütün hansı kim var yox deyil idi ola olar
        olmaq həmçinin eyni digər başqa bəzi ilk dedi onu ona bunu buna bunun orada burada
        isə əgər çünki"""
    ),
    "fa": _words(
        """و در به از که این آن با را برای است بود شد می هم یا تا بر اما اگر هر نیز ها های
        شده شود کرد کرده کند کنند دارد داشت باید بین پس پیش روی زیر یک خود او ما شما آنها
        ایشان من تو وی همه چه چون چرا کجا هیچ دیگر بسیار خیلی نه بی همین همان آیا ولی زیرا
        اینکه آنکه بوده باشد گفت گفته هستند نیست شوند کردند کنیم می‌شود می‌کند می‌کنند ای
        اند خواهد بودند شدند طور حال درباره توسط مورد طی سوی نمی داد دهد"""
    ),
    "hy": _words(
        """և ու եւ է են էր էին եմ ես ենք եք որ այս այդ այն նա նրանք մենք դուք իր իրենց մեր
        ձեր իմ քո նրա նրանց ի ին մի մեկ համար հետ մասին վրա մեջ կողմից պետք կամ բայց
        սակայն եթե ապա նաև նույնպես արդեն դեռ չէ չի ոչ այո շատ բոլոր ամեն ինչ ինչպես
        որտեղ երբ ով որը որի որոնք այնտեղ այստեղ հետո առաջ ըստ միջև դեպի մինչև ասել
        ասաց նշել նշեց կլինի լինել եղել էլ թե իսկ քան"""
    ),
}
_STOP_WORDS["azb"] = _STOP_WORDS["fa"]

# A word: letters/digits, optionally joined by ZWNJ (Persian "می‌کند" is one word).
_WORD = re.compile(r"[^\W_]+(?:\u200c[^\W_]+)*")
# Armenian emphasis, exclamation and question marks sit inside words (Ինչո՞ւ).
_ARMENIAN_INNER_MARKS = str.maketrans("", "", "\u055b\u055c\u055e")
# Arabic letter forms that Persian writes differently; unify so words match.
_PERSIAN_LETTERS = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9", "\u0649": "\u06cc"})
_FINAL_PUNCTUATION = tuple(".!?…։؟。！？")
_CLOSING_QUOTES = "\"'”’»›)]"


def tokenize(sentence: str, language: str) -> list[str]:
    """Lowercased word tokens of ``sentence``, stop words and 1-letter words removed."""
    lang = base_language(language)
    text = sentence.translate(_ARMENIAN_INNER_MARKS)
    if lang in {"az", "tr"}:
        # Turkic dotted/dotless i: str.lower() maps "İ" to "i" + U+0307, "I" to "i".
        text = text.replace("İ", "i").replace("I", "ı")
    text = text.lower()
    if lang in {"fa", "azb"}:
        text = text.translate(_PERSIAN_LETTERS)
    # Drop combining marks (Arabic harakat, the stray U+0307) so they do not
    # split words; precomposed letters such as ş, ö, ə are untouched.
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("M"))
    stop = _STOP_WORDS.get(lang, frozenset())
    return [w for w in _WORD.findall(text) if len(w) > 1 and w not in stop]


def summary_length(total: int, count: int | None = None, ratio: float | None = None) -> int:
    """The number of sentences a summary of ``total`` sentences should have.

    Args:
        total: sentences in the article.
        count: a fixed number of sentences, at least 1.
        ratio: a share of ``total`` in (0, 1], rounded half up, at least 1
            (0.2 of 25 sentences is 5).

    Raises:
        InvalidInput: not exactly one of ``count`` and ``ratio`` is given, or it is
            out of range.
    """
    if count is not None and ratio is None:
        if count < 1:
            raise InvalidInput(f"summary length must be at least 1 sentence, got {count}")
        return count
    if ratio is not None and count is None:
        if not 0.0 < ratio <= 1.0:  # also rejects NaN
            raise InvalidInput(f"summary ratio must be in (0, 1], got {ratio}")
        return max(1, math.floor(ratio * total + 0.5))
    raise InvalidInput("give exactly one of a sentence count and a ratio for the summary")


def _looks_like_sentence(sentence: str, word_count: int, language: str) -> bool:
    """A real sentence: enough words and sentence-final punctuation."""
    stripped = sentence.rstrip().rstrip(_CLOSING_QUOTES)
    # Armenian text often has an ASCII ":" typed for the full stop "։".
    final = (*_FINAL_PUNCTUATION, ":") if base_language(language) == "hy" else _FINAL_PUNCTUATION
    return word_count >= MIN_WORDS and stripped.endswith(final)


def _tfidf(token_lists: list[list[str]]) -> np.ndarray:
    """L2-normalised TF-IDF rows (sublinear tf, smoothed idf)."""
    vocabulary: dict[str, int] = {}
    for tokens in token_lists:
        for token in tokens:
            vocabulary.setdefault(token, len(vocabulary))
    matrix = np.zeros((len(token_lists), max(len(vocabulary), 1)))
    for row, tokens in enumerate(token_lists):
        for token in tokens:
            matrix[row, vocabulary[token]] += 1.0
    np.log1p(matrix, out=matrix)
    df = np.count_nonzero(matrix, axis=0)
    idf = np.log((1 + len(token_lists)) / (1 + df)) + 1.0
    matrix *= idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: np.ndarray = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return normalised


def _pagerank(similarity: np.ndarray, damping: float = 0.85) -> np.ndarray:
    """PageRank of a weighted undirected graph by power iteration."""
    n = similarity.shape[0]
    weights = similarity.copy()
    np.fill_diagonal(weights, 0.0)
    out = weights.sum(axis=1, keepdims=True)
    # Isolated sentences link to everyone, so rank mass is not lost.
    transition = np.where(out > 0, weights / np.where(out > 0, out, 1.0), 1.0 / n)
    rank: np.ndarray = np.full(n, 1.0 / n)
    for _ in range(200):
        new: np.ndarray = (1 - damping) / n + damping * (transition.T @ rank)
        if np.abs(new - rank).sum() < 1e-10:
            return new
        rank = new
    return rank


class ExtractiveSummarizer:
    """Picks the most central, early, non-redundant sentences of an article.

    Args:
        position_weight: share of the score from the lead-position prior; the
            rest is PageRank centrality.
        redundancy: MMR penalty per unit of cosine similarity to a sentence
            already picked.
        duplicate_threshold: sentences at least this similar to a picked one
            are skipped while anything else is left.
    """

    model_name = "extractive"

    def __init__(
        self,
        position_weight: float = 0.4,
        redundancy: float = 0.5,
        duplicate_threshold: float = 0.7,
    ) -> None:
        self.position_weight = position_weight
        self.redundancy = redundancy
        self.duplicate_threshold = duplicate_threshold

    def summarize(
        self, sentences: list[str], language: str, count: Count = None, ratio: Ratio = None
    ) -> list[str]:
        """Return ``count`` sentences, or a ``ratio`` of them (all if fewer), verbatim, in order."""
        return [sentences[i] for i in self.select(sentences, language, count, ratio)]

    def select(
        self, sentences: list[str], language: str, count: Count = None, ratio: Ratio = None
    ) -> list[int]:
        """Indices of the chosen sentences, ascending.

        Raises:
            InvalidInput: not exactly one of ``count`` and ``ratio``, or out of
                range (see ``summary_length``).
        """
        count = summary_length(len(sentences), count, ratio)
        if len(sentences) <= count:
            return list(range(len(sentences)))
        tokens = [tokenize(s, language) for s in sentences]
        word_counts = [len(_WORD.findall(s)) for s in sentences]
        # Tier 0: real sentences; 1: long lines without final punctuation
        # (headlines, captions); 2: short fragments (datelines, bylines).
        tiers = np.array(
            [
                0 if _looks_like_sentence(s, w, language) else 1 if w >= MIN_WORDS else 2
                for s, w in zip(sentences, word_counts, strict=True)
            ]
        )
        # A lone sentence between fragments on both sides is a photo caption or
        # teaser of a scraped page (byline / caption / "/ AGENCY" credit), not
        # the article's lead.
        isolated = [
            i
            for i in range(1, len(sentences) - 1)
            if tiers[i] == 0 and tiers[i - 1] > 0 and tiers[i + 1] > 0
        ]
        tiers[isolated] = 1
        vectors = _tfidf(tokens)
        similarity = vectors @ vectors.T
        centrality = _pagerank(similarity)
        centrality = centrality / centrality.max()
        # Position counts among real sentences only, so leading boilerplate does
        # not push the article's lead down.
        rank_in_tier = np.zeros(len(sentences))
        for tier in (0, 1, 2):
            members = np.flatnonzero(tiers == tier)
            rank_in_tier[members] = np.arange(len(members))
        position = 1.0 / np.sqrt(1.0 + rank_in_tier)
        score = (1 - self.position_weight) * centrality + self.position_weight * position

        chosen: list[int] = []
        available = np.ones(len(sentences), dtype=bool)
        while len(chosen) < count:
            best = self._pick(score, similarity, tiers, available, chosen)
            chosen.append(best)
            available[best] = False
        return sorted(chosen)

    def _pick(
        self,
        score: np.ndarray,
        similarity: np.ndarray,
        tiers: np.ndarray,
        available: np.ndarray,
        chosen: list[int],
    ) -> int:
        """The next sentence by MMR, from the best tier that has a candidate."""
        overlap = similarity[:, chosen].max(axis=1) if chosen else np.zeros(len(score))
        mmr = score - self.redundancy * overlap
        fresh = overlap < self.duplicate_threshold
        for mask in (fresh, np.ones_like(fresh)):
            for tier in (0, 1, 2):
                candidates = available & mask & (tiers == tier)
                if candidates.any():
                    # argmax takes the first of equal scores: deterministic, earlier wins.
                    return int(np.argmax(np.where(candidates, mmr, -np.inf)))
        raise AssertionError("no sentence left to pick")  # count <= len(sentences)

"""Sentences longer than a model takes: cut at clauses, translated in pieces, joined again."""

from __future__ import annotations

import re
from collections.abc import Callable

from worker.pipeline.text import sentence_separator

_CONJUNCTIONS = (
    "and|but|or|while|which|who|whereas|because|although|though|so|as|yet"
    "|və|amma|lakin|ancaq|çünki|ki|həm|yaxud"
    "|و|اما|ولی|که|زیرا|چون|تا|یا"
    "|և|ու|բայց|սակայն|որ|իսկ|կամ|քանի"
)
# Cut points, strongest first; each pattern matches the text that ends a piece.
_BOUNDARIES = (
    re.compile(r"[;:؛]\s+|\s+[—–]\s+"),
    re.compile(rf"[,،]\s+(?=(?:{_CONJUNCTIONS})(?!\w))", re.IGNORECASE),
    re.compile(r"[,，、]\s*"),
    re.compile(r"[،՝]\s*"),
    re.compile(r"\s+"),
)


def _cut(text: str, pattern: re.Pattern[str]) -> list[str]:
    """``text`` cut after each match of ``pattern``; the parts concatenate to ``text``."""
    parts: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        if match.end() >= len(text) or match.end() == 0:
            continue
        parts.append(text[start : match.end()])
        start = match.end()
    parts.append(text[start:])
    return [p for p in parts if p]


def _split(text: str, max_tokens: int, count: Callable[[str], int], level: int) -> list[str]:
    if count(text.strip()) <= max_tokens:
        return [text]
    if level == len(_BOUNDARIES):
        # One "word" over the limit (a URL, text without spaces): cut by characters.
        head = max(1, _longest_prefix(text, max_tokens, count))
        rest = text[head:]
        return [text[:head]] + (_split(rest, max_tokens, count, level) if rest else [])
    parts = _cut(text, _BOUNDARIES[level])
    if len(parts) == 1:
        return _split(text, max_tokens, count, level + 1)
    pieces: list[str] = []
    for part in parts:
        # Greedily merge neighbours while the merged piece still fits.
        if pieces and count((pieces[-1] + part).strip()) <= max_tokens:
            pieces[-1] += part
        else:
            pieces.append(part)
    return [p for piece in pieces for p in _split(piece, max_tokens, count, level + 1)]


def _longest_prefix(text: str, max_tokens: int, count: Callable[[str], int]) -> int:
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count(text[:middle].strip()) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return low


def split_long_sentence(
    sentence: str, max_tokens: int, count_tokens: Callable[[str], int]
) -> list[str]:
    """Split ``sentence`` into pieces of at most ``max_tokens`` tokens each.

    Cuts at the strongest clause boundary available: ``;``, ``:``, dashes;
    a comma before a conjunction; any comma; Persian/Armenian commas; spaces;
    and, for a single over-long word, between characters. Pieces are stripped;
    ``join_pieces`` puts them back together and no non-space character is lost.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    pieces = _split(sentence, max_tokens, count_tokens, 0)
    return [p.strip() for p in pieces if p.strip()]


def join_pieces(pieces: list[str], language: str) -> str:
    """Rejoin (translated) pieces of one sentence in ``language``."""
    return sentence_separator(language).join(p.strip() for p in pieces if p.strip())

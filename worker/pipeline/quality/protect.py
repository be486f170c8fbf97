"""Masking URLs, e-mails, @handles and #hashtags before translation, and restoring them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.pipeline.quality.numbers import _D, NumberToken, find_numbers, to_ascii_digits

_URL_END = "\"'«»“”.,;:!?)\\]\u060c\u061b\u061f"
_TLDS = "com|org|net|info|gov|edu|int|io|az|am|ir|ge|tr|ru|ua|eu|uk|de|fr"
_PROTECTED = re.compile(
    rf"""
    (?P<url>(?:https?://|www\.)[^\s<>"'«»“”]+[^\s<>{_URL_END}]
      |\b[A-Za-z0-9][\w-]*(?:\.[A-Za-z0-9][\w-]*)*\.(?:{_TLDS})\b(?:/[^\s<>"'«»“”]*[^\s<>{_URL_END}])?)
    |(?P<email>\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b)
    |(?P<handle>(?<![\w@])@\w{{1,30}})
    |(?P<hashtag>(?<![\w#&])\#[^\W\d_]\w*)
    """,
    re.VERBOSE,
)
# The bracket and digit forms a model may turn "[1]" into.
_PLACEHOLDER_ANY = re.compile(rf"[\[(\{{<]\s*({_D}+)\s*[\])\}}>]")


@dataclass(frozen=True)
class Protected:
    """A text with its untranslatable items masked.

    ``masked`` has ``placeholders[i]`` where the original had ``items[i]``;
    ``numbers`` are left in the text (see the module docstring) and listed so a
    caller can verify them after translation.
    """

    original: str
    masked: str
    items: tuple[str, ...]
    placeholders: tuple[str, ...]
    numbers: tuple[NumberToken, ...]


def protect(text: str) -> Protected:
    """Mask URLs, e-mail addresses, @handles and #hashtags in ``text`` with ``[N]``."""
    # Number placeholders above any "[N]" already in the text so restore cannot confuse them.
    existing = [int(to_ascii_digits(m.group(1))) for m in _PLACEHOLDER_ANY.finditer(text)]
    next_id = max(existing, default=0) + 1
    items: list[str] = []
    placeholders: list[str] = []

    def mask(match: re.Match[str]) -> str:
        item = match.group(0)
        if item in items:
            return placeholders[items.index(item)]
        items.append(item)
        placeholders.append(f"[{next_id + len(placeholders)}]")
        return placeholders[-1]

    masked = _PROTECTED.sub(mask, text)
    return Protected(text, masked, tuple(items), tuple(placeholders), tuple(find_numbers(text)))


def restore(protected: Protected, translated: str) -> tuple[str, list[str]]:
    """Put the masked items back into ``translated``.

    Returns:
        The text, and the items whose placeholder the model lost.
    """
    by_id = {
        int(p[1:-1]): item for p, item in zip(protected.placeholders, protected.items, strict=True)
    }
    found: set[int] = set()

    def unmask(match: re.Match[str]) -> str:
        number = int(to_ascii_digits(match.group(1)))
        if number not in by_id:
            return match.group(0)
        found.add(number)
        return by_id[number]

    text = _PLACEHOLDER_ANY.sub(unmask, translated)
    missing = [item for number, item in by_id.items() if number not in found]
    return text, missing

"""Quotation marks and brackets: which close which, and the closed ones in a text."""

from __future__ import annotations

import re

# Closer -> the openers it closes. "“" closes "„" (German, Czech) and otherwise opens.
CLOSES: dict[str, str] = {
    "»": "«",
    "”": "“„",
    "“": "„",
    "’": "‘‚",
    "‘": "‚",
    '"': '"',
    ")": "(",
    "]": "[",
}
OPENS = frozenset('«“„‚‘"([')
MARKS = re.compile(r"[«»“”„‚‘’\"()\[\]]")


def spans(text: str) -> list[tuple[int, int]]:
    """``(opening, closing)`` offsets of the closed quotations and brackets in ``text``."""
    found: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    for match in MARKS.finditer(text):
        mark, at = match.group(), match.start()
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        if mark == "’" and after.isalpha():
            continue  # an apostrophe: Iran’s
        openers = CLOSES.get(mark, "")
        depth = next((i for i in range(len(stack) - 1, -1, -1) if stack[i][0] in openers), -1)
        if depth >= 0:
            # Openers above the match were never closed: drop them.
            found.append((stack[depth][1], at))
            del stack[depth:]
        elif mark in OPENS and not (mark == "‘" and before.isalpha()):
            stack.append((mark, at))
    return found

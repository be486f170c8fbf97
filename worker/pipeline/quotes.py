"""Quotation marks and brackets across sentence boundaries.

A quotation of several sentences is split at its sentence ends, so an opening mark
can be in one sentence and its closing mark in a later one. ``balance`` gives the
engine each such segment with its quotation closed (``Balanced.restore`` takes the
added marks off the output); ``complete`` gives a sentence taken out of its paragraph
(an extractive summary) the marks of the quotation it stands in. Single quotation
marks are left alone: ``’`` is also the apostrophe.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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
# The partner supplied for an unpaired mark (single quotes excluded, see above).
_CLOSER_OF = {"«": "»", "“": "”", "„": "“", '"': '"', "(": ")", "[": "]"}
_OPENER_OF = {"»": "«", "”": "“", '"': '"', ")": "(", "]": "["}
_LEADING_OPENERS = '«“„"(['
_TRAILING_CLOSERS = '»”“")]'


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


def _unpaired(text: str, open_before: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """Closers in ``text`` with no opener, and openers still open at its end.

    ``open_before`` are marks opened earlier (by previous sentences); closing one
    of them is not unpaired.
    """
    stack = list(open_before)
    unopened: list[str] = []
    for match in MARKS.finditer(text):
        mark, at = match.group(), match.start()
        if mark not in _CLOSER_OF and mark not in _OPENER_OF:
            continue  # single quotes
        if mark == '"':
            if '"' in stack:
                del stack[len(stack) - 1 - stack[::-1].index('"') :]
            elif _closes(text, at):
                unopened.append(mark)
            else:
                stack.append(mark)
            continue
        openers = CLOSES.get(mark, "")
        depth = next((i for i in range(len(stack) - 1, -1, -1) if stack[i] in openers), -1)
        if depth >= 0:
            del stack[depth:]
        elif mark in _CLOSER_OF:
            stack.append(mark)
        else:
            unopened.append(mark)
    return unopened, stack


def _closes(text: str, at: int) -> bool:
    """Whether a straight double quote with nothing open is a closing one: ``won," he``."""
    before = text[at - 1] if at else " "
    after = text[at + 1] if at + 1 < len(text) else " "
    return not before.isspace() and before not in _LEADING_OPENERS and not after.isalnum()


@dataclass(frozen=True)
class Balanced:
    """A segment with the partners of its unpaired marks added, and what was added."""

    text: str
    opened: str = ""
    closed: str = ""

    def restore(self, output: str) -> str:
        """Remove the added marks from a translation of ``text`` (in whatever style)."""
        for _ in self.opened:
            output = _drop_leading(output)
        for _ in self.closed:
            output = _drop_trailing(output)
        return output


def balance(segment: str) -> Balanced:
    """``segment`` with the partner of each unpaired mark: ``“A.`` -> ``“A.”``."""
    unopened, unclosed = _unpaired(segment)
    if not unopened and not unclosed:
        return Balanced(segment)
    opened = "".join(_OPENER_OF[mark] for mark in reversed(unopened))
    closed = "".join(_CLOSER_OF[mark] for mark in reversed(unclosed))
    return Balanced(opened + segment + closed, opened, closed)


def _drop_leading(text: str) -> str:
    # The first opening mark before the first letter or digit.
    for at, char in enumerate(text):
        if char.isalnum():
            break
        if char in _LEADING_OPENERS:
            return text[:at] + text[at + 1 :]
    return text


def _drop_trailing(text: str) -> str:
    # The last closing mark after the last letter or digit.
    for at in range(len(text) - 1, -1, -1):
        if text[at].isalnum():
            break
        if text[at] in _TRAILING_CLOSERS:
            return text[:at] + text[at + 1 :]
    return text


def complete(paragraphs: Sequence[Sequence[str]]) -> dict[str, str]:
    """Each sentence inside a quotation split across sentences, with the quotation's marks.

    Args:
        paragraphs: sentences in reading order, by paragraph (``Document.paragraphs``);
            a quotation never runs from one paragraph into the next.

    Returns:
        ``{sentence: completed}`` for the sentences that begin or end inside such a
        quotation (``“Work remains.”``); a sentence not in it needs nothing added.
    """
    completed: dict[str, str] = {}
    for paragraph in paragraphs:
        open_marks: list[str] = []
        for sentence in paragraph:
            # A closer that closes nothing (a stray mark) is left as it is.
            opened = "".join(open_marks)
            open_marks = _unpaired(sentence, open_marks)[1]
            closed = "".join(_CLOSER_OF[mark] for mark in reversed(open_marks))
            if opened or closed:
                completed.setdefault(sentence, opened + sentence + closed)
    return completed

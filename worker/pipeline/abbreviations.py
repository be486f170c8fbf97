"""Abbreviation lists of the sentence splitter, one data file per language.

The files are ``worker/pipeline/segment_data/abbreviations/LANG.txt``: one abbreviation a
line, as written with its final period, in sections that say when it may end a
sentence (a language without a file gets none of these rules):

- ``[not-final]``: never (``Mr.``, ``Gen.``, Azerbaijani ``prof.``, ``b.e.ə.``,
  Persian ``ق.م.``): a name, a figure or more of the sentence follows;
- ``[not-before-number]``: not before a number (``No. 2``, ``Jan. 5``, ``s. 12``);
- ``[final-before-opener]``: only before a word of ``[openers]``, words that
  begin sentences and are rarely capitalised inside one (``in the U.S. The talks``
  against ``the U.S. Army``);
- ``[continuations]``: words that go on with the sentence after an abbreviation
  with inner periods (``7 a.m. GMT``, ``9 p.m. Friday``).

Any other abbreviation ends a sentence before a capital, a digit or a quotation
and not before a lowercase letter, which is what the splitter does for every word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

# Languages that use another language's list.
ALIASES = {"tr": "az"}
SECTIONS = ("not-final", "not-before-number", "final-before-opener", "openers", "continuations")


@dataclass(frozen=True)
class Abbreviations:
    """One language's abbreviations, by when they may end a sentence."""

    not_final: frozenset[str] = frozenset()
    not_before_number: frozenset[str] = frozenset()
    final_before_opener: frozenset[str] = frozenset()
    openers: frozenset[str] = field(default_factory=frozenset)
    continuations: frozenset[str] = field(default_factory=frozenset)

    def may_end(self, token: str, following: str) -> bool:
        """Whether ``token`` (a word with its final period) may end a sentence.

        Args:
            token: the word before the period, with it (``U.S.``, ``Prof.``).
            following: the next word, without opening quotes (may be empty).
        """
        if _listed(token, self.not_final):
            return False
        if following[:1].isdigit() and _listed(token, self.not_before_number):
            return False
        word = following.rstrip(".,;:!?")
        if _listed(token, self.final_before_opener):
            return word in self.openers
        # "7 a.m. GMT", "9 p.m. Friday": an abbreviation with inner periods goes on.
        return not ("." in token[:-1] and word in self.continuations)


def _listed(token: str, entries: frozenset[str]) -> bool:
    # A lowercase entry also matches the capitalised word at a sentence start.
    return token in entries or (token[:1].isupper() and token[:1].lower() + token[1:] in entries)


def parse(text: str) -> Abbreviations:
    """Read a list in the file format above.

    Raises:
        ValueError: an entry before the first section, or an unknown section.
    """
    sections: dict[str, set[str]] = {name: set() for name in SECTIONS}
    current: set[str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            if line[1:-1] not in sections:
                raise ValueError(f"line {number}: unknown section {line}")
            current = sections[line[1:-1]]
        elif current is None:
            raise ValueError(f"line {number}: {line!r} before any section")
        else:
            current.add(line)
    return Abbreviations(
        not_final=frozenset(sections["not-final"]),
        not_before_number=frozenset(sections["not-before-number"]),
        final_before_opener=frozenset(sections["final-before-opener"]),
        openers=frozenset(sections["openers"]),
        continuations=frozenset(sections["continuations"]),
    )


def for_language(language: str) -> Abbreviations | None:
    """The list of a base language code (``en``, ``az``), read once; ``None`` if it has none."""
    return _load(ALIASES.get(language, language))


@cache
def _load(code: str) -> Abbreviations | None:
    if not code.isalpha():
        return None
    resource = resources.files("worker.pipeline") / "segment_data" / "abbreviations" / f"{code}.txt"
    if not resource.is_file():
        return None
    return parse(resource.read_text(encoding="utf-8"))

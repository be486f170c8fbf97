"""What a job translates: distinct sentences (units), the pieces sent to the engine, and
each target language's progress; and what happens to an engine's output (placeholders
and glossary terms restored, numbers repaired, orthography, checks, retry or flag).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from service.errors import DragomanError
from worker import metrics
from worker.pipeline.glossary import (
    MaskedTerms,
    TermIndex,
    restore_terms,
)
from worker.pipeline.quality import (
    Flag,
    Protected,
    check_translation,
    join_pieces,
    normalize_output,
    protect,
    repair_numbers,
    restore,
)
from worker.pipeline.quotes import Balanced, balance


@dataclass(frozen=True)
class Unit:
    """A distinct source sentence, its language, and where it appears (field, index)."""

    text: str
    source: str
    places: tuple[tuple[str, int], ...]


@dataclass
class Piece:
    """The part of a unit that goes to the engine in one segment (most units: all of it).

    ``protected`` masks ``quoted.text``: the piece with the partners of its unpaired
    quotation marks added (worker.quotes), which come off the engine's output again.
    """

    text: str
    protected: Protected
    quoted: Balanced
    terms: MaskedTerms  # glossary terms masked in protected.masked: what the engine gets
    strict: bool = False
    result: str | None = None
    flags: list[str] = field(default_factory=list)
    applied: list[dict[str, Any]] = field(default_factory=list)
    first_try: tuple[str, list[str], list[dict[str, Any]]] | None = None


@dataclass
class UnitWork:
    unit: Unit
    pieces: list[Piece]
    cache_key: str  # looked up before translation, stored under after

    @property
    def done(self) -> bool:
        return all(piece.result is not None for piece in self.pieces)


@dataclass
class LanguagePlan:
    """One target language: its units, and what has come back so far."""

    target: str
    work: list[UnitWork] = field(default_factory=list)
    translated: dict[str, str] = field(default_factory=dict)
    flags: dict[str, list[str]] = field(default_factory=dict)
    futures: dict[Future[str], tuple[UnitWork, Piece]] = field(default_factory=dict)
    places: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    error: DragomanError | None = None
    stored: bool = False
    terms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def term_records(self) -> list[dict[str, Any]]:
        """Glossary terms applied, per place of their sentence, in reading order."""
        order = {"title": 0, "summary": 1, "body": 2}
        records = [
            {"field": field_, "index": index, **term}
            for text, terms in self.terms.items()
            for field_, index in self.places.get(text, ())
            for term in terms
        ]
        return sorted(records, key=lambda r: (order.get(r["field"], 3), r["index"]))

    def flag_records(self) -> list[dict[str, Any]]:
        """Flagged sentences as stored on the translation, in reading order.

        ``target`` is the sentence's translation (shortened as ``source`` is), so a reader
        can find it in the translated text.
        """
        order = {"title": 0, "summary": 1, "body": 2}
        records = [
            {
                "field": field_,
                "index": index,
                "source": text[:200],
                "target": self.translated.get(text, "")[:200] or None,
                "flags": flags,
            }
            for text, flags in self.flags.items()
            for field_, index in self.places.get(text, ())
        ]
        return sorted(records, key=lambda r: (order.get(r["field"], 3), r["index"]))

    @property
    def complete(self) -> bool:
        return not self.futures


def make_piece(text: str, index: TermIndex) -> Piece:
    quoted = balance(text)
    protected = protect(quoted.text)
    return Piece(text, protected, quoted, index.mask(protected.masked))


def check_piece(piece: Piece, output: str, source: str, target: str, settings: Any) -> bool:
    """Post-process an engine output into ``piece``; True if it should be retried."""
    terms = restore_terms(piece.terms, output, target, persian_digits=settings.persian_digits)
    restored, lost = restore(piece.protected, terms.text)
    restored = piece.quoted.restore(restored)
    repaired, _ = repair_numbers(piece.text, restored, target)
    text = normalize_output(repaired, target, persian_digits=settings.persian_digits)
    retry = settings.quality_checks == "retry"
    flags: list[str] = []
    if settings.quality_checks != "off":
        flags = [str(flag) for flag in check_translation(piece.text, text, source, target)]
    if lost and Flag.LOST_PLACEHOLDER not in flags:
        flags.append(str(Flag.LOST_PLACEHOLDER))
    flags += terms.flags
    applied = [term.as_record() for term in terms.applied]
    if flags and retry and not piece.strict:
        piece.strict = True
        piece.first_try = (text, flags, applied)
        return True
    if piece.first_try is not None and len(piece.first_try[1]) < len(flags):
        text, flags, applied = piece.first_try  # the stricter retry did worse
    piece.result, piece.flags, piece.applied = text, flags, applied
    return False


def finish_unit(plan: LanguagePlan, work: UnitWork, fresh: dict[str, str]) -> None:
    unit = work.unit
    text = join_pieces([piece.result or "" for piece in work.pieces], plan.target)
    plan.translated[unit.text] = text
    flags = sorted({flag for piece in work.pieces for flag in piece.flags})
    applied = [term for piece in work.pieces for term in piece.applied]
    if applied:
        plan.terms[unit.text] = applied
    if flags:
        plan.flags[unit.text] = flags
        for flag in flags:
            metrics.QUALITY_FLAGS.labels(flag).inc()
    else:  # only clean translations are worth reusing
        fresh[work.cache_key] = text
    plan.work.remove(work)

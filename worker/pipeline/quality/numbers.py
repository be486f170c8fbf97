"""Digits and numbers: finding them in any script, checking that a translation kept them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_DIGIT_ZEROS = (0x30, 0x660, 0x6F0)  # ASCII, Arabic-Indic, Persian (Extended Arabic-Indic)
_TO_ASCII = {zero + i: str(i) for zero in _DIGIT_ZEROS[1:] for i in range(10)}
_PERSIAN_DIGITS = str.maketrans({str(i): chr(0x6F0 + i) for i in range(10)})
_D = r"[0-9\u0660-\u0669\u06f0-\u06f9]"
_FA_DIGIT = r"[\u0660-\u0669\u06f0-\u06f9]"


def to_ascii_digits(text: str) -> str:
    """``text`` with Persian and Arabic-Indic digits replaced by ASCII ones."""
    return text.translate(_TO_ASCII)


def _digits_like(text: str, template: str) -> str:
    """ASCII digits of ``text`` rewritten in the digit script ``template`` uses."""
    for ch in template:
        code = ord(ch)
        for zero in _DIGIT_ZEROS[1:]:
            if zero <= code <= zero + 9:
                return text.translate({0x30 + i: zero + i for i in range(10)})
    return text


_GROUP_SEPARATORS = ",.'\u00a0\u202f\u2009\u066c\u060c"
_NUMBER = re.compile(
    rf"""
    (?<![0-9\u0660-\u0669\u06f0-\u06f9])
    (?:
      (?P<date>{_D}{{4}}-{_D}{{1,2}}-{_D}{{1,2}}|{_D}{{1,2}}[./]{_D}{{1,2}}[./]{_D}{{4}})
      |(?P<time>{_D}{{1,2}}:{_D}{{2}}(?::{_D}{{2}})?)
      |(?P<number>{_D}{{1,3}}(?:[{_GROUP_SEPARATORS}]{_D}{{3}})+(?:[.,\u066b]{_D}+)?
         |{_D}+(?:[.,\u066b]{_D}+|(?<={_FA_DIGIT})/{_FA_DIGIT}+)?
         |(?:(?<=\s)|^)\.{_D}+)
    )
    (?![0-9\u0660-\u0669\u06f0-\u06f9])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class NumberToken:
    """A number, date or time found in a text, with every value it can stand for.

    ``values`` has several entries when the notation is ambiguous: ``1,234`` is
    1234 in English and 1.234 in Azerbaijani.
    """

    text: str
    start: int
    end: int
    kind: str  # "number", "date" or "time"
    values: frozenset[str]


def _canonical(integer: str, fraction: str = "") -> str:
    integer = integer.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{integer}.{fraction}" if fraction else integer


def _number_values(raw: str) -> frozenset[str]:
    """Every value the notation ``raw`` can mean (separators differ by language)."""
    text = to_ascii_digits(raw)
    separators = [ch for ch in text if not ch.isdigit()]
    groups = re.split(r"[^0-9]", text)
    if not separators:
        return frozenset({_canonical(text)})
    if len(separators) == 1:
        sep, (head, tail) = separators[0], groups
        # Persian writes decimals with "٫" and, by hand, "/" ("۹۹/۹۸").
        if sep in "\u066b/" or len(tail) != 3:
            return frozenset({_canonical(head, tail)})
        if sep in ".,":
            return frozenset({_canonical(head + tail), _canonical(head, tail)})
        return frozenset({_canonical(head + tail)})
    if len(set(separators)) == 1 and separators[0] != "\u066b":
        return frozenset({_canonical("".join(groups))})
    # Mixed separators: the last one is the decimal mark.
    return frozenset({_canonical("".join(groups[:-1]), groups[-1])})


# Words that multiply the number before them: "80 هزار" is 80,000, "2.5 milyon" 2,500,000.
_SCALES = {
    "thousand": 3, "million": 6, "billion": 9, "bn": 9, "mln": 6,
    "min": 3, "milyon": 6, "milyard": 9, "mlrd": 9,
    "هزار": 3, "میلیون": 6, "میلیارد": 9,
    "հազար": 3, "միլիոն": 6, "միլիարդ": 9, "մլն": 6, "մլրդ": 9,
    "тыс": 3, "млн": 6, "млрд": 9,
}  # fmt: skip
_SCALE_AFTER = re.compile(
    rf"\s?({'|'.join(sorted(_SCALES, key=len, reverse=True))})(?![^\W\d_])", re.IGNORECASE
)


def _scaled(value: str, exponent: int) -> str:
    integer, _, fraction = f"{Decimal(value).scaleb(exponent):f}".partition(".")
    return _canonical(integer, fraction)


def _date_values(raw: str) -> frozenset[str]:
    """``year-month-day`` for each reading of a date (``3/4/2020`` is 3 April or March 4)."""
    parts = [p.lstrip("0") or "0" for p in re.split(r"[^0-9]", to_ascii_digits(raw))]
    if len(parts[0]) == 4:
        return frozenset({"-".join(parts)})
    day, month, year = parts
    readings = {f"{year}-{month}-{day}"}
    if "/" in raw:
        readings.add(f"{year}-{day}-{month}")
    return frozenset(readings)


def find_numbers(text: str) -> list[NumberToken]:
    """Numbers, dates (``2020-11-04``, ``04.11.2020``) and times (``20:38``) in ``text``.

    Ranges (``1994–2020``), percentages and ordinals (``27th``, ``27-ci``)
    yield their plain numbers; a number before a scale word (``80 هزار``,
    ``2.5 million``) also stands for its product.
    """
    tokens: list[NumberToken] = []
    for match in _NUMBER.finditer(text):
        raw = match.group(0)
        kind = match.lastgroup or "number"
        if kind == "number":
            values = _number_values(raw)
            if scale := _SCALE_AFTER.match(text, match.end()):
                exponent = _SCALES[scale.group(1).lower()]
                values |= {_scaled(v, exponent) for v in values}
        elif kind == "date":
            values = _date_values(raw)
        else:
            parts = [p.lstrip("0") or "0" for p in re.split(r"[^0-9]", to_ascii_digits(raw))]
            values = frozenset({":".join(parts)})
        tokens.append(NumberToken(raw, match.start(), match.end(), kind, values))
    return tokens


def _match_numbers(
    source: list[NumberToken], target: list[NumberToken], target_text: str
) -> tuple[list[NumberToken], list[NumberToken]]:
    """Source tokens with no counterpart in ``target``, and unused target tokens."""
    used = [False] * len(target)

    def take(wanted: frozenset[str], kinds: tuple[str, ...]) -> bool:
        for i, token in enumerate(target):
            if not used[i] and token.kind in kinds and token.values & wanted:
                used[i] = True
                return True
        return False

    missing: list[NumberToken] = []
    for token in source:
        if take(token.values, (token.kind,)):
            continue
        if token.kind == "date":
            # The month is often written as a word ("4 noyabr 2020"): day and year must stay.
            readings = [v.split("-") for v in token.values]
            if any(
                all(take(frozenset({part}), ("number",)) for part in (year, day))
                for year, _, day in readings
            ):
                continue
        if token.kind == "time" and token.text.endswith(("00", "۰۰", "٠٠")):
            # "8:00 a.m." may become "ساعت ۸ صبح".
            hour = next(iter(token.values)).split(":")[0]
            if take(frozenset({hour}), ("number",)):
                continue
        if token.kind == "number" and take(frozenset(f"{v}:0" for v in token.values), ("time",)):
            continue
        # A number the source repeats may be said once in the translation.
        if any(t.values & token.values for t in target):
            continue
        missing.append(token)
    # A model may group thousands with a plain space ("1 234"), which reads as two numbers.
    still: list[NumberToken] = []
    for token in missing:
        for i in range(len(target) - 1):
            a, b = target[i], target[i + 1]
            joined = target_text[a.start : b.end]
            if used[i] or used[i + 1] or not re.fullmatch(rf"{_D}{{1,3}} {_D}{{3}}", joined):
                continue
            if _number_values(joined.replace(" ", "")) & token.values:
                used[i] = used[i + 1] = True
                break
        else:
            still.append(token)
    return still, [t for t, u in zip(target, used, strict=True) if not u]


def number_mismatches(source: str, translation: str) -> list[NumberToken]:
    """Numbers of ``source`` whose value does not appear in ``translation``."""
    missing, _ = _match_numbers(find_numbers(source), find_numbers(translation), translation)
    return missing


def repair_numbers(source: str, translation: str, target_lang: str) -> tuple[str, list[str]]:
    """Make every number of ``source`` appear, with its value, in ``translation``.

    Digits in the target's script (``۱۲``), a decimal comma and other thousands
    separators count as equal. When as many numbers are missing as there are
    numbers the translation has no source for, each is replaced, in order, by
    the source's number (in the digit script the model used there).

    Returns:
        The repaired text, and a message per number that could not be repaired.
    """
    del target_lang  # the digit script is taken from the model's own output
    target = find_numbers(translation)
    missing, extra = _match_numbers(find_numbers(source), target, translation)
    if not missing:
        return translation, []
    if len(missing) != len(extra) or any(t.kind == "date" for t in missing):
        return translation, [f"number {t.text!r} missing from the translation" for t in missing]
    text = translation
    for wanted, wrong in sorted(zip(missing, extra, strict=True), key=lambda p: -p[1].start):
        text = text[: wrong.start] + _digits_like(wanted.text, wrong.text) + text[wrong.end :]
    return text, []

"""Pre- and post-processing around a translation model, and checks on its output.

Pure functions, no model loading. The pipeline for one sentence is::

    protected = protect(source)                   # mask URLs, e-mails, @handles, #hashtags
    raw = translator.translate(protected.masked)  # pieces from split_long_sentence if too long
    text, lost = restore(protected, raw)
    text, problems = repair_numbers(source, text, target)
    text = normalize_output(text, target)
    flags = check_translation(source, text, source_lang, target)

Why numbers are not masked: NLLB-style sentencepiece models copy digits very
reliably (digits are frequent, short pieces) and localise them where the target
wants it (Persian digits, decimal comma), while a placeholder in place of a
number loses the grammar around it (plural agreement, "3-cü" ordinal suffixes in
Azerbaijani) and can itself be dropped. So numbers stay in the text and are
checked and repaired afterwards. URLs, e-mails, handles and hashtags are the
opposite: long runs of rare pieces that models transliterate into the target
script or "translate" word by word; they are masked.

The placeholder is ``[N]``: ASCII brackets and digits exist in every model's
vocabulary and in every script's text, so they are neither transliterated nor
turned into ``<unk>``. Models may space them (``[ 1 ]``), swap the bracket kind
or write the digit in the target's script (``[۱]``); ``restore`` accepts all of
these. Masking was not measured against a real NLLB checkpoint here; the
restore side is tolerant because of that.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from service.errors import UnsupportedLanguage
from service.languages import likely_script, normalize_code, script_of
from worker.text import sentence_separator

if TYPE_CHECKING:
    from lingua import Language

# ---------------------------------------------------------------- digits

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


# ---------------------------------------------------------------- protection

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


# ---------------------------------------------------------------- numbers

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


# ---------------------------------------------------------------- orthography

_ZWNJ = "\u200c"
_ARABIC_TO_PERSIAN = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9"})
# Persian letters and the harakat/superscript alef that sit on them.
_FA = r"[\u0621-\u063a\u0641-\u065f\u0670-\u06d3\u06d5\u06fa-\u06fc\u06ff]"
_FA_WORD = rf"{_FA}+(?:{_ZWNJ}{_FA}+)*"
_PREVERBS = "بر|در|فرو|فرا|باز|وا|ور"
# Present and past stems of common verbs; "می" joins only a word made of one of
# these and a personal ending, so "میز", "میان", "میلیون", "میدان" stay as they are.
_PRESENT_STEMS = """کن شو توان ده گوی گو رو آی آ باش گیر دان خواه رس یاب بین آور گذار گذر ساز
زن نویس خور پرداز کش مان گرد افت انداز پذیر رسان خوان پرس فرست دار شناس بر کوش جوی گرای
افزای نمای فرمای گشای آزمای پیمای زای نشین ایست کاه سوز دوز بند پوش ترس خند گری پز ریز
پاش چین بخش کار میر میران ورز لرز جنب چرخ تاب تاز جه شکن شکاف فهم طلب رقص خر فروش کوب
پیوند ستان اندیش آموز سپار گمار شمار نگار آرای خیز خواب لغز بار پای پر""".split()  # noqa: SIM905
_PAST_STEMS = """کرد شد توانست داد گفت رفت آمد بود گرفت دانست خواست رسید یافت دید آورد گذاشت
گذشت ساخت زد نوشت خورد پرداخت کشید ماند گشت افتاد انداخت پذیرفت رساند خواند پرسید فرستاد
داشت شناخت برد کوشید جست گرایید افزود نمود فرمود گشود آزمود پیمود زایید نشست ایستاد کاست
سوخت دوخت بست پوشید ترسید خندید گریست پخت ریخت پاشید چید بخشید کاشت مرد ورزید لرزید جنبید
چرخید تابید تاخت جهید شکست شکافت فهمید طلبید رقصید خرید فروخت کوبید پیوست ستاند اندیشید
آموخت سپرد گماشت شمرد نگاشت آراست خاست خوابید لغزید بارید پایید""".split()  # noqa: SIM905
_VERB = (
    rf"(?:(?:{'|'.join(sorted(_PRESENT_STEMS, key=len, reverse=True))})(?:م|ی|د|یم|ید|ند)"
    rf"|(?:{'|'.join(sorted(_PAST_STEMS, key=len, reverse=True))})(?:م|ی|یم|ید|ند)?"
    # Impersonal "one can": می‌توان, نمی‌توان.
    r"|توان)"
)
# Joined forms that are also ordinary words ("میدانی" is also "field-", as in field research).
_MI_EXCEPTIONS = frozenset({"میدانی", "میدانیم", "میراث", "میگرن"})
_END = rf"(?!{_FA}|{_ZWNJ})"
_START = rf"(?<!{_FA})(?<!{_ZWNJ})"
_MI_SPACED = re.compile(rf"{_START}((?:{_PREVERBS})?ن?می) +({_VERB}){_END}")
_MI_JOINED = re.compile(rf"{_START}((?:{_PREVERBS})?ن?می)({_VERB}){_END}")
_PLURAL = r"ها(?:ی(?:ی|م|ت|ش|مان|تان|شان)?|یی|ست)?"
_PLURAL_SPACED = re.compile(rf"({_FA}) +({_PLURAL}){_END}")
# "خانهها" is never a correct spelling: a heh followed by the plural suffix.
_PLURAL_AFTER_HEH = re.compile(rf"({_FA}ه)({_PLURAL}){_END}")
_HEH_SUFFIX_SPACED = re.compile(rf"({_FA}ه) +(ای|ام|ات|اش|اند|ایم|اید|ایی){_END}")
_HEH_PERFECT_JOINED = re.compile(rf"({_FA}{{2}}ه)(اند|ایم|اید){_END}")
_COMPARATIVE_SPACED = re.compile(rf"({_FA}{{2}}) +(تر|ترین|تری|ترها){_END}")
_STRAY_ZWNJ = re.compile(rf"{_ZWNJ}+(?={_ZWNJ}|\s|$)|(?:(?<=\s)|^){_ZWNJ}+")


def restore_zwnj(text: str) -> str:
    """Put back the Persian zero-width non-joiners that NMT tokenisation drops.

    Only unambiguous patterns: the verb prefix می/نمی before a known verb form,
    plural ها/های after a word (spaced) or after heh, enclitics after a final
    heh (``خانه ای``), perfect endings after a past participle (``شدهاند``) and
    comparative تر/ترین (spaced).
    """
    text = _STRAY_ZWNJ.sub("", text)

    def join(match: re.Match[str]) -> str:
        whole = match.group(0).replace(" ", "")
        if whole in _MI_EXCEPTIONS:
            return match.group(0)
        return f"{match.group(1)}{_ZWNJ}{match.group(2)}"

    for pattern in (
        _MI_SPACED,
        _MI_JOINED,
        _PLURAL_SPACED,
        _PLURAL_AFTER_HEH,
        _HEH_SUFFIX_SPACED,
        _HEH_PERFECT_JOINED,
        _COMPARATIVE_SPACED,
    ):
        text = pattern.sub(join, text)
    return text


_ARMENIAN_LETTER = r"[\u0531-\u0556\u0561-\u0587]"
# Abbreviations that keep their period: years (թ., թթ.), centuries (դ., դդ.), titles.
_ARMENIAN_ABBREVIATIONS = frozenset({"թթ", "դդ", "պրն", "տկն", "տիկ", "էջ", "մլն", "մլրդ"})
_ARMENIAN_STOP = re.compile(
    rf"(?<!\S)(\S*?)({_ARMENIAN_LETTER}+)([»”\")\]]*)[.:](?![.:])(?=\s*$|\s*\n|\s+[^\W\d_])"
)


def _armenian_full_stops(text: str) -> str:
    """Sentence-final ASCII ``.`` and ``:`` after an Armenian word become ``։``."""

    def fix(match: re.Match[str]) -> str:
        prefix, word, closing = match.groups()
        end = match.end()
        following = text[end:].lstrip()
        # Initials ("Ն. Փաշինյան") and abbreviations keep their period; a colon
        # before a lowercase word or a quotation is a real colon.
        if len(word) == 1 or word.casefold() in _ARMENIAN_ABBREVIATIONS:
            return match.group(0)
        if following and not following[0].isupper():
            return match.group(0)
        return f"{prefix}{word}{closing}\u0589"

    return _ARMENIAN_STOP.sub(fix, text)


def _base(code: str) -> str:
    with contextlib.suppress(UnsupportedLanguage):
        code = normalize_code(code)
    return code.lower().replace("_", "-").split("-", 1)[0]


def normalize_output(text: str, target: str, persian_digits: bool = False) -> str:
    """Fix the target language's orthography in a model's output.

    Persian (fa, prs): Persian yeh and kaf for their Arabic look-alikes, ZWNJ
    restored (``restore_zwnj``) and, with ``persian_digits``, digits ۰-۹.
    South Azerbaijani (azb): yeh and kaf. Armenian (hy): sentence-final ``.``
    and ``:`` become the Armenian full stop ``։`` (the question mark ``՞`` sits
    on the stressed vowel of the asked word, which a rule cannot find, so
    ``?`` is left alone). Other languages are returned unchanged.
    """
    language = _base(target)
    if language in {"fa", "prs", "azb"}:
        text = text.translate(_ARABIC_TO_PERSIAN)
    if language in {"fa", "prs"}:
        text = restore_zwnj(text)
        if persian_digits:
            text = "".join(
                _digits_like(m, "\u06f0") if m.isdigit() else m
                for m in re.split(r"(\d+)", to_ascii_digits(text))
            )
    if language == "hy":
        text = _armenian_full_stops(text)
    return text


# ---------------------------------------------------------------- checks


class Flag(StrEnum):
    """Problems ``check_translation`` reports; the values are stable."""

    UNTRANSLATED = "untranslated"
    WRONG_SCRIPT = "wrong_script"
    WRONG_LANGUAGE = "wrong_language"
    REPETITION = "repetition"
    LENGTH_RATIO = "length_ratio"
    NUMBERS = "numbers"
    LOST_PLACEHOLDER = "lost_placeholder"


# ISO 15924 code -> first word of the Unicode character names of its letters.
_SCRIPT_NAMES: dict[str, frozenset[str]] = {
    code: frozenset(names)
    for code, *names in (
        entry.split()
        for entry in """Latn LATIN, Arab ARABIC, Armn ARMENIAN, Cyrl CYRILLIC, Grek GREEK,
        Geor GEORGIAN, Hebr HEBREW, Deva DEVANAGARI, Beng BENGALI, Thai THAI, Kore HANGUL,
        Hang HANGUL, Hans CJK, Hant CJK, Hani CJK, Jpan CJK HIRAGANA KATAKANA, Ethi ETHIOPIC,
        Taml TAMIL, Telu TELUGU, Knda KANNADA, Mlym MALAYALAM, Gujr GUJARATI, Guru GURMUKHI,
        Sinh SINHALA, Khmr KHMER, Mymr MYANMAR, Laoo LAO, Tibt TIBETAN""".split(",")  # noqa: SIM905
    )
}
# Characters per unit of meaning relative to Latin-script text; Han packs a word in 1-2.
_SCRIPT_DENSITY = {"Hans": 0.3, "Hant": 0.3, "Hani": 0.3, "Jpan": 0.4, "Kore": 0.35, "Hang": 0.35}
MIN_CHECK_LETTERS = 8  # script share over fewer letters is noise (names, acronyms)
MIN_DETECT_LETTERS = 40  # lingua tells close languages apart only on longer text
MAX_TARGET_CONFIDENCE = 0.05  # lingua's confidence in the target when it is wrong
# Languages an NMT model drifts into instead of the target.
_CONFUSABLE: dict[str, frozenset[str]] = {
    "az": frozenset({"tr", "ru", "kk"}),
    "fa": frozenset({"ar", "ur"}),
    "hy": frozenset({"ru"}),
    "tr": frozenset({"az"}),
    "ar": frozenset({"fa", "ur"}),
}
# Letters only that language uses among its script's neighbours.
_SIGNATURE_LETTERS = {"ur": frozenset("ےںٹڈڑہھ"), "ar": frozenset("ةيكى")}
MIN_LENGTH_CHARS = 20
LENGTH_RATIO_RANGE = (0.3, 3.0)
MIN_SCRIPT_SHARE = 0.25  # Persian science text keeps many Latin terms


def _letter_scripts(text: str) -> Iterator[str]:
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            yield name.split(" ", 1)[0] if name else ""


def _script(code: str) -> str | None:
    try:
        return script_of(code)
    except UnsupportedLanguage:
        return likely_script(_base(code))


@lru_cache(maxsize=1)
def _lingua_languages() -> dict[str, Language]:
    from lingua import Language

    from worker.detect import language_code

    return {language_code(language): language for language in Language.all()}


def _other_language(text: str, source: str, target: str) -> bool:
    """Whether lingua is sure ``text`` is in the source or a look-alike language, not ``target``.

    lingua (low-accuracy mode) is overconfident on technical text: TICO-19's
    English reads as Latin or Sesotho, short Persian lines as Urdu. So only the
    failures NMT really has count (the source copied, English, a neighbour of
    the target), and an Arabic-script guess needs that language's own letters.
    """
    language = _lingua_languages().get(target)
    if language is None:
        return False
    from worker.detect import detect_language, get_detector

    detection = detect_language(text)
    if detection is None or detection.code == target or detection.confidence < 0.9:
        return False
    if detection.code not in {source, "en", *_CONFUSABLE.get(target, ())}:
        return False
    signature = _SIGNATURE_LETTERS.get(detection.code)
    if signature and not any(ch in signature for ch in text):
        return False
    return get_detector().compute_language_confidence(text, language) < MAX_TARGET_CONFIDENCE


def _tokens(text: str, language: str) -> list[str]:
    if not sentence_separator(language):
        return [ch for ch in text if not ch.isspace()]
    return text.split()


def has_repetition(text: str, language: str, min_repeats: int = 4) -> bool:
    """A 1-4 token n-gram repeated ``min_repeats`` times in a row, or few distinct tokens."""
    tokens = [t.casefold() for t in _tokens(text, language)]
    for n in range(1, 5):
        for start in range(len(tokens) - n * min_repeats + 1):
            gram = tokens[start : start + n]
            if not any(ch.isalpha() for t in gram for ch in t):
                continue
            if all(tokens[start + k * n : start + (k + 1) * n] == gram for k in range(min_repeats)):
                return True
    return len(tokens) >= 30 and len(set(tokens)) / len(tokens) < 0.3


def _without_items(protected: Protected) -> str:
    """The masked text with its placeholders blanked (their digits are no numbers)."""
    masked = protected.masked
    for placeholder in protected.placeholders:
        masked = masked.replace(placeholder, " ")
    return masked


def _squash(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def check_translation(
    source_text: str, output: str, source_lang: str, target_lang: str
) -> list[Flag]:
    """Flags for problems in ``output``, a translation of ``source_text``.

    Meant for the final text (placeholders restored, orthography normalised);
    every flag is tuned not to fire on good translations of news sentences.
    """
    flags: list[Flag] = []
    source_base, target_base = _base(source_lang), _base(target_lang)
    source_protected, output_protected = protect(source_text), protect(output)
    squashed_source, squashed_output = _squash(source_text), _squash(output)

    words = len(source_text.split())
    if (
        source_base != target_base
        and words >= 4
        and sum(ch.isalpha() for ch in source_text) >= 20
        and SequenceMatcher(None, squashed_source, squashed_output).ratio() >= 0.9
    ):
        flags.append(Flag.UNTRANSLATED)

    script = _script(target_lang)
    names = _SCRIPT_NAMES.get(script or "")
    letters = list(_letter_scripts(output_protected.masked))
    if names and len(letters) >= MIN_CHECK_LETTERS:
        share = sum(s in names for s in letters) / len(letters)
        if share < MIN_SCRIPT_SHARE:
            flags.append(Flag.WRONG_SCRIPT)

    if len(letters) >= MIN_DETECT_LETTERS and _other_language(
        output_protected.masked, source_base, target_base
    ):
        flags.append(Flag.WRONG_LANGUAGE)

    if has_repetition(output, target_base):
        flags.append(Flag.REPETITION)

    source_chars = sum(not ch.isspace() for ch in source_text)
    if source_chars >= MIN_LENGTH_CHARS:
        expected = _SCRIPT_DENSITY.get(script or "", 1.0) / _SCRIPT_DENSITY.get(
            _script(source_lang) or "", 1.0
        )
        ratio = sum(not ch.isspace() for ch in output) / source_chars / expected
        low, high = LENGTH_RATIO_RANGE
        if not low <= ratio <= high:
            flags.append(Flag.LENGTH_RATIO)

    if number_mismatches(_without_items(source_protected), _without_items(output_protected)):
        flags.append(Flag.NUMBERS)

    if any(item not in output for item in source_protected.items):
        flags.append(Flag.LOST_PLACEHOLDER)
    return flags


# ---------------------------------------------------------------- long sentences

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

"""Target-language clean-up of model output: Persian letters and ZWNJ, digits, Armenian stops."""

from __future__ import annotations

import re

from service.languages import base_language
from worker.pipeline.quality.numbers import _digits_like, to_ascii_digits

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


def normalize_output(text: str, target: str, persian_digits: bool = False) -> str:
    """Fix the target language's orthography in a model's output.

    Persian (fa, prs): Persian yeh and kaf for their Arabic look-alikes, ZWNJ
    restored (``restore_zwnj``) and, with ``persian_digits``, digits ۰-۹.
    South Azerbaijani (azb): yeh and kaf. Armenian (hy): sentence-final ``.``
    and ``:`` become the Armenian full stop ``։`` (the question mark ``՞`` sits
    on the stressed vowel of the asked word, which a rule cannot find, so
    ``?`` is left alone). Other languages are returned unchanged.
    """
    language = base_language(target)
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

"""Language codes as users write them, reduced to one canonical form.

Users write ISO 639-1 (``fa``), ISO 639-3 (``fas``, ``pes``), ISO 639-2/B
(``per``), BCP-47 tags (``fa-IR``) or model codes (``pes_Arab``). All of these
become the canonical code: ISO 639-1 where one exists (``en``, ``fa``, ``hy``,
``az``), otherwise ISO 639-3 (``azb``, ``prs``, ``ckb``). A script subtag is kept
only when it is not the language's usual script (``zh-Hant``, ``ks-Deva``), since
it then names a different output.

Only ``langcodes`` is imported here: the API validates codes with this module and
the workers map the same canonical codes to each model's own codes.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Literal

import langcodes
from langcodes.data_dicts import LIKELY_SUBTAGS, MACROLANGUAGES
from langcodes.tag_parser import LanguageTagError

from service.errors import UnsupportedLanguage

Direction = Literal["rtl", "ltr"]

# Scripts written right to left (ISO 15924).
RTL_SCRIPTS = frozenset(
    {"Adlm", "Arab", "Aran", "Hebr", "Mand", "Mend", "Nkoo", "Rohg", "Samr", "Syrc", "Thaa", "Yezi"}
)

# CLDR has no likely-subtags entry for these, and the fallback through the
# macrolanguage gives the wrong script (az is Latin; South Azerbaijani is Arabic).
_LIKELY_SCRIPT_GAPS = {"azb": "Arab"}


@lru_cache(maxsize=1)
def _non_languages() -> frozenset[str]:
    """IANA subtags that do not name one language: und, mul, qaa..qtz, collections."""
    from langcodes.registry_parser import parse_registry

    codes: set[str] = set()
    for entry in parse_registry():  # type: ignore[no-untyped-call]
        if entry.get("Type") != "language":
            continue
        if entry.get("Scope") in {"special", "collection"}:
            codes.add(entry["Subtag"])
    # Private-use range qaa..qtz.
    codes.update(f"q{b}{c}" for b in "abcdefghijklmnopqrst" for c in "abcdefghijklmnopqrstuvwxyz")
    return frozenset(codes)


def is_language_group(code: str) -> bool:
    """Whether ``code`` names several languages (``mul``, ``gem``, ``zle``, ``ROMANCE``...).

    OPUS-MT uses such codes for multilingual sides of a model.
    """
    text = code.strip()
    if text.lower() in _non_languages():
        return True
    # OPUS-MT also uses made-up upper-case group names (ROMANCE, CELTIC, SCANDINAVIA).
    return text.isupper() and len(text) > 3


def base_language(code: str) -> str:
    """The language of a code as users write it: ``fa-IR`` -> ``fa``, ``pes_Arab`` -> ``fa``."""
    with contextlib.suppress(UnsupportedLanguage):
        code = normalize_code(code)
    return code.lower().replace("_", "-").split("-", 1)[0]


@lru_cache(maxsize=4096)
def _base_language(subtag: str) -> str:
    """The canonical language subtag for a raw one (``fas`` -> ``fa``, ``azj`` -> ``az``)."""
    standard = langcodes.Language.get(langcodes.standardize_tag(subtag, macro=True))
    # CLDR folds some distinct languages into a variety of another (prs -> fa-AF);
    # a translation target must stay distinct, so keep the original code then.
    if standard.script or standard.territory or not standard.language:
        return subtag
    return standard.language


@lru_cache(maxsize=4096)
def unfolded_code(subtag: str) -> str:
    """``subtag`` standardised without folding into its macrolanguage (``twi`` -> ``tw``)."""
    try:
        return langcodes.Language.get(langcodes.standardize_tag(subtag)).language or subtag
    except (LanguageTagError, ValueError):
        return subtag.lower()


@lru_cache(maxsize=4096)
def likely_script(language: str) -> str | None:
    """The script ``language`` (a canonical code) is usually written in, if known."""
    if language in _LIKELY_SCRIPT_GAPS:
        return _LIKELY_SCRIPT_GAPS[language]
    # Only trust real data for the language or its macrolanguage: langcodes would
    # otherwise fall back to und -> en-Latn-US and claim Latin for everything.
    for candidate in (language, MACROLANGUAGES.get(language)):
        if candidate and candidate in LIKELY_SUBTAGS:
            return langcodes.Language.get(LIKELY_SUBTAGS[candidate]).script
    return None


@lru_cache(maxsize=4096)
def normalize_code(code: str) -> str:
    """Canonical user-facing code for ``code``; raises ``UnsupportedLanguage`` on garbage.

    ISO 639-1 where one exists, else ISO 639-3; case-insensitive; NLLB-style
    (``pes_Arab``) and BCP-47 (``fa-IR``) tags reduce to their language, keeping a
    script only when it differs from the language's usual one (``zh-Hant``).
    """
    text = code.strip().replace("_", "-") if isinstance(code, str) else ""
    if not text or not langcodes.tag_is_valid(text):
        raise UnsupportedLanguage(f"Unknown language code: {code!r}", language=str(code))
    tag = langcodes.Language.get(text, normalize=False)
    raw = (tag.language or "").lower()
    if not raw or raw in _non_languages():
        raise UnsupportedLanguage(f"{code!r} does not name a single language", language=str(code))
    base = _base_language(raw)
    script = tag.script
    if script is None and tag.territory:
        # A region can imply a script (zh-TW is Traditional Chinese, sr-ME Latin).
        script = langcodes.Language.get(text).maximize().script
    if script and script != likely_script(base):
        return f"{base}-{script.title()}"
    return base


def script_of(code: str) -> str | None:
    """The script a canonical or raw ``code`` is written in, if known."""
    canonical = normalize_code(code)
    language, _, script = canonical.partition("-")
    return script or likely_script(language)


def text_direction(code: str) -> Direction:
    """``"rtl"`` for languages written right to left (fa, azb, ar, he, ur, ps, ckb...)."""
    return "rtl" if script_of(code) in RTL_SCRIPTS else "ltr"


AUTO = "auto"


def language_name(code: str) -> str:
    """The English name of the language ``code`` (``azb`` -> ``South Azerbaijani``)."""
    try:
        return str(langcodes.Language.get(code).display_name())
    except (LanguageTagError, ValueError, KeyError):
        return code


# CLDR has no autonym for these; the names their own writers use.
_NATIVE_NAME_GAPS = {"azb": "تۆرکجه"}


def native_name(code: str) -> str:
    """The language's name in itself (``fa`` -> ``فارسی``); the English name if unknown."""
    if code in _NATIVE_NAME_GAPS:
        return _NATIVE_NAME_GAPS[code]
    try:
        return str(langcodes.Language.get(code).autonym())
    except (LanguageTagError, ValueError, KeyError):
        return language_name(code)

"""Language codes as users write them, reduced to one canonical form.

Users write ISO 639-1 (``fa``), ISO 639-3 (``fas``, ``pes``), ISO 639-2/B
(``per``), BCP-47 tags (``fa-IR``) or model codes (``pes_Arab``). All of these
become the shortest standard code for the language: ``fa``. Individual
languages inside a macrolanguage collapse to it (``pes`` -> ``fa``, ``azj`` ->
``az``) except where they are distinct written standards with their own model
codes, such as South Azerbaijani ``azb`` (Arabic script).
"""

from __future__ import annotations

import langcodes

from service.errors import UnsupportedLanguage

AUTO = "auto"

# Right-to-left scripts, by canonical language code (the default script of each).
_RTL_LANGUAGES = frozenset(
    {"ar", "azb", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "ug", "ur", "yi"}
)


def normalize_code(code: str) -> str:
    """The canonical code for ``code``; raises ``UnsupportedLanguage`` if it is no language."""
    raw = code.strip()
    if not raw or len(raw) > 35:
        raise UnsupportedLanguage(f"{code!r} is not a language code.")
    try:
        language = langcodes.Language.get(raw.replace("_", "-"))
    except (langcodes.LanguageTagError, ValueError, KeyError) as exc:
        raise UnsupportedLanguage(f"{code!r} is not a language code.") from exc
    if not language.language or not language.is_valid() or language.language == "und":
        raise UnsupportedLanguage(f"{code!r} is not a language code.")
    canonical = language.prefer_macrolanguage().language
    assert canonical is not None
    return canonical


def text_direction(code: str) -> str:
    """``rtl`` or ``ltr`` for text in the language ``code``."""
    return "rtl" if code in _RTL_LANGUAGES else "ltr"


def language_name(code: str) -> str:
    """The English name of the language ``code`` (``azb`` -> ``South Azerbaijani``)."""
    try:
        return str(langcodes.Language.get(code).display_name())
    except (langcodes.LanguageTagError, ValueError, KeyError):
        return code

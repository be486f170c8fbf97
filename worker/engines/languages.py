"""Language codes: what users write, what each model family expects.

Users and the API speak canonical codes: ISO 639-1 where one exists (``en``, ``fa``,
``hy``, ``az``), otherwise ISO 639-3 (``azb``, ``prs``, ``ckb``). A script subtag is
kept only when it is not the language's usual script (``zh-Hant``, ``ks-Deva``), since
it then names a different output. ``normalize_code`` turns anything reasonable
(``fas``, ``per``, ``pes_Arab``, ``fa-IR``, ``AZE``) into that form.

Each model family has its own codes; a ``LanguageMap`` built from the model's tokenizer
vocabulary translates between the two:

- NLLB-200: ``eng_Latn``, ``azj_Latn``, ``azb_Arab``, ``pes_Arab``, ``hye_Armn``...
- M2M100: ``__en__``, ``__fa__``... (ISO 639-1 inside underscores)
- Marian (OPUS-MT): one pair named in the tokenizer config (``en`` -> ``de``), or a
  multi-target model whose vocabulary has ``>>aze<<``-style target tokens.

Only ``langcodes`` is imported here, so the API can use this module too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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

_NLLB_CODE = re.compile(r"^([a-z]{3})_([A-Z][a-z]{3})$")
_M2M100_TOKEN = re.compile(r"^__([a-z]{2,3})__$")
_MARIAN_TOKEN = re.compile(r"^>>([A-Za-z]{2,3}(?:_[A-Z][a-z]{3})?)<<$")


@lru_cache(maxsize=1)
def _non_languages() -> frozenset[str]:
    """IANA subtags that do not name one language: und, mul, qaa..qtz, collections."""
    from langcodes.registry_parser import parse_registry

    codes: set[str] = set()
    for entry in parse_registry():
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
def _unfolded_code(subtag: str) -> str:
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


@dataclass(frozen=True)
class LanguageMap:
    """Canonical codes <-> one model's codes.

    ``sources`` and ``targets`` map canonical codes to the model's codes; ``aliases``
    map other codes that should reach the same entry (``pbt`` -> ``ps``);
    ``any_source`` marks models that read any language (OPUS-MT ``mul-en``).
    """

    family: str
    sources: Mapping[str, str]
    targets: Mapping[str, str]
    aliases: Mapping[str, str] = field(default_factory=dict)
    any_source: bool = False

    def canonical(self, code: str) -> str:
        """The canonical code ``code`` resolves to for this model."""
        raw = code.strip().lower() if isinstance(code, str) else ""
        # A model's own distinct codes (NLLB's Twi next to Akan, M2M100's "ns") win over
        # normalisation, which would fold them into another language or reject them.
        if raw.isalpha():
            for own in (raw, _unfolded_code(raw)):
                if own in self.sources or own in self.targets:
                    return own
        normal = normalize_code(code)
        return self.aliases.get(normal, normal)

    def source_code(self, code: str) -> str:
        """The model's code for source language ``code``; raises ``UnsupportedLanguage``."""
        canonical = self.canonical(code)
        if canonical in self.sources:
            return self.sources[canonical]
        if self.any_source:
            return canonical
        raise UnsupportedLanguage(
            f"The {self.family} model cannot translate from {code!r}", language=str(code)
        )

    def target_code(self, code: str) -> str:
        """The model's code for target language ``code``; raises ``UnsupportedLanguage``."""
        canonical = self.canonical(code)
        if canonical in self.targets:
            return self.targets[canonical]
        raise UnsupportedLanguage(
            f"The {self.family} model cannot translate into {code!r}", language=str(code)
        )

    def languages(self) -> list[str]:
        """Canonical codes the model reads or writes, sorted."""
        return sorted(set(self.sources) | set(self.targets))

    def supports(self, source: str, target: str) -> bool:
        """Whether the model translates ``source`` into ``target``."""
        try:
            self.source_code(source)
            self.target_code(target)
        except UnsupportedLanguage:
            return False
        return True


def _with_macro_aliases(
    codes: Mapping[str, str], aliases: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Reach single members of a macrolanguage under the macrolanguage's code.

    NLLB's only Pashto is Southern Pashto (``pbt``) and its only Quechua is Ayacucho
    (``quy``); users write ``ps`` and ``qu``. Returns the codes with the macrolanguage
    as canonical key, and ``aliases`` plus aliases from the member code to it.
    """
    members: dict[str, list[str]] = {}
    for canonical in codes:
        language, _, script = canonical.partition("-")
        macro = MACROLANGUAGES.get(language)
        if macro and not script:
            members.setdefault(macro, []).append(canonical)
    result = dict(codes)
    all_aliases = dict(aliases)
    for macro, found in members.items():
        if macro in codes or len(found) != 1 or len(macro) != 2:
            continue
        (member,) = found
        result[macro] = result.pop(member)
        all_aliases[member] = macro
        for alias, target in aliases.items():
            if target == member:
                all_aliases[alias] = macro
    return result, all_aliases


def _assign_keys(
    entries: Iterable[tuple[str, str | None, str, str]],
) -> tuple[dict[str, str], dict[str, str]]:
    """Canonical keys for ``(base, script, raw_code, model_code)`` entries, in model order.

    A language with one entry gets its bare code. With several, the one in the usual
    script (or else the first) gets the bare code; the others get ``base-Script`` when
    their script differs, or else their own code when they are a distinct language that
    CLDR folds into a macrolanguage (NLLB's Twi ``tw`` next to Akan ``ak``); plain
    duplicates (Marian's ``>>zho_Hans<<`` next to ``>>cmn_Hans<<``) are dropped.
    Returns the keys and aliases (``zh-Hant`` -> ``zh`` when a model's only Chinese
    is Traditional).
    """
    by_base: dict[str, list[tuple[str | None, str, str]]] = {}
    for base, script, raw, model_code in entries:
        by_base.setdefault(base, []).append((script, raw, model_code))
    keys: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for base, variants in by_base.items():
        usual = likely_script(base)
        # No script means "the usual one" (Marian's >>aze<<).
        preferred = next((v for v in variants if v[0] in (usual, None)), variants[0])
        keys.setdefault(base, preferred[2])
        if preferred[0] and preferred[0] != usual:
            aliases.setdefault(f"{base}-{preferred[0]}", base)
        for script, raw, model_code in variants:
            if (script, raw, model_code) == preferred:
                continue
            if script and script != preferred[0] and script != usual:
                keys.setdefault(f"{base}-{script}", model_code)
            elif (own := _unfolded_code(raw)) != base:
                keys.setdefault(own, model_code)
    return keys, aliases


def nllb_language_map(tokens: Iterable[str]) -> LanguageMap:
    """Map for an NLLB-200 tokenizer, from its ``xxx_Scrp`` language tokens."""
    entries: list[tuple[str, str | None, str, str]] = []
    for token in tokens:
        match = _NLLB_CODE.match(token)
        if match is None:
            continue
        raw, script = match.groups()
        try:
            base = normalize_code(raw)
        except UnsupportedLanguage:
            base = raw
        entries.append((base, script, raw, token))
    codes, aliases = _with_macro_aliases(*_assign_keys(entries))
    return LanguageMap("NLLB", codes, codes, aliases)


def m2m100_language_map(tokens: Iterable[str]) -> LanguageMap:
    """Map for an M2M100 tokenizer, from its ``__xx__`` language tokens (``xx`` -> ``xx``)."""
    entries: list[tuple[str, str | None, str, str]] = []
    for token in tokens:
        match = _M2M100_TOKEN.match(token)
        if match is None:
            continue
        code = match.group(1)
        try:
            entries.append((normalize_code(code), None, code, code))
        except UnsupportedLanguage:
            entries.append((code, None, code, code))
    codes, aliases = _with_macro_aliases(*_assign_keys(entries))
    return LanguageMap("M2M100", codes, codes, aliases)


def _marian_side(code: str | None) -> dict[str, str]:
    if not code or is_language_group(code):
        return {}
    try:
        return {normalize_code(code): code}
    except UnsupportedLanguage:
        return {code.lower(): code}


def marian_language_map(
    source_lang: str | None, target_lang: str | None, tokens: Iterable[str] = ()
) -> LanguageMap:
    """Map for a Marian (OPUS-MT) tokenizer.

    ``source_lang``/``target_lang`` come from the tokenizer config. When the vocabulary
    has ``>>xxx<<`` tokens the model is multi-target and each token is a target; the
    model code is then the token itself, to be prefixed to the source sentence.
    """
    entries: list[tuple[str, str | None, str, str]] = []
    for token in tokens:
        match = _MARIAN_TOKEN.match(token)
        if match is None:
            continue
        code = match.group(1)
        try:
            canonical = normalize_code(code)
        except UnsupportedLanguage:
            continue
        base, _, script = canonical.partition("-")
        entries.append((base, script or None, code.partition("_")[0], token))
    if entries:
        targets, aliases = _with_macro_aliases(*_assign_keys(sorted(entries, key=_marian_rank)))
    else:
        targets, aliases = _marian_side(target_lang), {}
    sources = _marian_side(source_lang)
    any_source = bool(source_lang) and is_language_group(source_lang or "")
    return LanguageMap("Marian", sources, targets, aliases, any_source)


def _marian_rank(entry: tuple[str, str | None, str, str]) -> tuple[int, str]:
    """Prefer ``>>aze<<`` over ``>>aze_Latn<<`` when both name the same target."""
    return (entry[3].count("_"), entry[3])

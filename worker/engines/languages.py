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

The canonical codes themselves are defined in ``service.languages``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from langcodes.data_dicts import MACROLANGUAGES

from service.errors import UnsupportedLanguage
from service.languages import is_language_group, likely_script, normalize_code, unfolded_code

_NLLB_CODE = re.compile(r"^([a-z]{3})_([A-Z][a-z]{3})$")
_M2M100_TOKEN = re.compile(r"^__([a-z]{2,3})__$")
_MARIAN_TOKEN = re.compile(r"^>>([A-Za-z]{2,3}(?:_[A-Z][a-z]{3})?)<<$")


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
            for own in (raw, unfolded_code(raw)):
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
            elif (own := unfolded_code(raw)) != base:
                keys.setdefault(own, model_code)
    return keys, aliases


def _canonical(code: str) -> str:
    """A model's language code in canonical form, or as it is if it is no known code."""
    try:
        return normalize_code(code)
    except UnsupportedLanguage:
        return code


def nllb_language_map(tokens: Iterable[str]) -> LanguageMap:
    """Map for an NLLB-200 tokenizer, from its ``xxx_Scrp`` language tokens."""
    entries: list[tuple[str, str | None, str, str]] = []
    for match in filter(None, map(_NLLB_CODE.match, tokens)):
        raw, script = match.groups()
        entries.append((_canonical(raw), script, raw, match.group(0)))
    codes, aliases = _with_macro_aliases(*_assign_keys(entries))
    return LanguageMap("NLLB", codes, codes, aliases)


def m2m100_language_map(tokens: Iterable[str]) -> LanguageMap:
    """Map for an M2M100 tokenizer, from its ``__xx__`` language tokens (``xx`` -> ``xx``)."""
    entries: list[tuple[str, str | None, str, str]] = []
    for match in filter(None, map(_M2M100_TOKEN.match, tokens)):
        code = match.group(1)
        entries.append((_canonical(code), None, code, code))
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

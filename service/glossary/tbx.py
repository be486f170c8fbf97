"""Glossaries as TBX-Basic, the terminology exchange format CAT tools read and write.

Both dialects are read: TBX v2 (ISO 30042:2008, root ``martif``, ``termEntry`` /
``langSet`` / ``tig`` or ``ntig``) and TBX v3 (ISO 30042:2019, root ``tbx``, ``conceptEntry``
/ ``langSec`` / ``termSec``, DCA style with ``termNote type="..."`` or DCT style with
namespaced elements such as ``basic:administrativeStatus``). Files are parsed with
defusedxml: entity declarations and external references are refused.

A concept entry becomes one glossary entry per term in the source language (every
spelling the article may use), each with, per other language, the preferred term
(``administrativeStatus`` ``preferredTerm-admn-sts``) or else the first term that is not
deprecated or superseded. TBX-Basic has no do-not-translate data category; an entry is
read as do-not-translate when a note, definition or ``transferComment`` says so ("do not
translate", "untranslatable", "DNT") or a term carries ITS ``translate="no"``. Export
writes that as a ``<note>do not translate</note>``, and the matching options as the notes
``case-sensitive`` and ``matches inside words``, so an export imports back unchanged.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import defusedxml
import defusedxml.ElementTree as SafeET

from service.errors import InvalidInput
from service.glossary.entries import (
    MAX_NOTE_CHARS,
    GlossaryEntry,
    ParsedFile,
    RawEntry,
    normalize_language,
)

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ITS_TRANSLATE = "{http://www.w3.org/2005/11/its}translate"
TBX3_NAMESPACE = "urn:iso:std:iso:30042:ed-2"

TbxVersion = Literal[2, 3]

_DNT = re.compile(
    r"\b(?:do\s+not\s+translate|don'?t\s+translate|not\s+to\s+be\s+translated"
    r"|untranslatable|non-?translatable|dnt)\b",
    re.IGNORECASE,
)
_CASE_SENSITIVE = re.compile(r"^\s*case[- ]sensitive\s*$", re.IGNORECASE)
_INSIDE_WORDS = re.compile(r"^\s*match(?:es)?\s+(?:inside|within)\s+words\s*$", re.IGNORECASE)
_NOTE_ELEMENTS = frozenset({"note", "descrip", "admin", "transferComment", "usageNote"})
_TERM_CONTAINERS = frozenset({"tig", "ntig", "termSec"})
_BAD_STATUS = ("deprecated", "superseded")


@dataclass
class _Term:
    text: str
    status: str = ""
    no_translate: bool = False


@dataclass
class _Concept:
    where: str
    terms: dict[str, list[_Term]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    keep: bool = False
    case_sensitive: bool = False
    whole_word: bool = True


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def read_tbx(data: bytes, *, source_language: str | None, max_entries: int) -> ParsedFile:
    """The entries of a TBX file.

    ``source_language`` (canonical) picks the terms matched in articles; without it, the
    document's ``xml:lang`` does.

    Raises:
        InvalidInput: not well-formed XML, DTD entities, not TBX, too many entries.
        UnsupportedLanguage: a language set whose ``xml:lang`` names no language.
    """
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True)
    except defusedxml.DefusedXmlException as exc:
        raise InvalidInput(f"The TBX file is refused: {exc}.") from exc
    except ET.ParseError as exc:
        raise InvalidInput(f"The file is not well-formed XML: {exc}.") from exc
    kind = _local(root.tag)
    if kind not in ("martif", "tbx"):
        raise InvalidInput(
            f"The root element is <{kind}>; a TBX file has <martif> (TBX v2) or <tbx> (TBX v3)."
        )
    document_language = root.get(XML_LANG)
    source = source_language or (
        normalize_language(document_language, "the document's xml:lang")
        if document_language
        else None
    )
    if source is None:
        raise InvalidInput(
            "The TBX file has no xml:lang on its root; give source_language explicitly."
        )
    parsed = ParsedFile([], title=_title(root), source_language=source)
    for number, concept in enumerate(_concepts(root), start=1):
        if number > max_entries:
            raise InvalidInput(
                f"The file has more than {max_entries} entries; a glossary holds at most "
                f"{max_entries} (DRAGOMAN_GLOSSARY_MAX_ENTRIES).",
                limit=max_entries,
            )
        _add_entries(parsed, _read_concept(concept, number), source)
    return parsed


def _title(root: ET.Element) -> str | None:
    for header in root:
        if _local(header.tag) in ("martifHeader", "tbxHeader"):
            for element in header.iter():
                if _local(element.tag) == "title" and _text(element):
                    return _text(element)
    return None


def _concepts(root: ET.Element) -> Iterator[ET.Element]:
    for element in root.iter():
        if _local(element.tag) in ("termEntry", "conceptEntry"):
            yield element


def _read_concept(element: ET.Element, number: int) -> _Concept:
    identifier = element.get("id")
    concept = _Concept(where=f"termEntry {identifier!r}" if identifier else f"termEntry {number}")
    for child in element:
        name = _local(child.tag)
        if name in ("langSet", "langSec"):
            _read_language(concept, child)
        else:
            _read_notes(concept, child)
    return concept


def _read_notes(concept: _Concept, element: ET.Element) -> None:
    """Notes, definitions and comments at concept level; they may mark do-not-translate."""
    for node in element.iter():
        name, kind = _local(node.tag), node.get("type", "")
        if name not in _NOTE_ELEMENTS and kind not in _NOTE_ELEMENTS:
            continue
        text = _text(node)
        if not text:
            continue
        if _CASE_SENSITIVE.match(text):
            concept.case_sensitive = True
        elif _INSIDE_WORDS.match(text):
            concept.whole_word = False
        elif _DNT.search(text) and len(text) < 80:
            concept.keep = True
        elif name == "note" or kind in ("definition", "note"):
            concept.notes.append(text)


def _read_language(concept: _Concept, element: ET.Element) -> None:
    raw = element.get(XML_LANG)
    if not raw:
        return
    language = normalize_language(raw, f"{concept.where}: xml:lang")
    for container in element.iter():
        if _local(container.tag) not in _TERM_CONTAINERS:
            continue
        term = next((n for n in container.iter() if _local(n.tag) == "term"), None)
        if term is None or not _text(term):
            continue
        found = _Term(_text(term))
        for node in container.iter():
            name, kind = _local(node.tag), node.get("type", "")
            if node.get(ITS_TRANSLATE, "").lower() == "no":
                found.no_translate = True
            if "administrativeStatus" in (name, kind):
                found.status = _text(node).lower()
            elif ("transferComment" in (name, kind) or name == "note") and _DNT.search(_text(node)):
                found.no_translate = True
        concept.terms.setdefault(language, []).append(found)


def _preferred(terms: list[_Term]) -> _Term | None:
    for term in terms:
        if "preferred" in term.status:
            return term
    return next((t for t in terms if not any(bad in t.status for bad in _BAD_STATUS)), None)


def _add_entries(parsed: ParsedFile, concept: _Concept, source: str) -> None:
    sources = concept.terms.get(source, [])
    if not sources:
        parsed.skipped.append((concept.where, f"no term in the source language {source!r}"))
        return
    keep = concept.keep or any(term.no_translate for term in sources)
    targets: dict[str, str] = {}
    if not keep:
        for language, terms in concept.terms.items():
            chosen = _preferred(terms) if language != source else None
            if chosen is not None:
                targets[language] = chosen.text
        if not targets:
            parsed.skipped.append(
                (concept.where, "no term in another language, and not marked do-not-translate")
            )
            return
    note = "; ".join(concept.notes)[:MAX_NOTE_CHARS] or None
    ordered = sorted(sources, key=lambda t: "preferred" not in t.status)
    seen: set[str] = set()
    for term in ordered:
        if term.text in seen:
            continue
        seen.add(term.text)
        parsed.entries.append(
            RawEntry(
                source=term.text,
                targets=targets,
                keep=keep,
                case_sensitive=concept.case_sensitive,
                whole_word=concept.whole_word,
                note=note,
                where=concept.where if len(ordered) == 1 else f"{concept.where} ({term.text!r})",
            )
        )


def write_tbx(
    *,
    title: str,
    description: str | None,
    source_language: str,
    entries: Sequence[GlossaryEntry],
    version: TbxVersion = 2,
) -> bytes:
    """The entries as a TBX-Basic document: v2 ``martif`` (default) or v3 ``tbx`` (DCA)."""
    v3 = version == 3

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, attrs)
        if text is not None:
            element.text = text
        return element

    # v3 elements are in the TBX namespace: declared on the root, inherited by the rest.
    root = ET.Element("tbx" if v3 else "martif", {"type": "TBX-Basic"})
    if v3:
        root.set("style", "dca")
        root.set("xmlns", TBX3_NAMESPACE)
    root.set(XML_LANG, source_language)
    header = sub(root, "tbxHeader" if v3 else "martifHeader")
    file_desc = sub(header, "fileDesc")
    title_stmt = sub(file_desc, "titleStmt")
    sub(title_stmt, "title", title)
    if description:
        sub(title_stmt, "note", description)
    sub(sub(file_desc, "sourceDesc"), "p", "Exported from Dragoman")
    if not v3:
        sub(sub(header, "encodingDesc"), "p", "TBXBasicXCSV02.xcs", type="XCSURI")
    body = sub(sub(root, "text"), "body")
    for entry in entries:
        concept = sub(body, "conceptEntry" if v3 else "termEntry", id=entry.id)
        if entry.keep:
            sub(concept, "note", "do not translate")
        if entry.case_sensitive:
            sub(concept, "note", "case-sensitive")
        if not entry.whole_word:
            sub(concept, "note", "matches inside words")
        if entry.note:
            sub(concept, "note", entry.note)
        for language, text in [(source_language, entry.source), *entry.targets.items()]:
            language_set = sub(concept, "langSec" if v3 else "langSet")
            language_set.set(XML_LANG, language)
            term_group = sub(language_set, "termSec" if v3 else "tig")
            sub(term_group, "term", text)
            sub(term_group, "termNote", "preferredTerm-admn-sts", type="administrativeStatus")
    ET.indent(root)
    document = ET.tostring(root, encoding="unicode")
    prolog = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if not v3:
        prolog += '<!DOCTYPE martif SYSTEM "TBXBasiccoreStructV02.dtd">\n'
    return (prolog + document + "\n").encode("utf-8")

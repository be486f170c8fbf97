"""Glossaries as CSV: one entry per row, one column per target language.

The header names the columns, in any order::

    source,keep,case_sensitive,whole_word,note,az,fa,hy
    Nagorno-Karabakh,,,,,Dağlıq Qarabağ,قره‌باغ کوهستانی,Լեռնային Ղարաբաղ
    Dragoman Daily,true,,,,,,

``source`` is required (or, instead, a column named by the glossary's source language);
``keep``, ``case_sensitive``, ``whole_word`` and ``note`` are optional; every other
column is a language code (``az``, ``fa-IR``, ``hye``...). Booleans are ``true``/``false``,
``yes``/``no``, ``1``/``0`` or empty for the default. Files may be UTF-8 (with or without
a byte-order mark) or UTF-16 with a byte-order mark, separated by commas, semicolons or
tabs, as spreadsheets save them. Export writes UTF-8 with a byte-order mark, so that
spreadsheet programs show Armenian and Persian correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from service.errors import InvalidInput, UnsupportedLanguage
from service.glossary.entries import GlossaryEntry, ParsedFile, RawEntry
from service.languages import normalize_code

FLAG_COLUMNS = ("keep", "case_sensitive", "whole_word")
FIXED_COLUMNS = ("source", *FLAG_COLUMNS, "note")
_TRUE = frozenset({"true", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "no", "n", "0"})
_DEFAULTS = {"keep": False, "case_sensitive": False, "whole_word": True}


def decode(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (BOM optional) or UTF-16 with a BOM."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The file is not UTF-8 (byte {exc.start}); save it as UTF-8 or UTF-16."
        ) from exc


def read_csv(data: bytes, *, source_language: str, max_entries: int) -> ParsedFile:
    """The entries of a CSV glossary; ``source_language`` names the source column if no
    column is called ``source``.

    Raises:
        InvalidInput: not UTF-8, malformed CSV, no source column, a bad boolean, too many rows.
        UnsupportedLanguage: a column that is neither a known column nor a language code.
    """
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput("The CSV file is empty.")
        columns = _columns(header, source_language)
        entries: list[RawEntry] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(entries) >= max_entries:
                raise InvalidInput(
                    f"The file has more than {max_entries} entries; a glossary holds at "
                    f"most {max_entries} (DRAGOMAN_GLOSSARY_MAX_ENTRIES).",
                    limit=max_entries,
                )
            entries.append(_entry(row, columns, f"row {reader.line_num}"))
    except csv.Error as exc:
        raise InvalidInput(f"The CSV file is malformed (line {reader.line_num}): {exc}") from exc
    return ParsedFile(entries)


def _columns(header: list[str], source_language: str) -> dict[str, int]:
    """Column name (fixed name or canonical language code) -> position."""
    columns: dict[str, int] = {}
    for position, raw in enumerate(header):
        name = raw.strip()
        if not name:
            continue
        key = name.lower().replace("-", "_").replace(" ", "_")
        if key not in FIXED_COLUMNS:
            try:
                key = normalize_code(name)
            except UnsupportedLanguage as exc:
                raise UnsupportedLanguage(
                    f"The CSV column {name!r} is neither one of {', '.join(FIXED_COLUMNS)} "
                    "nor a language code.",
                    column=name,
                ) from exc
        if key in columns:
            raise InvalidInput(f"The CSV header names {key!r} twice.")
        columns[key] = position
    if "source" not in columns:
        if source_language not in columns:
            raise InvalidInput(
                "The CSV header needs a 'source' column (or one named by the glossary's "
                f"source language, {source_language!r})."
            )
        columns["source"] = columns.pop(source_language)
    if len(columns) > 300:
        raise InvalidInput("The CSV header has more than 300 columns.")
    return columns


def _entry(row: list[str], columns: dict[str, int], where: str) -> RawEntry:
    def cell(name: str) -> str:
        position = columns.get(name)
        return row[position].strip() if position is not None and position < len(row) else ""

    flags = {name: _boolean(cell(name), name, where) for name in FLAG_COLUMNS}
    targets = {code: cell(code) for code in columns if code not in FIXED_COLUMNS and cell(code)}
    return RawEntry(
        source=cell("source"),
        targets=targets,
        keep=flags["keep"],
        case_sensitive=flags["case_sensitive"],
        whole_word=flags["whole_word"],
        note=cell("note") or None,
        where=where,
    )


def _boolean(value: str, name: str, where: str) -> bool:
    lowered = value.lower()
    if not lowered:
        return _DEFAULTS[name]
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInput(f"{where}: {name} is {value!r}; write true or false.")


def write_csv(entries: Sequence[GlossaryEntry], languages: Sequence[str]) -> bytes:
    """The entries as CSV (UTF-8 with a byte-order mark), ``languages`` as columns."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED_COLUMNS, *languages])
    for entry in entries:
        writer.writerow(
            [
                entry.source,
                _flag(entry.keep),
                _flag(entry.case_sensitive),
                _flag(entry.whole_word),
                entry.note or "",
                *(entry.targets.get(code, "") for code in languages),
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _flag(value: bool) -> str:
    return "true" if value else "false"

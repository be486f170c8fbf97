"""CSV and TBX-Basic glossaries: reading real-world files, writing them, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import InvalidInput, UnsupportedLanguage
from service.glossary.csvfile import read_csv, write_csv
from service.glossary.entries import GlossaryEntry, validate_entries
from service.glossary.tbx import read_tbx, write_tbx

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "glossaries"
V2 = SAMPLES / "caucasus-desk.v2.tbx"
V3 = SAMPLES / "caucasus-desk.v3.tbx"
V3_DCT = SAMPLES / "caucasus-desk.v3-dct.tbx"


def tbx_entries(path: Path, source: str | None = None) -> list[GlossaryEntry]:
    parsed = read_tbx(path.read_bytes(), source_language=source, max_entries=100)
    assert parsed.source_language is not None
    return validate_entries(
        parsed.entries, source_language=parsed.source_language, max_entries=100, max_term_chars=200
    )


def by_source(entries: list[GlossaryEntry]) -> dict[str, GlossaryEntry]:
    return {entry.source: entry for entry in entries}


# -- TBX --------------------------------------------------------------------------------


def test_tbx_v2_termbase() -> None:
    parsed = read_tbx(V2.read_bytes(), source_language=None, max_entries=100)
    assert parsed.title == "Caucasus desk terminology"
    assert parsed.source_language == "en"  # xml:lang="en-US"
    entries = by_source(tbx_entries(V2))
    karabakh = entries["Nagorno-Karabakh"]
    # the preferred term of each language, whatever its position
    assert karabakh.targets == {
        "az": "Dağlıq Qarabağ",
        "fa": "قره\u200cباغ کوهستانی",
        "hy": "Լեռնային Ղարաբաղ",
    }
    assert karabakh.note == "Region of the South Caucasus; use these forms in copy."
    # an admitted English synonym is matched too, with the same targets
    assert entries["Mountainous Karabakh"].targets == karabakh.targets
    # a deprecated target is never used
    assert entries["Armenia"].targets["az"] == "Ermənistan"
    # ntig/termGrp structure
    assert entries["ceasefire"].targets == {"az": "atəşkəs", "fa": "آتش\u200cبس", "hy": "հրադադար"}
    # "Do not translate" in a note
    assert entries["JAMnews"].keep and entries["JAMnews"].targets == {}
    assert parsed.skipped == [
        ("termEntry 'c106'", "no term in another language, and not marked do-not-translate"),
        ("termEntry 'c107'", "no term in the source language 'en'"),
    ]


def test_tbx_v2_read_from_another_source_language() -> None:
    entries = by_source(tbx_entries(V2, source="az"))
    assert entries["Dağlıq Qarabağ"].targets["en"] == "Nagorno-Karabakh"
    assert "Xocalı" not in entries  # nothing to translate it into


def test_tbx_v3_dca() -> None:
    parsed = read_tbx(V3.read_bytes(), source_language=None, max_entries=100)
    assert parsed.title == "Iran desk names"
    entries = by_source(tbx_entries(V3))
    assert entries["Supreme Leader"].targets["fa"] == "رهبر جمهوری اسلامی"  # not the deprecated
    assert entries["IRGC"].targets == entries["Islamic Revolutionary Guard Corps"].targets
    assert entries["Radio Farda"].keep
    assert entries["Tabriz"].targets["fa"] == "تبريز"  # kept as written; output normalises it


def test_tbx_v3_dct_with_its_translate_no() -> None:
    parsed = read_tbx(V3_DCT.read_bytes(), source_language=None, max_entries=100)
    assert parsed.source_language == "hy" and parsed.title is None
    entries = by_source(tbx_entries(V3_DCT))
    assert entries["Ազգային ժողով"].targets == {
        "az": "Milli Məclis",
        "en": "National Assembly",
        "fa": "مجلس ملی",
    }
    assert entries["Armenpress"].keep


@pytest.mark.parametrize("sample", [V2, V3, V3_DCT], ids=lambda p: p.name)
@pytest.mark.parametrize("version", [2, 3])
def test_tbx_round_trip(sample: Path, version: int) -> None:
    parsed = read_tbx(sample.read_bytes(), source_language=None, max_entries=100)
    assert parsed.source_language is not None
    entries = tbx_entries(sample)
    written = write_tbx(
        title="Desk",
        description="Our terms",
        source_language=parsed.source_language,
        entries=entries,
        version=version,  # type: ignore[arg-type]
    )
    again = read_tbx(written, source_language=None, max_entries=100)
    assert again.title == "Desk" and again.skipped == []
    assert (
        validate_entries(
            again.entries,
            source_language=parsed.source_language,
            max_entries=100,
            max_term_chars=200,
        )
        == entries
    )
    root = written.decode()
    assert ("<martif" in root) == (version == 2)
    assert ('xmlns="urn:iso:std:iso:30042:ed-2"' in root) == (version == 3)


def test_tbx_flags_round_trip() -> None:
    entries = [
        GlossaryEntry("US", {"az": "ABŞ"}, case_sensitive=True),
        GlossaryEntry("Karabakh", {"az": "Qarabağ"}, whole_word=False, note="Also in compounds."),
        GlossaryEntry("JAMnews", {}, keep=True),
    ]
    written = write_tbx(title="t", description=None, source_language="en", entries=entries)
    parsed = read_tbx(written, source_language=None, max_entries=10)
    assert (
        validate_entries(parsed.entries, source_language="en", max_entries=10, max_term_chars=200)
        == entries
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"not xml at all", "not well-formed"),
        (b"<glossary><term>x</term></glossary>", "<glossary>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE martif [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<martif xml:lang="en"><text><body>&b;</body></text></martif>',
            "refused",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE martif [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<martif xml:lang="en"><text><body>&x;</body></text></martif>',
            "refused",
        ),
        (b'<martif type="TBX-Basic"><text><body/></text></martif>', "xml:lang"),
    ],
)
def test_tbx_refuses_bad_and_hostile_documents(document: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        read_tbx(document, source_language=None, max_entries=10)
    assert message in info.value.message


def test_tbx_unknown_language_and_too_many_entries() -> None:
    document = V2.read_bytes().replace(b'xml:lang="hy-AM"', b'xml:lang="zz-AM"', 1)
    with pytest.raises(UnsupportedLanguage) as info:
        read_tbx(document, source_language=None, max_entries=100)
    assert "termEntry 'c101'" in info.value.message
    with pytest.raises(InvalidInput) as too_many:
        read_tbx(V2.read_bytes(), source_language=None, max_entries=3)
    assert "more than 3" in too_many.value.message


# -- CSV --------------------------------------------------------------------------------


def csv_entries(data: bytes, source: str = "en") -> list[GlossaryEntry]:
    parsed = read_csv(data, source_language=source, max_entries=100)
    return validate_entries(
        parsed.entries, source_language=source, max_entries=100, max_term_chars=200
    )


def test_csv_as_documented() -> None:
    data = (
        "source,keep,case_sensitive,whole_word,note,az,fa-IR,hye\n"
        "Nagorno-Karabakh,,,,,Dağlıq Qarabağ,قره‌باغ کوهستانی,Լեռնային Ղարաբաղ\n"
        "Dragoman Daily,true,,,Our name,,,\n"
        "US,no,yes,1,,ABŞ,آمریکا,ԱՄՆ\n"
        ",,,,,,,\n"
    ).encode()
    karabakh, outlet, us = csv_entries(data)
    assert karabakh.targets == {
        "az": "Dağlıq Qarabağ",
        "fa": "قره‌باغ کوهستانی",
        "hy": "Լեռնային Ղարաբաղ",
    }
    assert outlet.keep and outlet.note == "Our name"
    assert us.case_sensitive and us.whole_word and not us.keep


def test_csv_from_a_spreadsheet_semicolons_bom_and_language_named_source() -> None:
    data = "\ufeffen;az;fa\r\nArmenia;Ermənistan;ارمنستان\r\n".encode()
    (entry,) = csv_entries(data)
    assert entry.source == "Armenia" and entry.targets == {"az": "Ermənistan", "fa": "ارمنستان"}
    utf16 = "source\taz\nTabriz\tTəbriz\n".encode("utf-16")
    (tabriz,) = csv_entries(utf16)
    assert tabriz.targets == {"az": "Təbriz"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfa\x00bad", "not UTF-8"),
        (b"az,fa\nErmenistan,Armenistan\n", "'source' column"),
        (b"source,keep,az\nArmenia,maybe,x\n", "keep is 'maybe'"),
        (b'source,az\n"Armenia,x\n', "malformed"),
        (b"source,az,az\nArmenia,x,y\n", "twice"),
    ],
)
def test_csv_errors(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        read_csv(data, source_language="en", max_entries=100)
    assert message in info.value.message


def test_csv_unknown_language_column() -> None:
    with pytest.raises(UnsupportedLanguage) as info:
        read_csv(b"source,elvish\nArmenia,x\n", source_language="en", max_entries=100)
    assert "column 'elvish' is neither one of source, keep" in info.value.message


def test_csv_round_trip() -> None:
    entries = tbx_entries(V2)
    languages = sorted({code for entry in entries for code in entry.targets})
    written = write_csv(entries, languages)
    assert written.startswith("\ufeffsource,keep,case_sensitive,whole_word,note,az,fa,hy".encode())
    assert csv_entries(written) == entries

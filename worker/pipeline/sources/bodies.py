"""Bodies of HTTP answers: content codings undone in bounded steps, text decoded.

Decompression (gzip, deflate, br) never produces more than ``STEP`` bytes at a
time, so the fetcher can stop a compression bomb at its size limit instead of
holding what one chunk inflates to. Text is decoded with the charset of the
Content-Type header, else a byte order mark, else the document's own
``<meta charset>`` or XML declaration, else the one charset-normalizer finds;
ISO-8859-1 and ASCII mean windows-1252, as browsers read them.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import brotli
import charset_normalizer

from service.errors import FetchFailed

# Decoded output is produced in steps of this size at most.
STEP = 64 * 1024
# How much of a document's start is searched for <meta charset> / <?xml encoding?>.
PRESCAN_BYTES = 4096


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str
    found_in: Literal["header", "bom", "document", "detected", "default"]


_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|p|div)\b", re.I | re.S
)
_XML_START = re.compile(rb"^\s*<\?xml\b")


def sniff_type(body: bytes) -> str:
    """A media type for a document served without one: HTML, XML, or not text."""
    head = body[:PRESCAN_BYTES].lstrip(codecs.BOM_UTF8)
    if _HTML_START.match(head):
        return "text/html"
    if _XML_START.match(head):
        return "text/xml"
    if head.startswith(b"%PDF"):
        return "application/pdf"
    return "application/octet-stream"


# -- decompression in bounded steps -------------------------------------------


Decoder = Callable[[bytes | None], Iterator[bytes]]


def decoder_chain(encodings: list[str], url: str) -> Decoder:
    """A decoder undoing ``encodings`` (applied in order, so undone in reverse)."""
    decoders = [_decoder(name, url) for name in reversed(encodings)]

    def chain(data: bytes | None) -> Iterator[bytes]:
        pieces: Iterable[bytes | None] = [data]
        for decoder in decoders:
            pieces = _through(decoder, pieces)
        for piece in pieces:
            if piece:
                yield piece

    return chain


def _through(decoder: Decoder, pieces: Iterable[bytes | None]) -> Iterator[bytes | None]:
    for piece in pieces:
        yield from decoder(piece)
        if piece is None:
            yield None


def _decoder(name: str, url: str) -> Decoder:
    if name in ("gzip", "x-gzip"):
        return _zlib_decoder(zlib.MAX_WBITS | 16, url)
    if name == "deflate":
        return _deflate_decoder(url)
    if name == "br":
        return _brotli_decoder(url)
    raise FetchFailed(f"The site used an unknown content encoding {name!r}.", url=url)


def _zlib_decoder(wbits: int, url: str) -> Decoder:
    state = {"obj": zlib.decompressobj(wbits)}

    def decode(data: bytes | None) -> Iterator[bytes]:
        obj = state["obj"]
        try:
            if data is None:
                yield obj.flush()
                return
            while data:
                yield obj.decompress(data, STEP)
                data = obj.unconsumed_tail
                if obj.eof and obj.unused_data:  # another gzip member follows
                    data = obj.unused_data
                    obj = state["obj"] = zlib.decompressobj(wbits)
        except zlib.error as exc:
            raise FetchFailed(f"The site sent a corrupt compressed body: {exc}", url=url) from exc

    return decode


def _deflate_decoder(url: str) -> Decoder:
    # "deflate" is zlib-wrapped by the standard and raw deflate on some servers.
    first: dict[str, Decoder] = {}

    def decode(data: bytes | None) -> Iterator[bytes]:
        if "d" not in first:
            if data is None:
                return
            first["d"] = _zlib_decoder(zlib.MAX_WBITS if _is_zlib(data) else -zlib.MAX_WBITS, url)
        yield from first["d"](data)

    return decode


def _is_zlib(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _brotli_decoder(url: str) -> Decoder:
    decompressor = brotli.Decompressor()

    def decode(data: bytes | None) -> Iterator[bytes]:
        try:
            if data is None:
                while not decompressor.can_accept_more_data():
                    yield decompressor.process(b"", output_buffer_limit=STEP)
                return
            yield decompressor.process(data, output_buffer_limit=STEP)
            while not decompressor.can_accept_more_data():
                yield decompressor.process(b"", output_buffer_limit=STEP)
        except brotli.error as exc:
            raise FetchFailed(f"The site sent a corrupt compressed body: {exc}", url=url) from exc

    return decode


# -- charsets ------------------------------------------------------------------


_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I | re.S)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels browsers decode as another charset (the WHATWG Encoding standard).
_ALIASES = {
    "iso-8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "ascii": "windows-1252",
    "us-ascii": "windows-1252",
    "iso-8859-9": "windows-1254",
    "tis-620": "windows-874",
    "x-sjis": "shift_jis",
    "utf8": "utf-8",
}


def decode_body(body: bytes, declared: str | None, media_type: str = "text/html") -> Decoded:
    """Decode a document: header charset, BOM, in-document declaration, detection, UTF-8."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom) :].decode(name, "replace"), name, "bom")
    header = _charset(declared)
    if header is not None:
        text = _strict(body, header)
        if text is not None:
            return Decoded(text, header, "header")
    in_document = _declared_in_document(body[:PRESCAN_BYTES], media_type)
    if in_document is not None:
        text = _strict(body, in_document)
        if text is not None:
            return Decoded(text, in_document, "document")
    text = _strict(body, "utf-8")
    if text is not None:  # legacy charsets rarely decode as UTF-8; ASCII is both
        return Decoded(text, "utf-8", "detected" if not body.isascii() else "default")
    best = charset_normalizer.from_bytes(body).best()
    if best is not None and best.encoding:
        name = _charset(best.encoding) or "utf-8"
        text = _strict(body, name)
        if text is not None:
            return Decoded(text, name, "detected")
    return Decoded(body.decode("utf-8", "replace"), "utf-8", "default")


def _charset(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    name = label.strip().lower()
    try:
        return codecs.lookup(_ALIASES.get(name, name)).name
    except LookupError:
        return None


def _declared_in_document(head: bytes, media_type: str) -> str | None:
    match = _XML_ENCODING.match(head)
    if match is None and "html" in media_type:
        match = _META_CHARSET.search(head)
    if match is None:
        return None
    name = _charset(match.group(1).decode("ascii", "replace"))
    # A document in UTF-16 cannot declare it in ASCII-compatible bytes: the label lies.
    if name is not None and name.startswith("utf-16"):
        return "utf-8"
    return name


def _strict(body: bytes, charset: str) -> str | None:
    try:
        return body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return None

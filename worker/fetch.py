"""Fetching pages and feeds from URLs that callers give: hostile input, fetched defensively.

One :meth:`Fetcher.fetch` is one document:

- http and https only, no credentials in the URL; every redirect is followed by
  hand and checked again, up to ``fetch_max_redirects``.
- The address actually connected to is checked (``service.egress``): the
  transport resolves the host itself and connects to an address it has just
  vetted, so a DNS answer cannot change between the check and the connection
  (rebinding); TLS still verifies, and SNI and ``Host`` still name, the host of
  the URL. Environment proxies are ignored, since through one the connection
  would go to the proxy. The webhook sender uses the same transport.
- One deadline for the whole fetch (``fetch_timeout``): every connect, read and
  write waits at most until it, so a page that trickles in byte by byte ends too.
- At most ``fetch_max_bytes``, counted after decompression and decoded in
  bounded steps, so neither a long page nor a compression bomb fills memory.
  gzip, deflate and br are accepted.
- Only the content types the caller accepts (HTML, XHTML and plain text for an
  article; RSS, Atom and XML for a feed); a PDF or an image is refused.
- Conditional requests (``If-None-Match``, ``If-Modified-Since``) for feeds.
- Text is decoded with the charset of the Content-Type header, else a byte order
  mark, else the document's own ``<meta charset>`` or XML declaration, else the
  one charset-normalizer finds; ISO-8859-1 and ASCII mean windows-1252, as browsers read them.

Every way a fetch ends badly is a ``service.errors.FetchError`` with a stable code.
"""

from __future__ import annotations

import codecs
import datetime as dt
import ipaddress
import logging
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any, Literal
from urllib.parse import urljoin

import brotli
import charset_normalizer
import httpcore
import httpx

from service import egress
from service.egress import Address, AddressPolicy
from service.errors import (
    FetchFailed,
    FetchRefused,
    FetchTimeout,
    FetchTooLarge,
    FetchTooManyRedirects,
    FetchUnavailable,
    FetchUnsupportedType,
)
from service.settings import Settings

log = logging.getLogger("dragoman.fetch")

ARTICLE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
# Feeds are often served as text/xml, application/xml or even text/html; the
# feed parser decides whether the document is a feed.
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "text/html",
        "text/plain",
    }
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Statuses after which the same request may work later.
RETRYABLE = frozenset({408, 425, 429})
# Decoded output is produced in steps of this size at most.
STEP = 64 * 1024
# How much of a document's start is searched for <meta charset> / <?xml encoding?>.
PRESCAN_BYTES = 4096

Resolver = Callable[[str, int], list[Address]]


class AddressRefused(Exception):
    """The host resolved to an address the policy refuses; nothing was sent."""

    def __init__(self, host: str, address: Address) -> None:
        super().__init__(f"{host} resolves to {address}, an internal address")
        self.host = host
        self.address = address


# -- the transport: connect only to vetted addresses, within a deadline --------------


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float | None) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, self._deadline, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, self._deadline, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host (httpcore passes the origin's), not the
        # address connected to: certificate checks and SNI stay right.
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, self._deadline, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _clamp(timeout: float | None, deadline: float | None, error: type[Exception]) -> float | None:
    """``timeout``, shortened to end by ``deadline``; ``error`` once the deadline has passed."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the fetch's time limit has passed")
    return left if timeout is None else min(timeout, left)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves each host itself and connects only to addresses the policy allows.

    A host with any refused address is refused as a whole (no half-internal names).
    After connecting, the peer address is checked once more.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        deadline: float | None = None,
        resolver: Resolver = egress.resolve,
    ) -> None:
        self.policy = policy
        self.deadline = deadline
        self.resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        for address in addresses:
            if not self.policy.allows(address):
                raise AddressRefused(host, address)
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=_clamp(timeout, self.deadline, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            peer = ipaddress.ip_address(str(stream.get_extra_info("server_addr")[0]).split("%")[0])
            if not self.policy.allows(peer):
                stream.close()
                raise AddressRefused(host, peer)
            return _DeadlineStream(stream, self.deadline)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never a fetch target")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's HTTP transport over :class:`GuardedBackend`, without environment proxies."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        deadline: float | None = None,
        resolver: Resolver = egress.resolve,
        verify: Any = True,
    ) -> None:
        super().__init__(verify=verify, trust_env=False)
        # httpx builds its connection pool without a way to pass a network backend;
        # the pool is rebuilt with the same TLS context and the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=self._pool._ssl_context,
            max_connections=4,
            max_keepalive_connections=2,
            network_backend=GuardedBackend(policy, deadline=deadline, resolver=resolver),
        )


# -- the fetcher ---------------------------------------------------------------


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 5 * 1024 * 1024
    timeout: float = 30.0
    max_redirects: int = 5
    user_agent: str = "Mozilla/5.0 (compatible; Dragoman/0.1; news summarisation and translation)"

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            max_bytes=settings.fetch_max_bytes,
            timeout=settings.fetch_timeout,
            max_redirects=settings.fetch_max_redirects,
            user_agent=settings.fetch_user_agent,
        )


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str
    found_in: Literal["header", "bom", "document", "detected", "default"]


@dataclass(frozen=True)
class Fetched:
    """A document as the site served it (body decompressed, not yet decoded)."""

    url: str
    final_url: str
    status_code: int
    content_type: str  # the media type, lower case, without parameters ("" on a 304)
    charset: str | None  # the Content-Type header's charset parameter
    body: bytes
    fetched_at: dt.datetime
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[str, ...] = ()

    @property
    def not_modified(self) -> bool:
        """A conditional request found the document unchanged (304)."""
        return self.status_code == 304

    def decode(self) -> Decoded:
        return decode_body(self.body, self.charset, self.content_type)


class Fetcher:
    """Fetches documents within limits, connecting only where the policy allows."""

    def __init__(
        self,
        limits: FetchLimits,
        policy: AddressPolicy,
        *,
        resolver: Resolver = egress.resolve,
        verify: Any = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.policy = policy
        self.resolver = resolver
        self.verify = verify
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> Fetcher:
        return cls(
            FetchLimits.from_settings(settings),
            AddressPolicy.of(settings.allow_private_fetch, settings.fetch_allowed_networks),
        )

    def fetch(
        self,
        url: str,
        *,
        accept: frozenset[str] = ARTICLE_TYPES,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """Fetch ``url``, following redirects.

        Args:
            accept: media types the document may have.
            etag, last_modified: validators of the copy the caller has; a 304
                answer then comes back as a ``Fetched`` whose ``not_modified`` is true.

        Raises:
            FetchRefused, FetchFailed, FetchTooLarge, FetchUnsupportedType,
            FetchTooManyRedirects, FetchUnavailable, FetchTimeout.
        """
        deadline = self.clock() + self.limits.timeout
        headers = {
            "User-Agent": self.limits.user_agent,
            "Accept": _accept_header(accept),
            "Accept-Encoding": "gzip, deflate, br",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        transport = GuardedTransport(
            self.policy, deadline=deadline, resolver=self.resolver, verify=self.verify
        )
        timeout = httpx.Timeout(self.limits.timeout)
        with httpx.Client(
            transport=transport, headers=headers, timeout=timeout, follow_redirects=False
        ) as client:
            current = url
            visited: list[str] = []
            while True:
                egress.split_http_url(current, what="The URL" if not visited else "A redirect")
                try:
                    result = self._get(client, current, url, visited, accept, deadline)
                except AddressRefused as exc:
                    raise FetchRefused(
                        egress.refusal("The URL" if not visited else "A redirect", exc.address),
                        url=current,
                    ) from exc
                except httpx.InvalidURL as exc:
                    raise FetchRefused(f"Not a valid URL: {exc}", url=current) from exc
                except httpx.RemoteProtocolError as exc:
                    if "location" not in str(exc).lower():
                        raise FetchUnavailable(
                            f"Could not fetch the page: {_describe(exc)}", url=current
                        ) from exc
                    raise FetchFailed(f"A redirect to an invalid URL: {exc}", url=current) from exc
                except httpx.TimeoutException as exc:
                    raise FetchTimeout(
                        f"Fetching took longer than {self.limits.timeout:g} s "
                        "(DRAGOMAN_FETCH_TIMEOUT).",
                        url=current,
                    ) from exc
                except httpx.HTTPError as exc:
                    raise FetchUnavailable(
                        f"Could not fetch the page: {_describe(exc)}", url=current
                    ) from exc
                if isinstance(result, Fetched):
                    return result
                visited.append(current)
                if len(visited) > self.limits.max_redirects:
                    raise FetchTooManyRedirects(
                        f"More than {self.limits.max_redirects} redirects "
                        "(DRAGOMAN_FETCH_MAX_REDIRECTS).",
                        url=url,
                    )
                current = result

    def _get(
        self,
        client: httpx.Client,
        current: str,
        url: str,
        visited: list[str],
        accept: frozenset[str],
        deadline: float,
    ) -> Fetched | str:
        """One request: the document, or the URL a redirect points to."""
        with client.stream("GET", current) as response:
            status = response.status_code
            if status in REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchFailed(f"HTTP {status} without a Location header.", url=current)
                return urljoin(current, location.strip())
            if status == 304 and (
                "If-None-Match" in client.headers or "If-Modified-Since" in client.headers
            ):
                return self._result(url, current, visited, response, b"", "")
            _check_status(status, current)
            media_type, charset = _content_type(response.headers.get("Content-Type"))
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
                raise self._too_large(current)
            body = self._read(response, current)
            if not media_type:
                media_type = sniff_type(body)
            if media_type not in accept:
                raise FetchUnsupportedType(
                    f"The URL serves {media_type or 'an unknown type'}, not "
                    f"{', '.join(sorted(accept))}.",
                    url=current,
                    content_type=media_type,
                )
            return self._result(url, current, visited, response, body, media_type, charset)

    def _read(self, response: httpx.Response, current: str) -> bytes:
        encodings = [
            e.strip().lower()
            for e in response.headers.get("Content-Encoding", "").split(",")
            if e.strip() and e.strip().lower() != "identity"
        ]
        decoder = _decoder_chain(encodings, current)
        size = 0
        parts: list[bytes] = []
        for raw in response.iter_raw(STEP):
            for piece in decoder(raw):
                size += len(piece)
                if size > self.limits.max_bytes:
                    raise self._too_large(current)
                parts.append(piece)
        for piece in decoder(None):
            size += len(piece)
            if size > self.limits.max_bytes:
                raise self._too_large(current)
            parts.append(piece)
        return b"".join(parts)

    def _too_large(self, current: str) -> FetchTooLarge:
        return FetchTooLarge(
            f"The document is over {self.limits.max_bytes} bytes (DRAGOMAN_FETCH_MAX_BYTES).",
            url=current,
            limit=self.limits.max_bytes,
        )

    def _result(
        self,
        url: str,
        current: str,
        visited: list[str],
        response: httpx.Response,
        body: bytes,
        media_type: str,
        charset: str | None = None,
    ) -> Fetched:
        return Fetched(
            url=url,
            final_url=current,
            status_code=response.status_code,
            content_type=media_type,
            charset=charset,
            body=body,
            fetched_at=dt.datetime.now(dt.UTC),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            redirects=tuple(visited),
        )


def _check_status(status: int, url: str) -> None:
    if 200 <= status < 300:
        return
    if status >= 500 or status in RETRYABLE:
        raise FetchUnavailable(f"The site answered HTTP {status}.", url=url, status=status)
    raise FetchFailed(f"The site answered HTTP {status}.", url=url, status=status)


def _accept_header(accept: frozenset[str]) -> str:
    return ", ".join(sorted(accept)) + ";q=1.0, */*;q=0.1"


def _content_type(header: str | None) -> tuple[str, str | None]:
    """The media type (lower case) and the charset parameter of a Content-Type header."""
    if not header:
        return "", None
    message = Message()
    message["Content-Type"] = header
    media_type = message.get_content_type() if "/" in header.split(";", 1)[0] else ""
    charset = message.get_param("charset")
    return media_type.lower(), str(charset).strip().strip("'\"") if charset else None


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


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- decompression in bounded steps -------------------------------------------


Decoder = Callable[[bytes | None], Iterator[bytes]]


def _decoder_chain(encodings: list[str], url: str) -> Decoder:
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

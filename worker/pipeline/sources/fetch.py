"""Fetching pages and feeds from URLs that callers give: hostile input, fetched defensively.

http and https only, redirects followed by hand and checked, the address actually
connected to checked (``sources.transport``), one deadline for the whole fetch, a size
limit counted after decompression, accepted content types only, conditional requests,
charset from the header, a BOM, the document or a detector (``sources.bodies``). Every
way a fetch ends badly is a ``service.errors.FetchError`` with a stable code.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urljoin

import httpx

from service import egress
from service.egress import AddressPolicy
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
from worker.pipeline.sources.bodies import STEP, Decoded, decode_body, decoder_chain, sniff_type
from worker.pipeline.sources.transport import AddressRefused, GuardedTransport, Resolver

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
                result = self._step(client, current, url, visited, accept, deadline)
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

    def _step(
        self,
        client: httpx.Client,
        current: str,
        url: str,
        visited: list[str],
        accept: frozenset[str],
        deadline: float,
    ) -> Fetched | str:
        """One request of a fetch, its transport errors told apart by their codes."""
        what = "The URL" if not visited else "A redirect"
        egress.split_http_url(current, what=what)
        try:
            return self._get(client, current, url, visited, accept, deadline)
        except AddressRefused as exc:
            raise FetchRefused(egress.refusal(what, exc.address), url=current) from exc
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
                f"Fetching took longer than {self.limits.timeout:g} s (DRAGOMAN_FETCH_TIMEOUT).",
                url=current,
            ) from exc
        except httpx.HTTPError as exc:
            raise FetchUnavailable(
                f"Could not fetch the page: {_describe(exc)}", url=current
            ) from exc

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
                return str(urljoin(current, location.strip()))
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
        decoder = decoder_chain(encodings, current)
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


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

"""The fetcher against a real HTTP server on loopback: every limit and every refusal.

The server listens on 127.0.0.1 (or 127.0.0.2), an internal address, so tests that
fetch from it allow it explicitly; the refusal tests do not.
"""

from __future__ import annotations

import gzip
import ipaddress
import socket
import ssl
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest

from service.egress import Address, AddressPolicy, check_fetch_url
from service.errors import (
    FetchError,
    FetchFailed,
    FetchRefused,
    FetchTimeout,
    FetchTooLarge,
    FetchTooManyRedirects,
    FetchUnavailable,
    FetchUnsupportedType,
    PermanentError,
    TransientError,
)
from tests.fixtures.site import LocalSite, Reply, Request, page, redirect, repeat
from worker.pipeline.sources.bodies import decode_body
from worker.pipeline.sources.fetch import ARTICLE_TYPES, FEED_TYPES, Fetcher, FetchLimits

OPEN = AddressPolicy(allow_private=True)
CLOSED = AddressPolicy()
LIMITS = FetchLimits(max_bytes=1024 * 1024, timeout=3.0, max_redirects=3)
MB = 1024 * 1024

ARTICLE = (
    "<!doctype html><html lang=en><head><title>Talks resume</title></head>"
    "<body><p>Delegations met in Baku on Monday.</p></body></html>"
)
PERSIAN = (
    "خبرگزاري‌ها گزارش دادند که گفت‌وگوهاي صلح در ژنو ادامه دارد. پيش‌نويس توافق چهارشنبه منتشر مي‌شود."
)
RUSSIAN = (
    "Переговоры о мире продолжаются в Женеве, сообщили информационные агентства. "
    "Проект соглашения опубликуют в среду, а затем его рассмотрят другие группы."
)


def fetcher(policy: AddressPolicy = OPEN, **limits: object) -> Fetcher:
    values = {**LIMITS.__dict__, **limits}
    return Fetcher(FetchLimits(**values), policy)  # type: ignore[arg-type]


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        s.route("/article", page(ARTICLE))
        yield s


def test_fetches_a_page_with_its_metadata(site: LocalSite) -> None:
    site.route(
        "/a", page(ARTICLE, ETag='"v1"', **{"Last-Modified": "Mon, 01 Dec 2025 10:00:00 GMT"})
    )
    fetched = fetcher().fetch(site.url("/a"))
    assert fetched.status_code == 200
    assert fetched.content_type == "text/html"
    assert fetched.final_url == fetched.url == site.url("/a")
    assert fetched.etag == '"v1"'
    assert fetched.decode().text == ARTICLE
    assert fetched.decode().charset == "utf-8"
    request = site.requests[-1]
    assert "Dragoman" in request.headers["user-agent"]
    assert "text/html" in request.headers["accept"]
    assert {"gzip", "deflate", "br"} <= {
        e.strip() for e in request.headers["accept-encoding"].split(",")
    }


def test_follows_redirects_and_reports_where_it_ended(site: LocalSite) -> None:
    site.route("/old", redirect("/moved"))
    site.route("/moved", redirect(site.url("/article"), status=301))
    fetched = fetcher().fetch(site.url("/old"))
    assert fetched.final_url == site.url("/article")
    assert fetched.redirects == (site.url("/old"), site.url("/moved"))


def test_too_many_redirects(site: LocalSite) -> None:
    site.route("/loop", redirect("/loop"))
    with pytest.raises(FetchTooManyRedirects) as caught:
        fetcher().fetch(site.url("/loop"))
    assert caught.value.code == "fetch_too_many_redirects"
    assert site.hits("/loop") == LIMITS.max_redirects + 1


# -- where a fetch may go ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/article",
        "gopher://example.org/",
        "http:///no-host",
        "http://user:secret@example.org/",
        "http://example.org:99999/",
        "http://[::1/",
        "http://example.org:80:80/",
        "javascript:alert(1)",
    ],
)
def test_only_http_urls_without_credentials(url: str) -> None:
    with pytest.raises(FetchRefused):
        fetcher().fetch(url)


def test_a_loopback_target_is_refused_before_anything_is_sent(site: LocalSite) -> None:
    for host in ("127.0.0.1", "localhost"):
        with pytest.raises(FetchRefused) as caught:
            fetcher(CLOSED).fetch(site.url("/article", host=host))
        assert "internal address" in caught.value.message
    assert site.requests == []


def test_a_redirect_to_loopback_is_refused() -> None:
    """The site is allowed (127.0.0.2, as an intranet range); its redirects to 127.0.0.1 are not."""
    policy = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.2/32"),))
    with LocalSite() as inner, LocalSite("127.0.0.2") as outer:
        inner.route("/secret", page("internal"))
        outer.route("/article", page(ARTICLE))
        outer.route("/to-ip", redirect(inner.url("/secret")))
        outer.route("/to-name", redirect(inner.url("/secret", host="localhost")))
        outer.route("/to-file", redirect("file:///etc/passwd"))
        outer.route("/to-garbage", redirect("http://[::1/x"))
        assert fetcher(policy).fetch(outer.url("/article")).status_code == 200
        for path in ("/to-ip", "/to-name"):
            with pytest.raises(FetchRefused, match="internal address"):
                fetcher(policy).fetch(outer.url(path))
        with pytest.raises(FetchRefused, match="http"):
            fetcher(policy).fetch(outer.url("/to-file"))
        with pytest.raises(FetchFailed, match="invalid URL"):
            fetcher(policy).fetch(outer.url("/to-garbage"))
        assert inner.requests == []


def test_the_address_connected_to_is_the_one_checked(site: LocalSite) -> None:
    """A name that resolves to loopback at connect time is refused, whatever it said before.

    The resolver stands for DNS: it answers a public address first (what a check at
    submission sees) and loopback afterwards (DNS rebinding).
    """
    answers = [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

    def rebinding(host: str, port: int) -> list[Address]:
        return [answers.pop(0) if len(answers) > 1 else answers[0]]

    guarded = Fetcher(LIMITS, CLOSED, resolver=rebinding)
    assert rebinding("news.example", 80) == [ipaddress.ip_address("93.184.215.14")]
    with pytest.raises(FetchRefused):
        guarded.fetch(f"http://news.example:{site.port}/article")
    assert site.requests == []


def test_connects_to_the_vetted_address_with_the_host_header_kept(site: LocalSite) -> None:
    def to_loopback(host: str, port: int) -> list[Address]:
        assert host == "news.example"
        return [ipaddress.ip_address("127.0.0.1")]

    policy = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    fetched = Fetcher(LIMITS, policy, resolver=to_loopback).fetch(
        f"http://news.example:{site.port}/article"
    )
    assert fetched.status_code == 200
    assert site.requests[-1].headers["host"] == f"news.example:{site.port}"


def test_tls_verifies_the_name_of_the_url_not_the_address(tmp_path: Path) -> None:
    """HTTPS to a vetted IP still sends SNI for, and checks the certificate of, the URL's host."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=news.example"]
        + ["-addext", "subjectAltName=DNS:news.example"],
        check=True,
        capture_output=True,
    )
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,func-returns-value]
    client_tls = ssl.create_default_context(cafile=str(cert))

    def to_loopback(host: str, port: int) -> list[Address]:
        return [ipaddress.ip_address("127.0.0.1")]

    with LocalSite(tls=server_tls) as secure:
        secure.route("/article", page(ARTICLE))
        got = Fetcher(LIMITS, OPEN, resolver=to_loopback, verify=client_tls).fetch(
            f"https://news.example:{secure.port}/article"
        )
        assert got.decode().text == ARTICLE
        assert names == ["news.example"]
        # The same server under another name: the certificate does not match.
        with pytest.raises(FetchUnavailable):
            Fetcher(LIMITS, OPEN, resolver=to_loopback, verify=client_tls).fetch(
                f"https://other.example:{secure.port}/article"
            )


def test_submission_check_refuses_internal_hosts_without_fetching() -> None:
    with pytest.raises(FetchRefused):
        check_fetch_url("http://127.0.0.1:9/", CLOSED)
    with pytest.raises(FetchRefused):
        check_fetch_url("http://[::ffff:10.0.0.1]/", CLOSED)
    with pytest.raises(FetchRefused, match="resolve"):
        check_fetch_url("http://does-not-exist.invalid/", CLOSED)
    check_fetch_url("http://127.0.0.1:9/", OPEN)
    check_fetch_url("http://93.184.215.14/", CLOSED)


# -- size, time and type ------------------------------------------------------------


def test_a_50_mb_page_is_cut_off_while_streaming(site: LocalSite) -> None:
    site.route(
        "/big",
        lambda _: Reply(
            headers={"Content-Type": "text/html"}, body=repeat(b"<p>news</p>" * 1000, 50 * MB)
        ),
    )
    started = time.monotonic()
    with pytest.raises(FetchTooLarge) as caught:
        fetcher().fetch(site.url("/big"))
    assert caught.value.code == "fetch_too_large"
    assert time.monotonic() - started < 3


def test_a_declared_length_over_the_limit_is_refused_before_reading(site: LocalSite) -> None:
    site.route(
        "/declared",
        lambda _: Reply(
            headers={"Content-Type": "text/html", "Content-Length": str(50 * MB)},
            body=repeat(b"x" * 65536, 50 * MB),
        ),
    )
    with pytest.raises(FetchTooLarge):
        fetcher().fetch(site.url("/declared"))


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compression_bomb_is_cut_off(site: LocalSite, encoding: str) -> None:
    raw = b"\0" * (50 * MB)
    bomb = gzip.compress(raw) if encoding == "gzip" else brotli.compress(raw)
    assert len(bomb) < MB
    site.route("/bomb", page(bomb, **{"Content-Encoding": encoding}))
    with pytest.raises(FetchTooLarge):
        fetcher().fetch(site.url("/bomb"))


def test_a_slow_page_ends_at_the_deadline(site: LocalSite) -> None:
    """A page that trickles in (each byte well within a read timeout) still ends on time."""
    site.route(
        "/slow",
        lambda _: Reply(headers={"Content-Type": "text/html"}, body=repeat(b"<", 1000), delay=0.2),
    )
    started = time.monotonic()
    with pytest.raises(FetchTimeout) as caught:
        fetcher(timeout=1.5).fetch(site.url("/slow"))
    elapsed = time.monotonic() - started
    assert caught.value.code == "fetch_timeout"
    assert isinstance(caught.value, TransientError)
    assert 1.4 < elapsed < 2.5


def test_a_silent_server_ends_at_the_deadline(site: LocalSite) -> None:
    site.route("/silent", lambda _: Reply(body=iter([b"never"]), delay=5))
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetcher(timeout=1.0).fetch(site.url("/silent"))
    assert time.monotonic() - started < 2


def test_a_pdf_is_not_an_article(site: LocalSite) -> None:
    site.route("/report.pdf", page(b"%PDF-1.7\n...", content_type="application/pdf"))
    site.route("/untyped", page(b"%PDF-1.7\n...", content_type=""))
    for path in ("/report.pdf", "/untyped"):
        with pytest.raises(FetchUnsupportedType) as caught:
            fetcher().fetch(site.url(path))
        assert caught.value.details["content_type"] == "application/pdf"


def test_content_types(site: LocalSite) -> None:
    site.route("/plain", page("Plain text news.", content_type="text/plain"))
    site.route("/xhtml", page(ARTICLE, content_type="application/xhtml+xml"))
    site.route("/untyped-html", page(ARTICLE, content_type=""))
    site.route("/rss", page("<?xml version='1.0'?><rss/>", content_type="application/rss+xml"))
    for path in ("/plain", "/xhtml", "/untyped-html"):
        assert fetcher().fetch(site.url(path)).content_type in ARTICLE_TYPES
    with pytest.raises(FetchUnsupportedType):
        fetcher().fetch(site.url("/rss"))
    assert (
        fetcher().fetch(site.url("/rss"), accept=FEED_TYPES).content_type == "application/rss+xml"
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, FetchFailed),
        (410, FetchFailed),
        (403, FetchFailed),
        (429, FetchUnavailable),
        (503, FetchUnavailable),
    ],
)
def test_error_statuses(site: LocalSite, status: int, error: type[FetchError]) -> None:
    site.route("/status", lambda _: Reply(status=status, body=b"no"))
    with pytest.raises(error) as caught:
        fetcher().fetch(site.url("/status"))
    assert caught.value.details["status"] == status
    expected_kind = TransientError if error is FetchUnavailable else PermanentError
    assert isinstance(caught.value, expected_kind)


def test_nothing_listening_is_transient() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(FetchUnavailable):
        fetcher().fetch(f"http://127.0.0.1:{port}/")


def test_conditional_get_answers_not_modified(site: LocalSite) -> None:
    def feed(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v2"':
            return Reply(status=304, headers={"ETag": '"v2"'})
        return Reply(
            headers={"Content-Type": "application/rss+xml", "ETag": '"v2"'}, body=b"<rss/>"
        )

    site.route("/feed", feed)
    first = fetcher().fetch(site.url("/feed"), accept=FEED_TYPES)
    assert not first.not_modified
    second = fetcher().fetch(site.url("/feed"), accept=FEED_TYPES, etag=first.etag)
    assert second.not_modified
    assert second.body == b""


# -- encodings and charsets ---------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "br", "gzip, br"])
def test_compressed_pages(site: LocalSite, encoding: str) -> None:
    body = ARTICLE.encode()
    if encoding == "gzip":
        data = gzip.compress(body)
    elif encoding == "deflate":
        data = zlib.compress(body)
    elif encoding == "raw-deflate":
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data = compressor.compress(body) + compressor.flush()
        encoding = "deflate"
    elif encoding == "br":
        data = brotli.compress(body)
    else:
        data = brotli.compress(gzip.compress(body))
    site.route("/c", page(data, **{"Content-Encoding": encoding}))
    assert fetcher().fetch(site.url("/c")).decode().text == ARTICLE


def test_corrupt_compression_fails(site: LocalSite) -> None:
    site.route("/c", page(b"not gzip at all", **{"Content-Encoding": "gzip"}))
    with pytest.raises(FetchFailed, match="corrupt"):
        fetcher().fetch(site.url("/c"))


def persian_page(meta: str) -> bytes:
    html = (
        f"<html dir=rtl lang=fa><head>{meta}<title>صلح</title></head>"
        f"<body><p>{PERSIAN}</p></body></html>"
    )
    return html.encode("cp1256")


def test_legacy_charset_from_the_header(site: LocalSite) -> None:
    site.route("/fa", page(persian_page(""), content_type="text/html; charset=windows-1256"))
    decoded = fetcher().fetch(site.url("/fa")).decode()
    assert PERSIAN in decoded.text
    assert (decoded.charset, decoded.found_in) == ("cp1256", "header")


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="windows-1256">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">',
    ],
)
def test_legacy_charset_from_meta(site: LocalSite, meta: str) -> None:
    site.route("/fa", page(persian_page(meta), content_type="text/html"))
    decoded = fetcher().fetch(site.url("/fa")).decode()
    assert PERSIAN in decoded.text
    assert (decoded.charset, decoded.found_in) == ("cp1256", "document")


def test_undeclared_legacy_charset_is_detected(site: LocalSite) -> None:
    html = f"<html lang=ru><body><p>{RUSSIAN}</p><p>{RUSSIAN}</p></body></html>"
    site.route("/ru", page(html.encode("cp1251"), content_type="text/html"))
    decoded = fetcher().fetch(site.url("/ru")).decode()
    assert RUSSIAN in decoded.text
    assert (decoded.charset, decoded.found_in) == ("cp1251", "detected")


def test_charset_rules() -> None:
    # A header that lies (UTF-8 declared, windows-1256 sent) does not win over the bytes.
    body = persian_page('<meta charset="windows-1256">')
    assert PERSIAN in decode_body(body, "utf-8").text
    # latin-1 means windows-1252, as in browsers ("’" is 0x92 there).
    assert decode_body("It’s".encode("cp1252"), "iso-8859-1").text == "It’s"
    # A BOM wins; an unknown label is ignored.
    assert decode_body(b"\xef\xbb\xbfsalam", "windows-1256").text == "salam"
    assert decode_body("Salam, dünya".encode(), "x-unknown").text == "Salam, dünya"
    # XML declares its encoding in its first line.
    xml = "<?xml version='1.0' encoding='windows-1251'?><rss>Привет</rss>".encode("cp1251")
    assert "Привет" in decode_body(xml, None, "application/rss+xml").text

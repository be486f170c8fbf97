"""The desk at ``/``, used as an editor uses it, in Chromium.

The model is the tests' tiny random-weight NLLB, so translations are gibberish (and
flagged); what is checked is what the page does with them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Route, expect

from testkit.procs import REPO, Proc, free_port
from tests.browser.conftest import MAX_TEXT_CHARS, SCREENSHOTS, Desk, submit_json
from tests.conftest import SAMPLE_ARTICLE
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.browser

FINAL = ("succeeded", "failed", "cancelled")


def sample() -> tuple[str, str]:
    """The sample's headline and its body (everything after the headline)."""
    text = SAMPLE_ARTICLE.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    headline = next(p for p in paragraphs if "Liberated" in p)
    return headline, "\n\n".join(paragraphs[paragraphs.index(headline) + 1 :])


def assert_accessible(page: Page) -> None:
    """axe-core finds nothing serious or critical."""
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []


def shoot(page: Page, name: str, full_page: bool = False) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def wait_finished(desk: Desk, job_id: str, timeout: float = 180) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = httpx.get(f"{desk.base}/v1/jobs/{job_id}", timeout=5).json()
        return job if job["status"] in FINAL else None

    result: dict[str, Any] = wait_until(finished, timeout, f"job {job_id}", desk.procs)
    return result


def platform_fonts(page: Page, selector: str) -> set[str]:
    """The fonts Chromium really drew the element's text with."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {font["familyName"] for font in fonts if font["glyphCount"] > 0}


def test_the_empty_form(desk: Desk, open_page: Callable[..., Page]) -> None:
    page = open_page()
    response = page.goto(f"{desk.base}/")
    assert response is not None and response.ok
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "require-trusted-types-for 'script'" in policy
    # the model's languages arrive, with their own names; az, fa, hy are chosen already
    expect(page.locator("#add-language")).to_be_enabled()
    assert page.locator("#add-language option[value=ka]").inner_text().startswith("Georgian")
    checked = page.locator("input[name=target]:checked")
    assert sorted(checked.evaluate_all("boxes => boxes.map(b => b.value)")) == ["az", "fa", "hy"]
    expect(page.locator("label.choice:has(input[value=fa]) .native")).to_have_text("فارسی")
    # static files are versioned: cached for good under their hash
    script = page.locator("script[type=module]").get_attribute("src")
    assert script and re.fullmatch(r"/static/[0-9a-f]{12}/js/main\.js", script)
    asset = httpx.get(f"{desk.base}{script}")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    shoot(page, "empty-form", full_page=True)
    assert_accessible(page)
    # a Markdown file, opened: its "# " line is the headline
    page.set_input_files(
        "#file",
        files=[{"name": "talks.md", "mimeType": "text/markdown",
                "buffer": b"# Talks resume\n\nDelegations met in Baku.\r\n"}],
    )  # fmt: skip
    expect(page.locator("#title")).to_have_value("Talks resume")
    expect(page.locator("#text")).to_have_value("Delegations met in Baku.\n")
    # a text file, dropped on the article
    dropped = page.evaluate_handle(
        """() => { const data = new DataTransfer();
        data.items.add(new File(["Dropped article."], "wire.txt", {type: "text/plain"}));
        return data; }"""
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    expect(page.locator("#text")).to_have_value("Dropped article.")


def test_the_sample_article_live_to_three_panes(desk: Desk, open_page: Callable[..., Page]) -> None:
    page = open_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{desk.base}/")
    headline, body = sample()
    page.fill("#title", headline)
    page.fill("#text", body)
    page.evaluate("window.sameDocument = true")
    page.click("#submit")
    expect(page.locator("#job")).to_be_visible()
    # the progress bar moves while the job runs, fed by the event stream
    seen: set[tuple[float, float]] = set()
    shot = False
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = page.evaluate(
            "() => { const p = document.getElementById('job-progress');"
            " return [p.value, p.max, document.getElementById('job').dataset.status]; }"
        )
        value, maximum, status = state
        if status in FINAL:
            break
        if 0 < value < maximum:
            seen.add((value, maximum))
            if not shot:
                shoot(page, "running")
                shot = True
        time.sleep(0.05)
    assert page.locator("#job").get_attribute("data-status") == "succeeded"
    assert len(seen) >= 2, seen
    # three panes, each ready, each in its language and direction; no reload happened
    panes = page.locator(".pane.language")
    expect(panes).to_have_count(3)
    expect(page.locator(".pane.language .badge.succeeded")).to_have_count(3)
    assert page.evaluate("window.sameDocument") is True
    direction = "el => getComputedStyle(el).direction"
    assert page.locator("#pane-fa").evaluate(direction) == "rtl"
    assert page.locator("#pane-az").evaluate(direction) == "ltr"
    assert page.locator("#pane-hy").get_attribute("lang") == "hy"
    assert page.locator("#pane-source").get_attribute("lang") == "en"
    assert page.locator("#pane-fa").get_attribute("aria-live") == "polite"
    # Persian and Armenian are drawn with fonts that have their letters
    assert platform_fonts(page, "#pane-fa h3 .native") & {"Noto Naskh Arabic", "Noto Sans Arabic"}
    assert platform_fonts(page, "#pane-hy h3 .native") & {"Noto Sans Armenian"}
    # paragraph by paragraph: as many body cells in each pane as the article has paragraphs
    paragraphs = len(body.split("\n\n"))
    for pane in ("source", "az", "fa", "hy"):
        cells = page.locator(f"#pane-{pane} .cell-body p")
        expect(cells).to_have_count(paragraphs)
    # what the pipeline flagged is marked, explained on focus, and listed
    expect(page.locator("#flags")).to_be_visible()
    flag = page.locator("#pane-fa mark.flag").first
    flag.focus()
    reason = flag.evaluate("m => getComputedStyle(m, '::after').content")
    assert reason not in ("none", "normal", "") and len(reason) > 5
    listed = flag.get_attribute("aria-describedby")
    expect(page.locator(f"#flags-list #{listed}")).to_have_count(1)
    shoot(page, "finished")
    page.locator("#job").screenshot(path=str(SCREENSHOTS / "finished-job.png"))
    assert_accessible(page)
    # one click copies a language; the job downloads as text and as the API's JSON
    job_id = page.evaluate("location.hash").rsplit("/", 1)[1]
    job = httpx.get(f"{desk.base}/v1/jobs/{job_id}").json()
    page.locator("#pane-fa button", has_text="Copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() == "\n\n".join(
        job["translations"]["fa"][f] for f in ("title", "summary", "body")
    )
    with page.expect_download() as download:
        page.click("#job-download-json")
    assert json.loads(Path(download.value.path()).read_text("utf-8")) == job
    with page.expect_download() as download:
        page.locator("#pane-hy button", has_text=".txt").click()
    assert download.value.suggested_filename.endswith("-hy.txt")
    assert job["translations"]["hy"]["body"] in Path(download.value.path()).read_text("utf-8")


def test_a_finished_job_from_the_history(desk: Desk, open_page: Callable[..., Page]) -> None:
    job = submit_json(
        desk.base,
        {
            "title": "History check",
            "text": "The talks resumed in Baku on Monday.\n\nNo date was set for the next round.",
            "target_languages": ["az", "fa", "hy"],
            "translate": ["title", "body"],
        },
    )
    wait_finished(desk, job["id"])
    page = open_page()
    page.goto(f"{desk.base}/")
    entry = page.locator(f"#history-list li[data-job='{job['id']}']")
    expect(entry.locator(".badge")).to_have_text("succeeded")
    entry.locator("button.job-link").click()
    expect(page.locator("#job-heading")).to_have_text("History check")
    expect(page.locator(".pane.language .badge.succeeded")).to_have_count(3)
    expect(page.locator("#pane-source .cell-body p").nth(1)).to_have_text(
        "No date was set for the next round."
    )
    assert page.evaluate("location.hash") == f"#/jobs/{job['id']}"


def test_article_markup_is_shown_as_text_and_never_run(
    desk: Desk, open_page: Callable[..., Page]
) -> None:
    page = open_page()
    page.goto(f"{desk.base}/")
    title = 'Alert <img src=x onerror="window.pwned=1"> headline'
    text = (
        "<script>window.pwned = 2</script> The ministers met on Monday.\n\n"
        'They looked at <img src="x" onerror="window.pwned=3"> and <b>bold</b> claims.'
    )
    page.fill("#title", title)
    page.fill("#text", text)
    page.click("#submit")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    expect(page.locator("#job-heading")).to_have_text(title)
    source = page.locator("#pane-source .cell-body p")
    expect(source.nth(0)).to_contain_text("<script>window.pwned = 2</script>")
    expect(source.nth(1)).to_contain_text('<img src="x" onerror="window.pwned=3">')
    assert page.locator("#history-list .job-title").first.inner_text() == title
    # HTML output, from the service, is shown as text too
    html_job = submit_json(
        desk.base,
        {
            "text": '<p>Talks <b>resumed</b>.</p><img src="x" onerror="window.pwned=4">',
            "format": "html",
            "target_languages": ["fa"],
            "translate": ["body"],
        },
    )
    wait_finished(desk, html_job["id"])
    page.goto(f"{desk.base}/#/jobs/{html_job['id']}")
    expect(page.locator("#pane-fa pre.html-output")).to_contain_text('</p><img src="x">')
    for tag in ("img", "script", "b", "iframe"):
        expect(page.locator(f"#compare {tag}, #job-heading {tag}")).to_have_count(0)
    page.wait_for_timeout(500)
    assert page.evaluate("window.pwned") is None


def answer(status: int, body: dict[str, Any] | None) -> Callable[[Route], None]:
    """A stand-in for the API (or a proxy in front of it) that answers ``status``."""

    def fulfill(route: Route) -> None:
        route.fulfill(
            status=status,
            headers={"Retry-After": "30"},
            content_type="application/json" if body else "text/html",
            body=json.dumps(body) if body else "<html><h1>Bad Gateway</h1></html>",
        )

    return fulfill


def test_errors_are_readable_messages(desk: Desk, open_page: Callable[..., Page]) -> None:
    page = open_page()
    page.goto(f"{desk.base}/")
    page.fill("#text", "word " * (MAX_TEXT_CHARS // 5 + 100))
    page.click("#submit")
    error = page.locator("#form-error")
    expect(error).to_contain_text("Too long for this service")
    expect(error).to_contain_text(f"at most {MAX_TEXT_CHARS}")
    assert "{" not in error.inner_text()
    shoot(page, "error")
    # the answers of a busy or overloaded service, and of a proxy in front of it
    answers = [
        (429, {"error": {"code": "rate_limited", "message": "More than 600 requests this minute."}},
         "Too many requests for now: More than 600 requests this minute. Try again in 30 seconds."),
        (503, {"error": {"code": "queue_full", "message": "10000 jobs are waiting."}},
         "The service is not able to take this right now: 10000 jobs are waiting. Try again in "
         "30 seconds."),
        (422, {"error": {"code": "unsupported_language", "message": "No such language: xx."}},
         "The request was refused: No such language: xx."),
        (502, None, "The service answered with an error (502): 502"),
    ]  # fmt: skip
    page.fill("#text", "A short article.")
    for status, body, message in answers:
        page.unroute("**/v1/jobs")
        page.route("**/v1/jobs", answer(status, body))
        page.click("#submit")
        expect(error).to_contain_text(message)
        assert "<" not in error.inner_text() and "{" not in error.inner_text()
    # nothing to translate is said before anything is sent
    page.fill("#text", "")
    page.click("#submit")
    expect(error).to_have_text("Paste the article's text, or drop a .txt or .md file on it.")
    expect(page.locator("#text")).to_be_focused()


def test_an_article_from_a_web_page(desk: Desk, open_page: Callable[..., Page]) -> None:
    page = open_page()
    page.goto(f"{desk.base}/")
    page.check("input[name=kind][value=url]")
    expect(page.locator("#text")).to_be_hidden()
    for code in ("az", "hy"):
        page.uncheck(f"input[name=target][value={code}]")
    page.fill("#url", desk.site.url("/news/geneva-talks"))
    page.click("#submit")
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    expect(page.locator("#job-heading")).to_have_text(
        "Baku and Yerevan agree to resume border talks in Geneva"
    )
    meta = page.locator("#job-meta")
    expect(meta).to_contain_text("Caucasus Wire")
    expect(meta).to_contain_text("Lena Harutyunyan")
    assert meta.locator("a").get_attribute("href") == desk.site.url("/news/geneva-talks")
    expect(page.locator("#pane-source .cell-body p").first).to_contain_text("Geneva")
    expect(page.locator(".pane.language")).to_have_count(1)


def test_a_phone_sees_the_panes_stacked(desk: Desk, open_page: Callable[..., Page]) -> None:
    job = submit_json(
        desk.base,
        {"text": "The talks resumed.\n\nNo date was set.", "target_languages": ["az", "fa"],
         "translate": ["body"]},
    )  # fmt: skip
    wait_finished(desk, job["id"])
    page = open_page(width=390, height=844)
    page.goto(f"{desk.base}/#/jobs/{job['id']}")
    expect(page.locator(".pane.language .badge.succeeded")).to_have_count(2)
    expect(page.locator("#pane-source .cell-body p")).to_have_count(2)
    boxes = [page.locator(f"#pane-{p}").bounding_box() for p in ("source", "az", "fa")]
    assert all(box is not None for box in boxes)
    assert len({round(box["x"]) for box in boxes if box}) == 1
    tops = [box["y"] for box in boxes if box]
    assert tops == sorted(tops)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    page.locator("#job").scroll_into_view_if_needed()
    shoot(page, "phone")
    assert_accessible(page)


def test_glossaries_are_offered_and_their_terms_marked(
    desk: Desk, open_page: Callable[..., Page]
) -> None:
    created = httpx.post(
        f"{desk.base}/v1/glossaries",
        json={
            "name": "Caucasus desk",
            "entries": [
                {"source": "Khamenei", "targets": {"az": "Xamenei", "fa": "خامنه‌ای"}},
                {"source": "Dragoman Daily", "keep": True},
            ],
        },
    )
    assert created.status_code == 201, created.text
    page = open_page()
    page.goto(f"{desk.base}/")
    choice = page.locator("#glossary-choices label", has_text="Caucasus desk")
    expect(choice).to_be_visible()
    choice.locator("input").check()
    page.fill("#text", "Khamenei spoke to Dragoman Daily on Monday.")
    page.click("#submit")
    expect(page.locator("#job-meta")).to_contain_text("Glossaries: Caucasus desk")
    job_id = page.evaluate("location.hash").rsplit("/", 1)[1]
    job = httpx.get(f"{desk.base}/v1/jobs/{job_id}").json()
    assert [g["name"] for g in job["glossaries"]] == ["Caucasus desk"]
    # Terms as a translation reports them, marked where they stand: a left-to-right term
    # in the Persian text isolated in a <bdi> (the tiny model garbles real ones).
    marks = page.evaluate(
        """async () => {
            const src = document.querySelector("script[type=module]").src;
            const {languagePane} = await import(new URL("panes.js", src));
            const job = {output: "text", summary: null, title: null, translations: {fa: {
                status: "succeeded", direction: "rtl", title: null, summary: null,
                body: "خامنه‌ای با Dragoman Daily گفتگو کرد.", flags: [], error: null,
                terms: [
                  {field: "body", index: 0, source: "Khamenei", target: "خامنه‌ای",
                   keep: false, direction: "rtl", entry: "1", glossary: "g"},
                  {field: "body", index: 0, source: "Dragoman Daily", target: "Dragoman Daily",
                   keep: true, direction: "ltr", entry: "2", glossary: "g"}]}}};
            const info = {name: "Persian", native_name: "فارسی", direction: "rtl"};
            const ctx = {language: () => info, name: () => "Persian", flags: []};
            const rows = {hasTitle: false, hasSummary: false, paragraphs: 1};
            const none = () => document.createElement("span");
            const pane = languagePane(job, "fa", rows, ctx, null, none);
            return [...pane.querySelectorAll("mark.term")].map(m => ({
                text: m.textContent, title: m.title,
                bdi: m.querySelector("bdi") ? m.querySelector("bdi").dir : null}));
        }"""
    )
    assert marks == [
        {"text": "خامنه‌ای", "title": "Glossary: “Khamenei” → “خامنه‌ای”", "bdi": None},
        {
            "text": "Dragoman Daily",
            "title": "Glossary: “Dragoman Daily” is kept as it is",
            "bdi": "ltr",
        },
    ]


def test_keys_are_asked_once_per_session(
    desk: Desk, open_page: Callable[..., Page], tmp_path: Path
) -> None:
    env = {**desk.env, "DRAGOMAN_AUTH": "required"}
    created = subprocess.run(
        [sys.executable, "-m", "worker.cli", "keys", "create", "--tenant", "newsroom"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = Proc(["api", "--port", str(port)], env, tmp_path / "api.log")
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, 60, "api", [api])
        page = open_page()
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))
        page.goto(f"{base}/")
        dialog = page.locator("#key-dialog")
        expect(dialog).to_be_visible()
        shoot(page, "key-dialog")
        assert_accessible(page)
        page.fill("#key-input", "dgm_wrong")
        page.click("#key-form button[type=submit]")
        expect(page.locator("#key-error")).to_contain_text("The API key was not accepted")
        page.fill("#key-input", key)
        page.click("#key-form button[type=submit]")
        expect(dialog).to_be_hidden()
        # this tenant's jobs only: the open desk's jobs belong to another tenant
        expect(page.locator("#history-empty")).to_have_text("No jobs yet.")
        expect(page.locator("#add-language")).to_be_enabled()
        page.reload()
        expect(page.locator("#add-language")).to_be_enabled()
        expect(dialog).to_be_hidden()
        assert urls and not any(key in url for url in urls)
        # a new browser session asks again
        fresh = open_page()
        fresh.goto(f"{base}/")
        expect(fresh.locator("#key-dialog")).to_be_visible()
    finally:
        api.stop()


def test_a_running_job_is_cancelled(desk: Desk, open_page: Callable[..., Page]) -> None:
    _, body = sample()
    long_text = "\n\n".join([body] * 3)
    job = submit_json(
        desk.base,
        {"title": "Long read", "text": long_text, "target_languages": ["az", "fa", "hy"],
         "translate": ["title", "summary", "body"]},
    )  # fmt: skip
    page = open_page()
    page.goto(f"{desk.base}/#/jobs/{job['id']}")
    expect(page.locator("#job")).to_have_attribute("data-status", "running", timeout=60_000)
    page.click("#job-cancel")
    expect(page.locator("#job")).to_have_attribute("data-status", "cancelled")
    expect(page.locator("#job-status")).to_have_text("Cancelled.")
    expect(page.locator("#job-cancel")).to_be_hidden()
    expect(page.locator(f"#history-list li[data-job='{job['id']}'] .badge")).to_have_text(
        "cancelled"
    )
    assert httpx.get(f"{desk.base}/v1/jobs/{job['id']}").json()["status"] == "cancelled"

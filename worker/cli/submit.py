"""``dragoman submit``: send an article to the API and, with ``--wait``, follow its events."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from worker.cli.follow import StillRunning, StreamRefused, follow_job

console = Console(stderr=True)
out = Console()

DEFAULT_API = "http://127.0.0.1:8000"


def submit(
    file: Annotated[Path, typer.Argument(help="Article text file ('-' for stdin).")],
    to: Annotated[str, typer.Option("--to", help="Target languages, comma-separated.")],
    title: Annotated[str | None, typer.Option(help="Headline (translated too).")] = None,
    source: Annotated[str, typer.Option(help="Source language or 'auto'.")] = "auto",
    sentences: Annotated[int, typer.Option(help="Summary length; 0 for none.")] = 3,
    body: Annotated[bool, typer.Option(help="Translate the whole body too.")] = True,
    wait: Annotated[bool, typer.Option(help="Wait for the result and print it.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
    api_url: Annotated[
        str, typer.Option("--api", envvar="DRAGOMAN_API_URL", help="API base URL.")
    ] = DEFAULT_API,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", envvar="DRAGOMAN_API_KEY", help="API key (dragoman keys create)."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 3600,
) -> None:
    """Submit an article; with --wait, show progress and print the result."""
    text = sys.stdin.read() if str(file) == "-" else _read(file)
    fields = ["title", "summary"] + (["body"] if body else [])
    payload: dict[str, Any] = {
        "title": title,
        "text": text,
        "source_language": source,
        "target_languages": [code.strip() for code in to.split(",") if code.strip()],
        "summary": {"sentences": sentences} if sentences > 0 else None,
        "translate": fields,
    }
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=api_url, timeout=30, headers=headers) as client:
        response = _call(client, "POST", "/v1/jobs", json=payload)
        job = response.json()
        console.print(f"job [bold]{job['id']}[/] queued")
        if wait:
            job = _wait(client, job["id"], timeout)
    if as_json or not wait:
        out.print_json(json.dumps(job, ensure_ascii=False))
    else:
        _print_result(job)
    if wait and job["status"] != "succeeded":
        raise typer.Exit(code=1)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]cannot read {file}: {exc}[/]")
        raise typer.Exit(code=2) from exc


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the API at {client.base_url}: {exc}[/]")
        raise typer.Exit(code=2) from exc
    if response.status_code >= 400:
        _refused(response)
    return response


def _refused(response: httpx.Response) -> NoReturn:
    try:
        error = response.json()["error"]
        message = f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        message = response.text[:500]
    console.print(f"[red]{response.status_code} {message}[/]")
    raise typer.Exit(code=1)


def _wait(client: httpx.Client, job_id: str, timeout: float) -> dict[str, Any]:
    """Follow the job through its event stream; the job as it is at the end."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] | None = None
    finished: list[str] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} segments"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("queued", total=None)
        try:
            for event in follow_job(client, job_id, deadline):
                if event.name == "status":
                    job = event.data
                elif event.name == "language" and event.data["status"] == "succeeded":
                    finished.append(event.data["language"])
                elif event.name == "progress":
                    done, total = event.data["done"], event.data["total"]
                    progress.update(bar, completed=done, total=total or None)
                status = job["status"] if job else "queued"
                progress.update(bar, description=" ".join([status, *finished]))
        except StreamRefused as refused:
            _refused(refused.response)
        except StillRunning:
            job = _call(client, "GET", f"/v1/jobs/{job_id}").json()
            console.print(f"[yellow]still {job['status']} after {timeout:.0f}s[/]")
        except httpx.HTTPError as exc:
            console.print(f"[red]lost the API at {client.base_url}: {exc}[/]")
            raise typer.Exit(code=2) from exc
    assert job is not None
    return job


def _print_result(job: dict[str, Any]) -> None:
    out.rule(f"job {job['id']}: {job['status']}")
    if job.get("detected_language"):
        confidence = job.get("detected_confidence") or 0.0
        out.print(f"detected language: {job['detected_language']} ({confidence:.2f})")
    if job.get("error"):
        out.print(f"[red]{job['error']['code']}: {job['error']['message']}[/]")
    if job.get("summary"):
        out.rule("summary")
        for sentence in job["summary"]["sentences"]:
            out.print(f"- {sentence}")
    for code, result in job["translations"].items():
        out.rule(f"{code} ({result['status']})")
        for field in ("title", "summary", "body"):
            if result.get(field):
                out.print(f"[bold]{field}[/]")
                out.print(result[field], soft_wrap=True)
        if result.get("error"):
            out.print(f"[red]{result['error']['code']}: {result['error']['message']}[/]")

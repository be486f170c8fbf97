"""The ``dragoman`` command: run the service, run its parts, submit articles."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from worker.cli_keys import keys_app
from worker.cli_models import models_app
from worker.cli_text import detect, sentences, summarize

app = typer.Typer(
    help="Dragoman: summarise and translate news articles with your own models.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
app.command()(sentences)
app.command()(detect)
app.command()(summarize)
console = Console(stderr=True)
out = Console()

DEFAULT_API = "http://127.0.0.1:8000"


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _worker_argv(
    concurrency: int | None, loglevel: str, pool: str | None, beat: bool = False
) -> list[str]:
    argv = ["worker", f"--loglevel={loglevel}", "--hostname=dragoman@%h"]
    if beat:
        argv.append("--beat")
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if pool:
        argv.append(f"--pool={pool}")
    return argv


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once.")] = None,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run the API and a worker on this machine (Ctrl-C stops both)."""
    import os

    from service.auth import auth_mode_for_serve
    from service.db import upgrade_database
    from service.settings import get_settings

    _configure_logging(loglevel)
    # Open on loopback only (unless DRAGOMAN_AUTH says); through the environment,
    # so the API built below (and any process it starts) sees the same mode.
    os.environ["DRAGOMAN_AUTH"] = auth_mode_for_serve(host, get_settings())
    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)
    console.print(
        f"[bold]Dragoman[/] on http://{host}:{port}  store: {settings.effective_database_url}  "
        f"broker: {settings.broker_url or 'embedded (' + str(settings.broker_folder) + ')'}  "
        f"model: {settings.translation_model}"
    )
    from worker.runtime import lifecycle

    # A SIGTERM (a process manager, a container runtime) stops us as Ctrl-C does, so the
    # worker is stopped below; uvicorn passes it on here once the API has shut down.
    signal.signal(signal.SIGTERM, _interrupt)
    worker = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "worker", "--beat", "--loglevel", loglevel]
        + (["--concurrency", str(concurrency)] if concurrency else []),
        env={**os.environ, lifecycle.PARENT_PID_ENV: str(os.getpid())},
        start_new_session=True,  # Ctrl-C reaches it through us, once, for a clean shutdown
        preexec_fn=lifecycle.die_with_parent,  # and it ends with us, however we end
    )
    try:
        _run_api(host, port, loglevel)
    finally:
        _stop(worker, settings.worker_shutdown_seconds + 5)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    # Warm shutdown: running jobs go back to the queue, the worker exits within its bound.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _run_api(host: str, port: int, loglevel: str, workers: int = 1) -> None:
    import uvicorn

    if workers > 1:
        uvicorn.run(
            "service.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=loglevel.lower(),
        )
        return
    from service.api.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level=loglevel.lower())


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes.")] = 1,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run only the HTTP API (production: workers run elsewhere)."""
    _configure_logging(loglevel)
    _run_api(host, port, loglevel, workers)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once.")] = None,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
    pool: Annotated[
        str | None,
        typer.Option(help="Celery pool: threads (default: jobs share one model), prefork, solo."),
    ] = None,
    beat: Annotated[
        bool, typer.Option(help="Also run the scheduler that polls feeds (one per deployment).")
    ] = False,
) -> None:
    """Run only a Celery worker (add more on other machines to scale out)."""
    from worker.celery_app import app as celery_app
    from worker.celery_app import prepare
    from worker.runtime import lifecycle

    lifecycle.watch_parent(lifecycle.parent_from_env())
    prepare()
    code = 0
    try:
        celery_app.worker_main(_worker_argv(concurrency, loglevel, pool, beat))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    # Running jobs were handed back; an engine batch may still run in a native thread.
    lifecycle.end_process(code)


@app.command(name="beat")
def beat_command(loglevel: Annotated[str, typer.Option(help="Log level.")] = "info") -> None:
    """Run only the scheduler that polls feeds (instead of `dragoman worker --beat`)."""
    from worker.celery_app import app as celery_app
    from worker.celery_app import prepare

    prepare()
    celery_app.start(["beat", f"--loglevel={loglevel}"])


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from service.db import upgrade_database
    from service.settings import get_settings

    settings = get_settings()
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)
    console.print("database is up to date")


@app.command()
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
        try:
            error = response.json()["error"]
            message = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            message = response.text[:500]
        console.print(f"[red]{response.status_code} {message}[/]")
        raise typer.Exit(code=1)
    return response


def _wait(client: httpx.Client, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} segments"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task("queued", total=None)
        while True:
            job: dict[str, Any] = _call(client, "GET", f"/v1/jobs/{job_id}").json()
            done = [code for code, t in job["translations"].items() if t["status"] == "succeeded"]
            progress.update(
                bar,
                description=f"{job['status']} {' '.join(done)}".strip(),
                completed=job["progress"]["done"],
                total=job["progress"]["total"] or None,
            )
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            if time.monotonic() > deadline:
                console.print(f"[yellow]still {job['status']} after {timeout:.0f}s[/]")
                return job
            time.sleep(0.5)


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()

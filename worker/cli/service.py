"""``dragoman serve | api | worker | migrate``: run the service or one of its parts."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)

# On shutdown the API waits this long for open requests, then closes them: an event
# stream (a browser following a job) would otherwise hold it until its job ends.
SHUTDOWN_GRACE_SECONDS = 3
POOLS = ("threads", "prefork", "solo")


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


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once.")] = None,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run the API and a worker on this machine (Ctrl-C stops both)."""
    import os

    from service.settings import get_settings

    # Before anything imports prometheus_client: the API's processes and the worker
    # record into one folder, so the API's /metrics shows the worker's metrics too.
    _prepare_metrics(get_settings().data_dir)
    from service.auth import auth_mode_for_serve
    from service.db import prepare_store
    from service.settings import get_settings

    _configure_logging(loglevel)
    # Open on loopback only (unless DRAGOMAN_AUTH says); through the environment,
    # so the API built below (and any process it starts) sees the same mode.
    os.environ["DRAGOMAN_AUTH"] = auth_mode_for_serve(host, get_settings())
    get_settings.cache_clear()
    settings = get_settings()
    prepare_store(settings)
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


def _prepare_metrics(data_dir: Path) -> None:
    from service.monitoring import multiprocess

    folder = multiprocess.prepare(data_dir)
    logging.getLogger("dragoman").debug("metrics of this process tree in %s", folder)


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
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        return
    from service.api.app import create_app

    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        log_level=loglevel.lower(),
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


def api(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes.")] = 1,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run only the HTTP API (production: workers run elsewhere)."""
    from service.settings import get_settings

    # Before anything imports prometheus_client: with --workers N every process
    # records into this folder and any of them answers /metrics for all.
    _prepare_metrics(get_settings().data_dir)
    _configure_logging(loglevel)
    _run_api(host, port, loglevel, workers)


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
    import os

    from service.monitoring import multiprocess
    from service.settings import get_settings

    if pool and pool not in POOLS:
        raise typer.BadParameter(f"one of {', '.join(POOLS)}", param_hint="--pool")
    if pool:
        # Celery prefers its configuration (built from the settings) to its own
        # --pool option: the option goes through the settings.
        os.environ["DRAGOMAN_WORKER_POOL"] = pool
        get_settings.cache_clear()
    settings = get_settings()
    if settings.worker_pool == "prefork" and not multiprocess.enabled():
        # Jobs run in the pool's processes: their metrics are summed from a shared
        # folder (set before prometheus_client is imported). Under `serve` it is set.
        _prepare_metrics(settings.data_dir)
    from worker.runtime import lifecycle
    from worker.runtime.celery_app import app as celery_app
    from worker.runtime.celery_app import prepare

    lifecycle.watch_parent(lifecycle.parent_from_env())
    prepare()
    code = 0
    try:
        celery_app.worker_main(_worker_argv(concurrency, loglevel, pool, beat))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    # Running jobs were handed back; an engine batch may still run in a native thread.
    lifecycle.end_process(code)


def beat(loglevel: Annotated[str, typer.Option(help="Log level.")] = "info") -> None:
    """Run only the scheduler that polls feeds (instead of `dragoman worker --beat`)."""
    from worker.runtime.celery_app import app as celery_app
    from worker.runtime.celery_app import prepare

    prepare()
    celery_app.start(["beat", f"--loglevel={loglevel}"])


def migrate() -> None:
    """Create or upgrade the database schema."""
    from service.db import prepare_store
    from service.settings import get_settings

    settings = get_settings()
    prepare_store(settings)
    console.print("database is up to date")

"""The ``dragoman`` command: run the service or its parts, submit articles, manage keys,
models and text (one module per family of commands)."""

from __future__ import annotations

import typer

from worker.cli.keys import keys_app
from worker.cli.models import models_app
from worker.cli.service import api, beat, migrate, serve, worker
from worker.cli.submit import submit
from worker.cli.text import detect, sentences, summarize

app = typer.Typer(
    help="Dragoman: summarise and translate news articles with your own models.",
    no_args_is_help=True,
    add_completion=False,
)
for command in (serve, api, worker, beat, migrate, submit, sentences, detect, summarize):
    app.command()(command)
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")


def main() -> None:
    app()

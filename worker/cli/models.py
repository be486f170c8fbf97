"""``dragoman models``: pull translation models into the local store and list them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from service.errors import DragomanError

models_app = typer.Typer(
    help="Download, convert and list translation models.",
    no_args_is_help=True,
    add_completion=False,
)


def _consoles() -> tuple[Console, Console]:
    # Built per command, not at import, so the terminal width is read when the command runs.
    return Console(), Console(stderr=True)


def human_size(size: int) -> str:
    """``1536`` -> ``1.5 KB``: decimal units, as disks and the Hub report sizes."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("KB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


@models_app.command()
def pull(
    name: Annotated[str, typer.Argument(help="Hugging Face model id.")],
    revision: Annotated[
        str | None, typer.Option(help="Branch, tag or commit; the default branch if unset.")
    ] = None,
    quantization: Annotated[
        str, typer.Option(help="CTranslate2 weight type: int8 (CPU), int8_float16 (GPU)...")
    ] = "int8",
) -> None:
    """Download a model from the Hugging Face Hub and convert it for the fast engine."""
    from service.settings import get_settings
    from worker.models.pull import pull as pull_model
    from worker.models.store import licence_note

    out, err = _consoles()
    models_dir = get_settings().effective_models_dir
    err.print(f"pulling [bold]{escape(name)}[/] into {escape(str(models_dir))}")
    try:
        model = pull_model(name, models_dir, revision=revision, quantization=quantization)
    except DragomanError as exc:
        err.print(f"[red]{escape(exc.message)}[/]", soft_wrap=True)
        raise typer.Exit(code=1) from exc
    out.print(
        f"installed [bold]{escape(model.name)}[/] in {escape(str(model.path))}", soft_wrap=True
    )
    out.print(
        f"  revision {model.revision or 'unknown'}, {human_size(model.size_bytes)}, "
        f"{len(model.languages)} languages, {model.quantization}",
        soft_wrap=True,
    )
    out.print(f"  licence: {escape(model.licence or 'unknown: read the model card')}")
    note = licence_note(model.licence)
    if note:
        out.print(f"[bold yellow]  warning: {escape(note)}[/]", soft_wrap=True)
    out.print(f"use it with: DRAGOMAN_TRANSLATION_MODEL={escape(model.name)}", soft_wrap=True)


@models_app.command("list")
def list_models() -> None:
    """List the models in the local store."""
    from service.settings import get_settings
    from worker.models.store import installed, licence_note

    out, _ = _consoles()
    models_dir = get_settings().effective_models_dir
    models = installed(models_dir)
    if not models:
        out.print(
            f"no models in {escape(str(models_dir))}; pull one with "
            "`dragoman models pull facebook/nllb-200-distilled-600M`",
            soft_wrap=True,
        )
        return
    table = Table(title=f"models in {escape(str(models_dir))}")
    table.add_column("name", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("languages", justify="right")
    table.add_column("licence", no_wrap=True)
    table.add_column("quantization")
    table.add_column("path", overflow="fold")
    for model in models:
        licence = escape(model.licence or "unknown")
        if licence_note(model.licence):
            licence = f"[yellow]{licence} (non-commercial)[/]"
        table.add_row(
            escape(model.name),
            human_size(model.size_bytes),
            str(len(model.languages)),
            licence,
            model.quantization or "?",
            escape(str(model.path)),
        )
    out.print(table)

"""``dragoman keys``: create, list and revoke API keys.

``create`` prints the new key alone on its last line, so scripts can take it
with ``KEY=$(dragoman keys create --tenant x | tail -n1)``. The key is shown
only then; the store keeps its hash.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from service.db import Database
from service.errors import DragomanError

keys_app = typer.Typer(
    help="Create, list and revoke API keys.", no_args_is_help=True, add_completion=False
)


def _open_db() -> Database:
    from service.db import prepare_store
    from service.settings import get_settings

    settings = get_settings()
    prepare_store(settings)
    return Database(settings.effective_database_url)


def _fail(exc: DragomanError) -> typer.Exit:
    Console(stderr=True).print(f"[red]{escape(exc.message)}[/]", soft_wrap=True)
    return typer.Exit(code=1)


@keys_app.command()
def create(
    tenant: Annotated[str, typer.Option(help="Tenant the key belongs to; created if new.")],
    name: Annotated[str | None, typer.Option(help="A label, e.g. who uses the key.")] = None,
    requests_per_minute: Annotated[
        int | None, typer.Option(min=1, help="Override DRAGOMAN_RATE_LIMIT_PER_MINUTE.")
    ] = None,
    chars_per_day: Annotated[
        int | None, typer.Option(min=1, help="Override DRAGOMAN_CHARS_PER_DAY.")
    ] = None,
) -> None:
    """Create an API key (printed once, on the last line)."""
    from service import tenants

    db = _open_db()
    try:
        created = tenants.create_key(
            db,
            tenant,
            name=name,
            requests_per_minute=requests_per_minute,
            chars_per_day=chars_per_day,
        )
    except DragomanError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    # Plain echo, not rich: no wrapping or markup may touch the secrets.
    if created.tenant_secret:
        typer.echo(f"created tenant {tenant}")
        typer.echo(f"webhook secret of {tenant} (shown only now): {created.tenant_secret}")
    typer.echo(f"key {created.record.id} ({created.record.prefix}...) for tenant {tenant}:")
    typer.echo(created.key)


@keys_app.command("list")
def list_keys(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None,
) -> None:
    """List keys by prefix (the keys themselves are not stored)."""
    from service import tenants

    db = _open_db()
    try:
        keys = tenants.list_keys(db, tenant)
    finally:
        db.dispose()
    if not keys:
        typer.echo("no API keys; create one with `dragoman keys create --tenant NAME`")
        return
    # Plain aligned columns: nothing is cut or wrapped, and scripts can read it.
    rows = [("PREFIX", "TENANT", "NAME", "CREATED", "LAST USED", "LIMITS", "STATUS", "ID")]
    for key in keys:
        limits = ", ".join(
            f"{value} {unit}"
            for value, unit in (
                (key.requests_per_minute, "req/min"),
                (key.chars_per_day, "chars/day"),
            )
            if value
        )
        rows.append(
            (
                f"{key.prefix}...",
                key.tenant,
                key.name or "-",
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
                limits or "default",
                f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active",
                key.id,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@keys_app.command()
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id or prefix, as `keys list` shows.")],
) -> None:
    """Revoke a key: requests with it are refused (401) from now on."""
    from service import tenants

    db = _open_db()
    try:
        record = tenants.revoke_key(db, key)
    except DragomanError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    typer.echo(f"revoked key {record.id} ({record.prefix}...) of tenant {record.tenant}")


@keys_app.command()
def secret(
    tenant: Annotated[str, typer.Option(help="Tenant name ('local' in open mode).")] = "local",
) -> None:
    """Print a tenant's webhook signing secret (creating the tenant if needed)."""
    from service import tenants

    db = _open_db()
    try:
        tenants.check_tenant_name(tenant)
        value = tenants.webhook_secret(db, tenant)
    except DragomanError as exc:
        raise _fail(exc) from exc
    finally:
        db.dispose()
    typer.echo(value)

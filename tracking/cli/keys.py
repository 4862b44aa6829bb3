"""`keys`: API keys (issued once, stored hashed) and the Ed25519 key that signs bundles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from tracking.cli.common import (
    JsonFlag,
    database,
    err,
    errors,
    fail,
    out,
    print_rows,
    shown_note,
)
from tracking.cli.conventions import Command

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="Signing keys and API keys.", no_args_is_help=True, rich_markup_mode=None
)


def _when(moment: datetime | None) -> str:
    """A time in a table: UTC to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else ""


@keys_app.command("signing", cls=Command)
def keys_signing_command(
    path: Annotated[
        Path,
        typer.Argument(metavar="PATH", help="Where to write the private key (PEM, mode 0600)."),
    ],
) -> None:
    """Create an Ed25519 key pair for signing bundles (the public key goes to PATH.pub)."""
    from tracking.evidence import generate_signing_key

    with errors():
        public = generate_signing_key(path)
        out().print(
            f"private key: {path} (keep it secret; set TRACK_EVIDENCE_SIGNING_KEY={path})\n"
            f"public key:  {public} (give it to whoever verifies your bundles)",
            markup=False,
        )


@keys_app.command("create", cls=Command)
def keys_create_command(
    tenant: Annotated[
        str, typer.Option(metavar="TENANT", help="The seller account / store the key may read.")
    ],
    name: Annotated[str, typer.Option(metavar="TEXT", help="A label to recognise the key by.")] = (
        ""
    ),
) -> None:
    """Issue an API key for a tenant (shown once; only its hash is stored)."""
    from tracking.api import create_key

    with errors():
        with database(create=True) as engine:  # a server's first key may come first
            key = create_key(engine, tenant, name=name)
        err.print(f"API key for tenant {tenant!r} (shown once, store it now):", markup=False)
        typer.echo(key)


@keys_app.command("list", cls=Command)
def keys_list_command(
    tenant: Annotated[
        str | None, typer.Option(metavar="TENANT", help="Only this tenant's keys.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most N keys.")] = 50,
    show_all: Annotated[bool, typer.Option("--all", help="Every key.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List API keys, oldest first (ids and prefixes only, never the keys)."""
    from tracking.api import list_keys

    with errors():
        with database() as engine:
            keys = list_keys(engine, tenant)
        shown = keys if show_all else keys[:limit]
        rows = [
            {
                "id": k.id,
                "tenant": k.tenant,
                "name": k.name,
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in shown
        ]
        if as_json:
            typer.echo(json.dumps(rows))
        else:
            print_rows(
                ("id", "tenant", "name", "prefix", "created", "revoked"),
                [
                    (
                        r["id"],
                        r["tenant"],
                        r["name"],
                        r["prefix"],
                        _when(k.created_at),
                        _when(k.revoked_at),
                    )
                    for r, k in zip(rows, shown, strict=True)
                ],
                whole=("id", "prefix"),
            )
        shown_note(len(shown), len(keys), what="keys")


@keys_app.command("revoke", cls=Command)
def keys_revoke_command(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id (see `keys list`).")],
) -> None:
    """Revoke an API key: every request with it gets 401 from now on."""
    from tracking.api import revoke_key

    with errors():
        with database() as engine:
            revoked = revoke_key(engine, key_id)
        if not revoked:
            fail(f"no active API key with id {key_id!r}")
        out().print(f"revoked {key_id}", markup=False)

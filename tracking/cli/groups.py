"""`track-evidence groups`: the operator's seller account groups (see `tracking.store.isolation`).

`number.shared` compares an order only with orders of stores in its account group; a store
in no group is compared only with itself. Only the operator (who runs the command line on
the server's database) declares groups: an API key never can.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tracking.store.engine import open_engine
from tracking.store.isolation import clear_group, list_groups, set_group

__all__ = ["groups_app"]

groups_app = typer.Typer(
    help="Seller account groups: the stores whose orders are checked against each other.",
    no_args_is_help=True,
)

_LATER = "Verdicts follow at each store's next pull or refresh."


@groups_app.command("set")
def groups_set_command(
    group: Annotated[str, typer.Argument(help="The group's name (one seller's account).")],
    stores: Annotated[list[str], typer.Argument(help="Stores (tenants) of this seller.")],
) -> None:
    """Put stores in one account group (each leaves any group it was in)."""
    from tracking.cli.app import _errors, _settings, err

    with _errors():
        try:
            set_group(open_engine(_settings().database_url), group=group, tenants=stores)
        except ValueError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(2) from None
        err.print(f"account group {group!r}: {', '.join(sorted(set(stores)))}. {_LATER}")


@groups_app.command("remove")
def groups_remove_command(
    stores: Annotated[list[str], typer.Argument(help="Stores (tenants) to take out.")],
) -> None:
    """Take stores out of their account group (each becomes a group of its own)."""
    from tracking.cli.app import _errors, _settings, err

    with _errors():
        removed = clear_group(open_engine(_settings().database_url), tenants=stores)
        err.print(f"{removed} store(s) taken out of their group. {_LATER}")


@groups_app.command("list")
def groups_list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List account groups and their stores (a store in none is its own group)."""
    from tracking.cli.app import _errors, _settings

    with _errors():
        groups = list_groups(open_engine(_settings().database_url))
        if as_json:
            typer.echo(json.dumps(groups, ensure_ascii=False))
            return
        if not groups:
            typer.echo("no account groups: every store is checked on its own")
        for name, members in groups.items():
            typer.echo(f"{name}: {', '.join(members)}")

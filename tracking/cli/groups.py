"""`track-evidence groups`: the operator's seller account groups (see `tracking.store.isolation`).

`number.shared` compares an order only with orders of stores in its account group; a store
in no group is compared only with itself. Only the operator (who runs the command line on
the server's database) declares groups: an API key never can.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tracking.cli.common import (
    EXIT_USAGE,
    JsonFlag,
    database,
    err,
    errors,
    fail,
    print_rows,
)
from tracking.cli.conventions import Command
from tracking.store.isolation import clear_group, list_groups, set_group

__all__ = ["groups_app"]

groups_app = typer.Typer(
    help="Seller account groups: the stores whose orders are checked against each other.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_LATER = "Verdicts follow at each store's next pull or refresh."


@groups_app.command("set", cls=Command)
def groups_set_command(
    group: Annotated[
        str, typer.Argument(metavar="GROUP", help="The group's name (one seller's account).")
    ],
    stores: Annotated[
        list[str], typer.Argument(metavar="STORE", help="Stores (tenants) of this seller.")
    ],
) -> None:
    """Put stores in one account group (each leaves any group it was in)."""
    with errors():
        with database(create=True) as engine:  # groups may be declared before any pull
            try:
                set_group(engine, group=group, tenants=stores)
            except ValueError as exc:
                fail(str(exc), EXIT_USAGE)
        err.print(f"account group {group!r}: {', '.join(sorted(set(stores)))}. {_LATER}")


@groups_app.command("remove", cls=Command)
def groups_remove_command(
    stores: Annotated[
        list[str], typer.Argument(metavar="STORE", help="Stores (tenants) to take out.")
    ],
) -> None:
    """Take stores out of their account group (each becomes a group of its own)."""
    with errors():
        with database() as engine:
            removed = clear_group(engine, tenants=stores)
        err.print(f"{removed} store(s) taken out of their group. {_LATER}")


@groups_app.command("list", cls=Command)
def groups_list_command(
    as_json: JsonFlag = False,
) -> None:
    """List account groups and their stores (a store in none is its own group)."""
    with errors():
        with database() as engine:
            groups = list_groups(engine)
        if as_json:
            typer.echo(json.dumps(groups, ensure_ascii=False))
            return
        if not groups:
            err.print("no account groups: every store is checked on its own")
            return
        print_rows(("group", "stores"), [(n, ", ".join(m)) for n, m in groups.items()])

"""`status`: stored verdicts, their milestones and findings, order by order."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.text import Text

from tracking.cli.common import (
    JsonFlag,
    as_of,
    database,
    errors,
    fail,
    out,
    policy,
    policy_option,
    print_rows,
    settings,
    shown_note,
)
from tracking.read.report import rejudge
from tracking.store.listing import list_verdicts

__all__ = ["status_command"]

_VERDICTS = ("pass", "fail", "pending")


def _marks(milestones: dict[str, Any]) -> str:
    return " ".join(
        ("✓" if m["status"] == "explicit" else "~" if m["status"] == "inferred" else "✗")
        for m in (milestones[k] for k in ("departed_origin", "arrived_destination", "delivered"))
    )


def _why(item: dict[str, Any]) -> str:
    findings = item["findings"]
    return str(
        next(
            (f["message"] for f in findings if f["severity"] == "error"),
            findings[0]["message"] if findings else "",
        )
    )


def status_command(
    order: Annotated[str | None, typer.Option(metavar="ID", help="Only this order id.")] = None,
    verdict: Annotated[
        str | None,
        typer.Option(
            metavar="VERDICT", help="Only orders with this verdict: pass, fail or pending."
        ),
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(metavar="TENANT", help="Only this seller account / store.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most N orders.")] = 50,
    show_all: Annotated[bool, typer.Option("--all", help="Every matching order.")] = False,
    policy_name: Annotated[
        str | None, policy_option("Judge again under this policy first (default, joom, shopee).")
    ] = None,
    judge_as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="With --policy: judge as of this moment."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show verdicts and their findings (newest orders first).

    On a terminal a table; on a pipe tab-separated columns under a header line.
    """
    if verdict is not None and verdict not in _VERDICTS:
        raise typer.BadParameter("use pass, fail or pending", param_hint="--verdict")
    with errors():
        current = settings()
        with database(current) as engine:
            if policy_name is not None:
                rejudge(
                    engine,
                    policy=policy(policy_name, current),
                    as_of=as_of(judge_as_of),
                    tenant=tenant,
                )
            page = list_verdicts(
                engine,
                order=order,
                verdict=verdict,
                tenant=tenant,
                limit=None if show_all else limit,
            )
        if order is not None and not page.items:
            fail(f"no verdict for order {order!r} (was it pulled?)")
        items = page.items
        if as_json:
            typer.echo(json.dumps(items, ensure_ascii=False))
            shown_note(len(items), page.total, what="orders")
            return
        console = out()
        terminal = console.is_terminal
        rows: list[tuple[object, ...]] = [
            (
                item["tenant"],
                item["order_id"],
                item["carrier"] or "?",
                ("\n" if terminal else ",").join(p["tracking_number"] for p in item["parcels"])
                or item["tracking_number"],
                item["destination_country"],
                f"{item['verdict']} {_marks(item['milestones'])}" if terminal else item["verdict"],
                _why(item),
            )
            for item in items
        ]
        columns = ["tenant", "order", "carrier", "tracking number", "dest", "verdict", "why"]
        if terminal and len({item["tenant"] for item in items}) <= 1:
            columns, rows = columns[1:], [row[1:] for row in rows]  # one store: no column
        print_rows(columns, rows, whole=("tenant", "order", "tracking number"))
        shown_note(len(items), page.total, what="orders")
        refusing = {
            f["message"].split(". The raw answer", 1)[0]
            for item in items
            for f in item["findings"]
            if f["code"] == "shipment.fetch_failed"
            and "refusing automated requests" in f["message"]
        }
        for line in sorted(refusing):
            if terminal:
                console.print(Text(line, style="yellow"))
            else:
                typer.echo(line, err=True)

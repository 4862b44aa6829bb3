"""`pull` (orders in, histories fetched, orders judged) and `refresh` (poll what is due)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from carriers.registry import all_carriers
from tracking.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    JsonFlag,
    PolicyOption,
    WindowDaysOption,
    WindowEndOption,
    as_of,
    database,
    errors,
    fail,
    out,
    policy,
    progress_bars,
    repeatable,
    settings,
)
from tracking.cli.serve import choose_network
from tracking.fetch.outcome import explain, outcome
from tracking.fetch.pipeline import PullReport, pull, refresh
from tracking.ingest import open_orders
from tracking.ingest.describe import parse_maps, read_line

__all__ = ["print_report", "pull_command", "refresh_command"]

_COUNTS = ("due", "fetched", "not_found", "failed", "pass", "fail", "pending")


def print_report(report: PullReport, *, title: str, reasons: dict[str, str] | None = None) -> None:
    """The run's summary: a row per carrier, the totals, and what went wrong per carrier."""
    console = out()
    if console.is_terminal:
        table = Table(title=title, show_header=True, header_style="bold")
        table.add_column("carrier")
        for name in _COUNTS:
            table.add_column(name.replace("_", " "), justify="right")
        for code, c in sorted(report.by_carrier.items()):
            table.add_row(code, *(str(c.get(k, 0)) for k in _COUNTS))
        console.print(table)
    else:
        console.print(title, markup=False)
        for code, c in sorted(report.by_carrier.items()):
            console.print(
                f"  {code}: due {c.get('due', 0)}, fetched {c.get('fetched', 0)}, "
                f"not found {c.get('not_found', 0)}, failed {c.get('failed', 0)}; "
                f"pass {c.get('pass', 0)}, fail {c.get('fail', 0)}, pending {c.get('pending', 0)}",
                markup=False,
            )
    v = report.verdicts
    lines = [
        f"rows read {report.rows_read} ({report.orders_read} order"
        f"{'' if report.orders_read == 1 else 's'}), rejected"
        f" {report.rows_rejected}" + (f" (see {report.errors_file})" if report.errors_file else ""),
        f"orders in window {report.orders_in_window}; shipments fetched "
        f"{report.shipments_fetched}, not found {report.shipments_not_found}, "
        f"failed {report.shipments_failed}; {report.requests} carrier requests",
        f"verdicts: pass {v['pass']}, fail {v['fail']}, pending {v['pending']}  "
        f"({report.seconds:.1f} s)",
    ]
    for line in lines:
        console.print(line, markup=False)
    for code, notice in sorted(report.notices.items()):
        if code not in (reasons or {}):
            console.print(Text(f"{code}: {notice}", style="yellow"))
    for code, reason in sorted((reasons or {}).items()):
        console.print(Text(f"{code}: {reason}", style="yellow"))
    result = outcome(report)
    if result == "failed":
        console.print(Text("failed: no carrier answered; see the reasons above", style="red"))
    elif result == "partial":
        console.print(Text("partial: some carriers did not answer; see above", style="yellow"))
    elif report.shipments_due == 0 and report.orders_in_window:
        console.print(
            "nothing was due: every shipment was polled recently (`--now` polls them again)",
            markup=False,
        )


def _run(
    use_case: Callable[..., Coroutine[Any, Any, PullReport]],
    *,
    title: str,
    window_end: str | None,
    policy_name: str | None,
    sandbox: bool,
    sandbox_url: str | None,
    latency: str,
    as_json: bool,
    create: bool = False,
    **arguments: Any,
) -> None:
    """Run `pull` or `refresh` with the options both commands take, then print its report.

    Exits 1 when carriers failed and none answered."""
    current = settings()
    moment = as_of(window_end)
    chosen = policy(policy_name, current)
    carriers = all_carriers()
    network = choose_network(
        carriers,
        current,
        sandbox=sandbox,
        sandbox_url=sandbox_url,
        as_of=moment if window_end else None,
        latency=latency,
    )
    with database(current, create=create) as engine, progress_bars(not as_json) as hook:
        report = asyncio.run(
            use_case(
                engine=engine,
                settings=current,
                carriers=carriers,
                as_of=moment,
                policy=chosen,
                network=network,
                progress=hook,
                **arguments,
            )
        )
    reasons = explain(
        report, settings=current, carriers=carriers, sandbox=sandbox or sandbox_url is not None
    )
    if as_json:
        payload = report.as_json()
        payload["reasons"] = reasons
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        print_report(report, title=title, reasons=reasons)
    if outcome(report) == "failed":
        raise typer.Exit(EXIT_FAILED)


def pull_command(
    orders: Annotated[
        Path,
        typer.Argument(
            metavar="ORDERS",
            help="Orders export as downloaded from the marketplace or ERP: CSV, .xlsx, .xlsm,"
            " .xls, .xlsb or .ods.",
            show_default=False,
        ),
    ],
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Fetch from the built-in sandbox carriers.")
    ] = False,
    sandbox_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Fetch from a running `track-evidence sandbox`."),
    ] = None,
    window_end: WindowEndOption = None,
    window_days: WindowDaysOption = 90,
    errors_file: Annotated[
        Path | None,
        typer.Option(
            "--errors",
            metavar="FILE",
            help="Where to write rejected rows (default: <orders>.errors.csv).",
        ),
    ] = None,
    tenant: Annotated[
        str, typer.Option(metavar="TENANT", help="Seller account / store the orders belong to.")
    ] = "default",
    policy_name: PolicyOption = None,
    latency_ms: Annotated[
        str, typer.Option(metavar="MS", help="Sandbox latency per request, e.g. 50-150.")
    ] = "0",
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            "--retry-failed",
            help="Poll every followed shipment of these orders now, failed ones included,"
            " instead of at its next poll time.",
        ),
    ] = False,
    as_json: JsonFlag = False,
    column_map: Annotated[
        list[str] | None,
        repeatable(
            'FIELD="Header"',
            'Read a field from this column, e.g. --map order_date="Created Time"',
            name="--map",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            metavar="ZONE",
            help="Time zone of times written without one, e.g. Europe/London or +03:00"
            " (default: the recognized export's, else China time).",
        ),
    ] = None,
) -> None:
    """Read orders, fetch every tracking history, store raw responses, judge every order.

    Exits 1 when carriers failed and none answered (each carrier's reason is printed).
    """
    with errors():
        if not orders.exists():
            fail(f"{orders}: no such file", EXIT_USAGE)
        # an unusable file stops here, before any write
        opened = open_orders(
            orders, tenant=tenant, timezone=timezone, columns=parse_maps(column_map or [])
        )
        if not as_json:
            out().print(read_line(opened), markup=False)
        _run(
            pull,
            title=f"pull {orders.name}",
            window_end=window_end,
            policy_name=policy_name,
            sandbox=sandbox,
            sandbox_url=sandbox_url,
            latency=latency_ms,
            as_json=as_json,
            create=True,  # the one command that starts a database
            orders_path=orders,
            window_days=window_days,
            tenant=tenant,
            errors_path=errors_file,
            orders_file=opened,
            poll_now=now,
        )


def refresh_command(
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Poll the built-in sandbox.")] = False,
    sandbox_url: Annotated[
        str | None, typer.Option(metavar="URL", help="Poll a running sandbox.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Poll at most N shipments.")
    ] = None,
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Poll every followed shipment now, failed ones included, instead of waiting"
            " for its next poll time.",
        ),
    ] = False,
    judge_as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="DATE", help="Judge as of this moment.")
    ] = None,
    policy_name: PolicyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Poll the shipments that are due and re-judge their orders.

    Exits 1 when carriers failed and none answered (each carrier's reason is printed).
    """
    with errors():
        _run(
            refresh,
            title="refresh",
            window_end=judge_as_of,
            policy_name=policy_name,
            sandbox=sandbox,
            sandbox_url=sandbox_url,
            latency="0",
            as_json=as_json,
            limit=limit,
            poll_now=now,
        )

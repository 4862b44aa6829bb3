"""The portfolio report: the figures an appeal letter needs, and the orders not to cite.

`build_report` gives the portfolio summary (`tracking.read.portfolio.Portfolio`) of the orders
of a window (one store or all): orders in the window, how many are proven (verdict `pass`, the
same rule as the bundle's summary), by carrier and by destination country, the findings grouped
by code and severity, and the orders the seller should not cite, each with the reasons. With a
policy, the orders are judged again in memory under it (nothing is written,
`tracking.read.rejudge.judged_now`); without one, the stored verdicts are used, as `status`
and `export` show them.

This module renders it for a terminal (`render_rich`) or as plain lines (`render_text`);
`Portfolio.as_json` is `report --json`. `track-evidence report` (see `register`) prints it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine

from tracking.judge.policies import Policy
from tracking.read.portfolio import (
    DoNotCite,
    FindingCount,
    GroupFigure,
    Portfolio,
    Reason,
    read_portfolio,
    summarize,
)
from tracking.read.rejudge import judged_now, rejudge

__all__ = [
    "DoNotCite",
    "FindingCount",
    "GroupFigure",
    "PortfolioReport",
    "Reason",
    "build_report",
    "rejudge",
    "render_rich",
    "render_text",
]

PortfolioReport = Portfolio
"""The report is the portfolio summary (kept under its former name)."""


def build_report(
    engine: Engine,
    *,
    as_of: datetime,
    window_days: int = 90,
    tenant: str | None = None,
    policy: Policy | None = None,
) -> Portfolio:
    """The portfolio report of the orders placed in the `window_days` before `as_of`.

    `tenant` None covers every store. With `policy`, every order is judged again in memory
    under it at `as_of` (cross-order checks included); nothing is written. Without, the
    stored verdicts are read (orders never judged count as `unjudged`).
    """
    window = (as_of - timedelta(days=window_days), as_of)
    if policy is None:
        return read_portfolio(engine, tenant=tenant, window=window)
    items = judged_now(engine, as_of=as_of, policy=policy, tenant=tenant, window=window)
    return summarize(items, tenant=tenant, window=window, policy=policy.name)


# -- rendering ---------------------------------------------------------------------------------


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def _headline(report: PortfolioReport) -> list[str]:
    store = report.tenant or "all stores"
    policy = (
        f"policy {report.policy}"
        if report.policy != "stored"
        else "stored verdicts (policy " + (", ".join(report.policies) or "none") + ")"
    )
    v = report.verdicts
    return [
        f"Portfolio report: {store}; orders placed {report.window_start:%Y-%m-%d} to "
        f"{report.as_of:%Y-%m-%d}; {policy}",
        f"Orders in the window: {report.orders}. Proven (pass): {report.proven} "
        f"({_share(report.proven, report.orders)}); fail {v['fail']}; pending {v['pending']}"
        + (f"; not judged yet {report.unjudged}" if report.unjudged else "")
        + ".",
        f"All three milestones (departed, arrived, delivered): {report.all_milestones} of "
        f"{report.orders}. Proven but with a warning (cite with care): "
        f"{report.passed_with_warnings}.",
    ]


def _figure_name(f: GroupFigure) -> str:
    if not f.key:
        return f.label
    return f"{f.key} {f.label}" if f.label != f.key else f.key


def _figure_line(f: GroupFigure) -> str:
    return (
        f"  {_figure_name(f)}: {f.orders} orders, pass {f.passed} ({_share(f.passed, f.orders)}), "
        f"fail {f.failed}, pending {f.pending}"
        + (f", not judged {f.unjudged}" if f.unjudged else "")
        + f"; all milestones {f.all_milestones}"
    )


def _reason_text(item: DoNotCite) -> str:
    if not item.reasons:
        return "not judged yet: run pull or refresh"
    return " | ".join(f"{r.code}: {r.message}" for r in item.reasons)


def render_text(report: PortfolioReport) -> str:
    """The report as plain lines (for logs, pipes and the appeal letter's draft)."""
    lines = _headline(report)
    lines.append("")
    lines.append("By carrier:")
    lines.extend(_figure_line(f) for f in report.by_carrier)
    lines.append("By destination:")
    lines.extend(_figure_line(f) for f in report.by_destination)
    lines.append("Findings (orders affected):")
    if not report.findings:
        lines.append("  none")
    for f in report.findings:
        lines.append(f"  {f.severity:<7} {f.code:<34} {f.orders:>6}  {f.title} / {f.title_zh}")
    lines.append(f"Do not cite ({len(report.do_not_cite)} orders):")
    if not report.do_not_cite:
        lines.append("  none")
    for item in report.do_not_cite:
        lines.append(
            f"  {item.tenant}/{item.order_id}  {item.tracking_number}  {item.carrier or '?'}  "
            f"{item.destination_country}  {item.verdict}: {_reason_text(item)}"
        )
    return "\n".join(lines)


def render_rich(report: PortfolioReport, console: Console) -> None:
    """The report as Rich tables on a terminal."""
    for line in _headline(report):
        console.print(line, markup=False)
    for title, figures in (("carrier", report.by_carrier), ("destination", report.by_destination)):
        table = Table(title=f"by {title}", show_header=True, header_style="bold")
        table.add_column(title)
        for name in ("orders", "pass", "share", "fail", "pending", "not judged", "all 3"):
            table.add_column(name, justify="right")
        for f in figures:
            table.add_row(
                Text(_figure_name(f)),
                str(f.orders),
                str(f.passed),
                _share(f.passed, f.orders),
                str(f.failed),
                str(f.pending),
                str(f.unjudged),
                str(f.all_milestones),
            )
        console.print(table)
    table = Table(title="findings", show_header=True, header_style="bold")
    for name in ("severity", "code", "orders", "what"):
        table.add_column(name, justify="right" if name == "orders" else "left")
    for count in report.findings:
        table.add_row(
            count.severity, count.code, str(count.orders), f"{count.title} / {count.title_zh}"
        )
    console.print(table)
    table = Table(
        title=f"do not cite ({len(report.do_not_cite)} orders)",
        show_header=True,
        header_style="bold",
    )
    for name in ("order", "tracking number", "carrier", "dest", "verdict", "why"):
        table.add_column(name)
    for item in report.do_not_cite:
        # Order ids and carrier texts are data: never read as Rich markup.
        table.add_row(
            Text(f"{item.tenant}/{item.order_id}"),
            Text(item.tracking_number),
            Text(item.carrier or "?"),
            Text(item.destination_country),
            Text(item.verdict),
            Text(_reason_text(item)),
        )
    console.print(table)

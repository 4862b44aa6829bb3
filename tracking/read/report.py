"""The portfolio report: the figures an appeal letter needs, and the orders not to cite.

`build_report` reads the orders of a window (one store or all), with their verdicts, and counts:
orders in the window, how many are proven (verdict `pass`, the same rule as the bundle's
summary), by carrier and by destination country, the findings grouped by code and severity,
and the orders the seller should not cite, each with the reasons. With a policy, the orders
are judged again in memory under it (nothing is written); without one, the stored verdicts are
used, as `status` and `export` show them.

`track-evidence report` (see `register`) prints it as a table, plain lines or JSON.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine

from tracking.core.countries import country_name
from tracking.judge.crosscheck import shared_tracking
from tracking.judge.findings import SEVERITY_RANK, spec
from tracking.judge.policies import POLICIES, Policy, resolve_policy
from tracking.judge.split import SplitJudge
from tracking.judge.validator import evaluate
from tracking.store.handles import table_of
from tracking.store.orders import iter_order_ids, load_orders_data
from tracking.store.parcels import further_numbers
from tracking.store.tables import OrderRecord, VerdictRecord
from tracking.store.verdicts import facts, recompute_verdicts

__all__ = [
    "DoNotCite",
    "FindingCount",
    "GroupFigure",
    "PortfolioReport",
    "Reason",
    "build_report",
    "register",
    "rejudge",
    "render_rich",
    "render_text",
]

OT = table_of(OrderRecord)
V = table_of(VerdictRecord)

_MILESTONES = ("departed_origin", "arrived_destination", "delivered")
_VERDICTS = ("pass", "fail", "pending")
_UNJUDGED = "unjudged"
_CITE_ORDER = {"fail": 0, "pending": 1, _UNJUDGED: 2}


@dataclass(frozen=True, slots=True)
class GroupFigure:
    """The figures of one carrier or destination country."""

    key: str
    label: str
    orders: int
    all_milestones: int
    passed: int
    failed: int
    pending: int
    unjudged: int

    def as_json(self, name: str) -> dict[str, Any]:
        return {
            name: self.key,
            "name": self.label,
            "orders": self.orders,
            "all_milestones": self.all_milestones,
            "pass": self.passed,
            "fail": self.failed,
            "pending": self.pending,
            "unjudged": self.unjudged,
        }


@dataclass(frozen=True, slots=True)
class FindingCount:
    """How many orders in the window carry a finding code at a severity."""

    code: str
    severity: str
    title: str
    title_zh: str
    orders: int

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "title_zh": self.title_zh,
            "orders": self.orders,
        }


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason not to cite an order (one of its findings)."""

    code: str
    severity: str
    message: str
    message_zh: str


@dataclass(frozen=True, slots=True)
class DoNotCite:
    """An order the seller should not cite in the appeal, and why.

    `verdict` is `fail`, `pending` (not proven yet) or `unjudged` (no verdict yet: run
    `pull` or `refresh`).
    """

    tenant: str
    order_id: str
    order_date: datetime
    tracking_number: str
    carrier: str
    destination_country: str
    verdict: str
    reasons: tuple[Reason, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "order_id": self.order_id,
            "order_date": self.order_date.isoformat(),
            "tracking_number": self.tracking_number,
            "carrier": self.carrier,
            "destination_country": self.destination_country,
            "verdict": self.verdict,
            "reasons": [
                {
                    "code": r.code,
                    "severity": r.severity,
                    "message": r.message,
                    "message_zh": r.message_zh,
                }
                for r in self.reasons
            ],
        }


@dataclass(frozen=True, slots=True)
class PortfolioReport:
    """What an appeal letter needs about the orders of one window.

    **Parameters:**

    * **tenant** - the store, or None for every store.
    * **window_start** / **as_of** - orders placed in this interval (both ends included).
    * **policy** - the policy the orders were judged under for this report, or `stored`
      when the stored verdicts were used (then **policies** lists the ones they name).
    * **orders** - orders in the window; **verdicts** counts pass / fail / pending and
      **unjudged** the orders without a verdict.
    * **all_milestones** - orders with all three milestones proven (explicit or inferred).
    * **passed_with_warnings** - proven orders that still carry a warning: cite with care.
    """

    tenant: str | None
    window_start: datetime
    as_of: datetime
    policy: str
    policies: tuple[str, ...]
    orders: int
    verdicts: dict[str, int]
    unjudged: int
    all_milestones: int
    passed_with_warnings: int
    by_carrier: tuple[GroupFigure, ...]
    by_destination: tuple[GroupFigure, ...]
    findings: tuple[FindingCount, ...]
    do_not_cite: tuple[DoNotCite, ...]

    @property
    def proven(self) -> int:
        """Orders whose verdict is `pass` (the bundle summary's rule)."""
        return self.verdicts.get("pass", 0)

    def as_json(self) -> dict[str, Any]:
        """The report as `report --json` prints it."""
        return {
            "tenant": self.tenant,
            "window": {"start": self.window_start.isoformat(), "end": self.as_of.isoformat()},
            "policy": self.policy,
            "policies": list(self.policies),
            "orders_in_window": self.orders,
            "proven": self.proven,
            "verdicts": dict(self.verdicts),
            "unjudged": self.unjudged,
            "all_milestones": self.all_milestones,
            "passed_with_warnings": self.passed_with_warnings,
            "by_carrier": [f.as_json("carrier") for f in self.by_carrier],
            "by_destination": [f.as_json("country") for f in self.by_destination],
            "findings": [f.as_json() for f in self.findings],
            "do_not_cite": [d.as_json() for d in self.do_not_cite],
        }


# -- building ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Judged:
    """One order of the window with its verdict (stored or computed for the report)."""

    tenant: str
    order_id: str
    order_date: datetime
    tracking_number: str
    carrier: str  # "" when no carrier was determined (as in the bundle)
    destination_country: str
    status: str  # pass | fail | pending | unjudged
    policy: str | None
    complete: bool
    findings: list[dict[str, Any]] = field(default_factory=list)


def _stored(engine: Engine, ids: list[int]) -> Iterator[_Judged]:
    query = (
        sa.select(
            OT.c.tenant,
            OT.c.order_id,
            OT.c.order_date,
            OT.c.tracking_number,
            OT.c.carrier,
            OT.c.destination_country,
            V.c.status,
            V.c.policy,
            V.c.milestones,
            V.c.findings,
            OT.c.id,
        )
        .select_from(OT.outerjoin(V, V.c.order_pk == OT.c.id))
        .where(OT.c.id.in_(ids))
        .order_by(OT.c.id)
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
        split = further_numbers(connection, ids)  # a split order: every parcel's number
    for row in rows:
        milestones = json.loads(row.milestones) if row.milestones else {}
        yield _Judged(
            tenant=row.tenant,
            order_id=row.order_id,
            order_date=row.order_date,
            tracking_number=", ".join(
                [row.tracking_number, *(n for _, n in split.get(row.id, ()))]
            ),
            carrier=row.carrier or "",
            destination_country=row.destination_country,
            status=row.status or _UNJUDGED,
            policy=row.policy,
            complete=bool(milestones)
            and all(
                (milestones.get(m) or {}).get("status", "missing") != "missing" for m in _MILESTONES
            ),
            findings=json.loads(row.findings) if row.findings else [],
        )


def _judged_now(
    engine: Engine, ids: list[int], *, as_of: datetime, policy: Policy
) -> Iterator[_Judged]:
    with engine.connect() as connection:
        chunk = load_orders_data(connection, ids, with_exchanges=False)
        shared = shared_tracking(connection, [(d.order.id, d.order.tracking_number) for d in chunk])
        split = SplitJudge(connection, chunk)  # split orders: every parcel judged, all needed
    for data in chunk:
        order, legs = facts(data, shared_with=[r.ref for r in shared.get(data.order.id, ())])
        verdict = evaluate(
            order=order, shipments=legs, events=data.events, as_of=as_of, policy=policy
        )
        verdict = split.judge(data, verdict, as_of=as_of, policy=policy)
        o = data.order
        yield _Judged(
            tenant=o.tenant,
            order_id=o.order_id,
            order_date=o.order_date,
            tracking_number=", ".join([o.tracking_number, *split.numbers(o.id)]),
            carrier=o.carrier or "",
            destination_country=o.destination_country,
            status=verdict.status,
            policy=verdict.policy,
            complete=all(m.status != "missing" for m in verdict.milestones),
            findings=[
                {
                    "code": f.code,
                    "severity": f.severity,
                    "message": f.message,
                    "message_zh": f.message_zh,
                }
                for f in verdict.findings
            ],
        )


class _Group:
    __slots__ = ("complete", "counts", "orders")

    def __init__(self) -> None:
        self.orders = 0
        self.complete = 0
        self.counts: Counter[str] = Counter()

    def add(self, item: _Judged) -> None:
        self.orders += 1
        self.complete += item.complete
        self.counts[item.status] += 1

    def figure(self, key: str, label: str) -> GroupFigure:
        return GroupFigure(
            key=key,
            label=label,
            orders=self.orders,
            all_milestones=self.complete,
            passed=self.counts["pass"],
            failed=self.counts["fail"],
            pending=self.counts["pending"],
            unjudged=self.counts[_UNJUDGED],
        )


def _figures(groups: dict[str, _Group], label: Any) -> tuple[GroupFigure, ...]:
    figures = [g.figure(key, label(key)) for key, g in groups.items()]
    return tuple(sorted(figures, key=lambda f: (-f.orders, f.key)))


def _reasons(item: _Judged) -> tuple[Reason, ...]:
    chosen = [f for f in item.findings if f.get("severity") == "error"] or item.findings
    return tuple(
        Reason(
            code=str(f.get("code", "")),
            severity=str(f.get("severity", "")),
            message=str(f.get("message", "")),
            message_zh=str(f.get("message_zh", "")),
        )
        for f in chosen
    )


def build_report(
    engine: Engine,
    *,
    as_of: datetime,
    window_days: int = 90,
    tenant: str | None = None,
    policy: Policy | None = None,
) -> PortfolioReport:
    """The portfolio report of the orders placed in the `window_days` before `as_of`.

    `tenant` None covers every store. With `policy`, every order is judged again in memory
    under it at `as_of` (cross-order checks included); nothing is written. Without, the
    stored verdicts are read (orders never judged count as `unjudged`).
    """
    start = as_of - timedelta(days=window_days)
    verdicts: Counter[str] = Counter()
    policies: set[str] = set()
    by_carrier: dict[str, _Group] = defaultdict(_Group)
    by_destination: dict[str, _Group] = defaultdict(_Group)
    finding_orders: Counter[tuple[str, str]] = Counter()
    do_not_cite: list[DoNotCite] = []
    total = complete = with_warnings = 0
    for ids in iter_order_ids(engine, tenant=tenant, window=(start, as_of)):
        items: Iterable[_Judged] = (
            _stored(engine, ids)
            if policy is None
            else _judged_now(engine, ids, as_of=as_of, policy=policy)
        )
        for item in items:
            total += 1
            complete += item.complete
            verdicts[item.status] += 1
            if item.policy:
                policies.add(item.policy)
            by_carrier[item.carrier].add(item)
            by_destination[item.destination_country].add(item)
            for key in {(str(f.get("code")), str(f.get("severity"))) for f in item.findings}:
                finding_orders[key] += 1
            if item.status == "pass":
                with_warnings += any(f.get("severity") == "warning" for f in item.findings)
                continue
            do_not_cite.append(
                DoNotCite(
                    tenant=item.tenant,
                    order_id=item.order_id,
                    order_date=item.order_date,
                    tracking_number=item.tracking_number,
                    carrier=item.carrier,
                    destination_country=item.destination_country,
                    verdict=item.status,
                    reasons=_reasons(item),
                )
            )
    findings = tuple(
        sorted(
            (
                FindingCount(
                    code=code,
                    severity=severity,
                    title=spec(code).title,
                    title_zh=spec(code).title_zh,
                    orders=count,
                )
                for (code, severity), count in finding_orders.items()
            ),
            key=lambda f: (SEVERITY_RANK.get(f.severity, 9), -f.orders, f.code),
        )
    )
    do_not_cite.sort(key=lambda d: (_CITE_ORDER.get(d.verdict, 9), d.tenant, d.order_id))
    return PortfolioReport(
        tenant=tenant,
        window_start=start,
        as_of=as_of,
        policy=policy.name if policy is not None else "stored",
        policies=tuple(sorted(policies)),
        orders=total,
        verdicts={v: verdicts[v] for v in _VERDICTS},
        unjudged=verdicts[_UNJUDGED],
        all_milestones=complete,
        passed_with_warnings=with_warnings,
        by_carrier=_figures(by_carrier, lambda key: key or "unknown"),
        by_destination=_figures(by_destination, lambda key: country_name(key) or key),
        findings=findings,
        do_not_cite=tuple(do_not_cite),
    )


def rejudge(
    engine: Engine,
    *,
    policy: Policy,
    as_of: datetime,
    now: datetime | None = None,
    tenant: str | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> dict[str, int]:
    """Judge the orders of `tenant` in `window` again under `policy` and store the verdicts.

    For `status --policy` and `export --policy`: afterwards the stored verdicts (and so the
    bundle's manifest and summary) name the policy in force. History grows only where a
    verdict changed. Returns the pass / fail / pending counts.
    """
    counts: Counter[str] = Counter()
    moment = now or datetime.now(as_of.tzinfo)
    for ids in iter_order_ids(engine, tenant=tenant, window=window):
        verdicts = recompute_verdicts(engine, order_ids=ids, as_of=as_of, policy=policy, now=moment)
        counts.update(v.status for v in verdicts.values())
    return {v: counts[v] for v in _VERDICTS}


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


# -- command line ------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add the `report` command to the `track-evidence` application."""

    @app.command("report")
    def report_command(
        window_days: Annotated[
            int | None,
            typer.Option(min=1, max=3660, help="Window length in days (default: 90)."),
        ] = None,
        as_of: Annotated[
            str | None, typer.Option(help="End of the window (default: now), e.g. 2026-11-20.")
        ] = None,
        tenant: Annotated[
            str | None, typer.Option(help="Only this seller account / store (default: all).")
        ] = None,
        policy: Annotated[
            str | None,
            typer.Option(
                help="Judge again under this policy (default, joom, shopee) without storing; "
                "default: the stored verdicts."
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Portfolio figures for the appeal letter, findings by code, orders not to cite."""
        from tracking.cli.app import _as_of, _errors, _out, _settings
        from tracking.store.engine import open_engine

        if policy is not None and policy not in POLICIES:
            raise typer.BadParameter(
                f"unknown policy {policy!r}; known: {', '.join(POLICIES)}", param_hint="--policy"
            )
        moment = _as_of(as_of)
        with _errors():
            settings = _settings()
            chosen = resolve_policy(policy, settings=settings) if policy is not None else None
            engine = open_engine(settings.database_url)
            try:
                report = build_report(
                    engine,
                    as_of=moment,
                    window_days=window_days or settings.window_days,
                    tenant=tenant,
                    policy=chosen,
                )
            finally:
                engine.dispose()
            if as_json:
                typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
                return
            out = _out()
            if out.is_terminal:
                render_rich(report, out)
            else:
                out.print(render_text(report), markup=False)

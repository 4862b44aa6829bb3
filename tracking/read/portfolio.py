"""The portfolio summary: one read model of a window's orders, rendered three ways.

`Portfolio` holds what an appeal letter quotes about the orders of one window (one store or
all): orders, verdicts (`pass` / `fail` / `pending`, and `unjudged` for orders never judged),
the orders with all three milestones proven, by carrier and by destination country, the
findings by code and severity, and the orders not to cite with their reasons.

`summarize` is the only place these figures are computed. `read_portfolio` feeds it the
stored verdicts (one query, `tracking.store.portfolio.portfolio_rows`); `report --policy`
feeds it orders judged again in memory (`tracking.read.rejudge`); the bundle feeds it its
own rows when it is written without a database. The renderings:

    terminal   `tracking.read.report.render_text` / `render_rich`, and `Portfolio.as_json`
               (`report --json`)
    API        `summary_json` (the `GET /v1/summary` body, `tracking.api.models.SummaryPublic`)
    PDF        the precheck's figures (`tracking.evidence.precheck.render_precheck_pdf`)
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from tracking.core.countries import country_name
from tracking.core.fields import from_fields
from tracking.judge.findings import SEVERITY_RANK, spec
from tracking.store.portfolio import PortfolioRow, portfolio_rows

__all__ = [
    "MILESTONE_STAGES",
    "UNJUDGED",
    "VERDICTS",
    "DoNotCite",
    "FindingCount",
    "GroupFigure",
    "MilestoneCount",
    "Portfolio",
    "PortfolioOrder",
    "Reason",
    "order_of",
    "read_portfolio",
    "summarize",
    "summary_json",
]

MILESTONE_STAGES = ("departed_origin", "arrived_destination", "delivered")
VERDICTS = ("pass", "fail", "pending")
UNJUDGED = "unjudged"
"""The status of an order that has no verdict yet (imported, not pulled)."""
_CITE_ORDER = {"fail": 0, "pending": 1, UNJUDGED: 2}


@dataclass(frozen=True, slots=True)
class Reason:
    """One finding of an order: a reason not to cite it."""

    code: str
    severity: str
    message: str
    message_zh: str


@dataclass(frozen=True, slots=True)
class _Order:
    """Which order: its store, id and date, tracking number, carrier and destination country."""

    tenant: str
    order_id: str
    order_date: datetime
    tracking_number: str
    carrier: str
    destination_country: str


@dataclass(frozen=True, slots=True)
class PortfolioOrder(_Order):
    """One order as the portfolio counts it.

    `status` is `pass`, `fail`, `pending` or `unjudged`; `milestones` the status (`explicit`,
    `inferred`, `missing`) of each of `MILESTONE_STAGES`, empty when unjudged;
    `tracking_number` every parcel's number, comma-separated; `carrier` "" when no carrier
    was determined; `carrier_name` the carrier's display name where known.
    """

    status: str
    policy: str | None
    milestones: tuple[str, ...]
    findings: tuple[Reason, ...] = ()
    carrier_name: str = ""

    @property
    def complete(self) -> bool:
        """All three milestones proven (explicit or inferred)."""
        return bool(self.milestones) and all(s != "missing" for s in self.milestones)


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
    shown: tuple[int, int, int] = (0, 0, 0)
    """Orders proving each of `MILESTONE_STAGES` (explicit or inferred)."""

    def counts(self) -> dict[str, int]:
        """The order counts (all, all three milestones, by verdict) as every JSON names them."""
        return {
            "orders": self.orders,
            "all_milestones": self.all_milestones,
            "pass": self.passed,
            "fail": self.failed,
            "pending": self.pending,
        }

    def as_json(self, name: str) -> dict[str, Any]:
        return {name: self.key, "name": self.label, **self.counts(), "unjudged": self.unjudged}


@dataclass(frozen=True, slots=True)
class FindingCount:
    """How many orders in the window carry a finding code at a severity."""

    code: str
    severity: str
    title: str
    title_zh: str
    orders: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MilestoneCount:
    """How many judged orders prove a milestone explicitly, by inference, or not at all."""

    stage: str
    explicit: int
    inferred: int
    missing: int


@dataclass(frozen=True, slots=True)
class DoNotCite(_Order):
    """An order the seller should not cite in the appeal, and why.

    `verdict` is `fail`, `pending` (not proven yet) or `unjudged` (no verdict yet: run
    `pull` or `refresh`).
    """

    verdict: str
    reasons: tuple[Reason, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "order_date": self.order_date.isoformat(),
            "reasons": [asdict(r) for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Portfolio:
    """What an appeal letter needs about the orders of one window.

    **Parameters:**

    * **tenant** - the store, or None for every store.
    * **window_start** / **as_of** - orders placed in this interval (both ends included).
    * **policy** - the policy the orders were judged under for this summary, or `stored`
      when the stored verdicts were used (then **policies** lists the ones they name).
    * **orders** - orders in the window; **verdicts** counts pass / fail / pending and
      **unjudged** the orders without a verdict.
    * **all_milestones** - orders with all three milestones proven (explicit or inferred).
    * **passed_with_warnings** - proven orders that still carry a warning: cite with care.
    * **milestones** - per milestone, how the judged orders prove it.
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
    milestones: tuple[MilestoneCount, ...] = ()

    @property
    def proven(self) -> int:
        """Orders whose verdict is `pass` (the bundle summary's rule)."""
        return self.verdicts.get("pass", 0)

    @property
    def judged(self) -> int:
        """Orders with a verdict."""
        return self.orders - self.unjudged

    def as_json(self) -> dict[str, Any]:
        """The summary as `report --json` prints it."""
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


# -- the one computation -----------------------------------------------------------------------


class _Group:
    __slots__ = ("complete", "counts", "label", "orders", "shown")

    def __init__(self) -> None:
        self.orders = 0
        self.complete = 0
        self.label = ""
        self.counts: Counter[str] = Counter()
        self.shown = [0, 0, 0]

    def add(self, item: PortfolioOrder, label: str) -> None:
        self.orders += 1
        self.complete += item.complete
        self.label = self.label or label
        self.counts[item.status] += 1
        for i, status in enumerate(item.milestones[:3]):
            self.shown[i] += status != "missing"

    def figure(self, key: str) -> GroupFigure:
        return GroupFigure(
            key=key,
            label=self.label,
            orders=self.orders,
            all_milestones=self.complete,
            passed=self.counts["pass"],
            failed=self.counts["fail"],
            pending=self.counts["pending"],
            unjudged=self.counts[UNJUDGED],
            shown=(self.shown[0], self.shown[1], self.shown[2]),
        )


def _figures(groups: dict[str, _Group]) -> tuple[GroupFigure, ...]:
    figures = [g.figure(key) for key, g in groups.items()]
    return tuple(sorted(figures, key=lambda f: (-f.orders, f.key)))


def _reasons(item: PortfolioOrder) -> tuple[Reason, ...]:
    """The errors of an order not to cite, or all its findings when none is an error."""
    return tuple(f for f in item.findings if f.severity == "error") or item.findings


def summarize(
    items: Iterable[PortfolioOrder],
    *,
    tenant: str | None,
    window: tuple[datetime, datetime],
    policy: str = "stored",
) -> Portfolio:
    """The portfolio of `items`, the orders of `tenant` placed in `window`.

    `policy` names the policy the items were just judged under, or `stored` for stored
    verdicts. Streams `items` once; only the orders not to cite are kept.
    """
    verdicts: Counter[str] = Counter()
    policies: set[str] = set()
    by_carrier: dict[str, _Group] = defaultdict(_Group)
    by_destination: dict[str, _Group] = defaultdict(_Group)
    stages = {stage: Counter[str]() for stage in MILESTONE_STAGES}
    finding_orders: Counter[tuple[str, str]] = Counter()
    do_not_cite: list[DoNotCite] = []
    total = complete = with_warnings = 0
    for item in items:
        total += 1
        complete += item.complete
        verdicts[item.status] += 1
        if item.policy:
            policies.add(item.policy)
        by_carrier[item.carrier].add(item, item.carrier_name or item.carrier or "unknown")
        country = item.destination_country
        by_destination[country].add(item, country_name(country) or country or "—")
        for stage, status in zip(MILESTONE_STAGES, item.milestones, strict=False):
            stages[stage][status] += 1
        for key in {(f.code, f.severity) for f in item.findings}:
            finding_orders[key] += 1
        if item.status == "pass":
            with_warnings += any(f.severity == "warning" for f in item.findings)
            continue
        do_not_cite.append(
            from_fields(DoNotCite, item, verdict=item.status, reasons=_reasons(item))
        )
    findings = sorted(
        (
            FindingCount(code, severity, spec(code).title, spec(code).title_zh, count)
            for (code, severity), count in finding_orders.items()
        ),
        key=lambda f: (SEVERITY_RANK.get(f.severity, 9), -f.orders, f.code),
    )
    do_not_cite.sort(key=lambda d: (_CITE_ORDER.get(d.verdict, 9), d.tenant, d.order_id))
    return Portfolio(
        tenant=tenant,
        window_start=window[0],
        as_of=window[1],
        policy=policy,
        policies=tuple(sorted(policies)),
        orders=total,
        verdicts={v: verdicts[v] for v in VERDICTS},
        unjudged=verdicts[UNJUDGED],
        all_milestones=complete,
        passed_with_warnings=with_warnings,
        by_carrier=_figures(by_carrier),
        by_destination=_figures(by_destination),
        findings=tuple(findings),
        do_not_cite=tuple(do_not_cite),
        milestones=tuple(
            MilestoneCount(stage, c["explicit"], c["inferred"], c["missing"])
            for stage, c in stages.items()
        ),
    )


# -- from the store ----------------------------------------------------------------------------


def order_of(row: PortfolioRow, carrier_names: Mapping[str, str] | None = None) -> PortfolioOrder:
    """A stored order and its stored verdict, as the portfolio counts it (`carrier_names`:
    display names by carrier key, for the labels)."""
    judged = row.status is not None
    raw = json.loads(row.milestones) if judged and row.milestones else {}
    findings = json.loads(row.findings) if judged and row.findings else []
    return PortfolioOrder(
        tenant=row.tenant,
        order_id=row.order_id,
        order_date=row.order_date,
        tracking_number=", ".join(row.numbers),
        carrier=row.carrier,
        destination_country=row.destination_country,
        status=row.status or UNJUDGED,
        policy=row.policy,
        milestones=tuple((raw.get(m) or {}).get("status", "missing") for m in MILESTONE_STAGES)
        if judged
        else (),
        findings=tuple(
            Reason(
                code=str(f.get("code", "")),
                severity=str(f.get("severity", "")),
                message=str(f.get("message", "")),
                message_zh=str(f.get("message_zh", "")),
            )
            for f in findings
        ),
        carrier_name=(carrier_names or {}).get(row.carrier, ""),
    )


def read_portfolio(
    engine: Engine,
    *,
    tenant: str | None,
    window: tuple[datetime, datetime],
    carrier_names: Mapping[str, str] | None = None,
) -> Portfolio:
    """The portfolio of the stored verdicts of `tenant` (None: every store) in `window`;
    carriers labelled by `carrier_names` where given (the PDFs print display names)."""
    rows = portfolio_rows(engine, tenant=tenant, window=window)
    orders = (order_of(row, carrier_names) for row in rows)
    return summarize(orders, tenant=tenant, window=window)


# -- the API's rendering -----------------------------------------------------------------------


def _api_figure(figure: GroupFigure, key: str) -> dict[str, Any]:
    return {"key": key, **figure.counts(), "not_judged": figure.unjudged}


def summary_json(portfolio: Portfolio) -> dict[str, Any]:
    """The portfolio as `GET /v1/summary` returns it (`tracking.api.models.SummaryPublic`)."""
    headline = f"{portfolio.all_milestones} of {portfolio.judged} orders have all three milestones"
    if portfolio.unjudged:
        headline += f" ({portfolio.unjudged} not checked yet)"
    return {
        "window": {"start": portfolio.window_start, "end": portfolio.as_of},
        "orders": portfolio.orders,
        "judged": portfolio.judged,
        "verdicts": dict(portfolio.verdicts),
        "not_judged": portfolio.unjudged,
        "all_milestones": portfolio.all_milestones,
        "milestones": {
            m.stage: {"explicit": m.explicit, "inferred": m.inferred, "missing": m.missing}
            for m in portfolio.milestones
        },
        "by_carrier": [_api_figure(f, f.key or f.label) for f in portfolio.by_carrier],
        "by_destination": [_api_figure(f, f.key) for f in portfolio.by_destination],
        "findings": [
            {"code": f.code, "severity": f.severity, "orders": f.orders} for f in portfolio.findings
        ],
        "headline": headline,
    }

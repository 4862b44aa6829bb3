"""Milestones and verdicts: pure functions from an order's facts and events to findings.

`evaluate` computes every finding of design §14 for one order, running the rules of
`tracking.judge.rules` (one module per finding family) in a fixed order: what the carrier says
about the shipment, the timeline, the destination, the declared carrier, the tracking number
(including its use by other orders, which the caller looks up and passes in
`OrderFacts.shared_with`), and the marketplace policy's own rules (`tracking.judge.policies`).
Codes and usual severities are listed in `tracking.judge.findings.CATALOGUE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tracking.core.domain import MILESTONES
from tracking.judge.facts import OrderFacts, ShipmentFacts
from tracking.judge.findings import SEVERITY_RANK
from tracking.judge.policies import POLICIES, Policy
from tracking.judge.rules.carrier import carrier_findings
from tracking.judge.rules.destination import place_findings
from tracking.judge.rules.milestones import milestone_views, missing_finding
from tracking.judge.rules.numbers import cross_order_findings, number_findings
from tracking.judge.rules.policy import requirement_findings
from tracking.judge.rules.shipment import shipment_findings
from tracking.judge.rules.timeline import delivery_findings, timeline_findings, transit_findings
from tracking.read.views import EventView, FindingView, MilestoneView, VerdictStatus

__all__ = [
    "POLICIES",
    "OrderFacts",
    "Policy",
    "ShipmentFacts",
    "Verdict",
    "evaluate",
]

_ALL_MILESTONES: tuple[str, ...] = tuple(s.value for s in MILESTONES)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict of one order under one policy."""

    status: VerdictStatus
    policy: str
    milestones: tuple[MilestoneView, ...]
    findings: tuple[FindingView, ...]
    required: tuple[str, ...] = _ALL_MILESTONES
    """The milestones the policy requires of this order (Joom: by order value)."""
    parcels: tuple[tuple[str, VerdictStatus, tuple[MilestoneView, ...]], ...] = ()
    """A split order's parcels, first included: (tracking number, verdict, milestones)."""

    @property
    def missing(self) -> list[str]:
        """Required milestones that are not proven."""
        return [
            m.stage for m in self.milestones if m.status == "missing" and m.stage in self.required
        ]


def evaluate(
    *,
    order: OrderFacts,
    shipments: Sequence[ShipmentFacts],
    events: Sequence[EventView],
    as_of: datetime,
    policy: Policy,
) -> Verdict:
    """The verdict of one order: milestones, findings and pass / fail / pending.

    `events` are every leg's events, chronological; `shipments` lists the origin leg first.
    The order passes when every milestone its policy requires is proven and no finding is an
    error; it is pending while the shipment is unfinished, younger than the policy's maximum
    transit time and nothing is wrong; otherwise it fails. A "probe" leg (the number asked of
    another carrier because the declared one does not know it) proves no milestone: it only
    shows who really has the parcel.
    """
    probes = {(s.carrier, s.tracking_number) for s in shipments if s.role == "probe"}
    if probes:
        events = [e for e in events if (e.carrier, e.tracking_number) not in probes]
    requirement = policy.requirement(order)
    milestones, milestone_findings = milestone_views(order, events, policy)
    on_shipment, terminal = shipment_findings(order, shipments, events, as_of, policy)
    findings = [
        *cross_order_findings(order),
        *on_shipment,
        *carrier_findings(order, policy),
        *number_findings(order, events),
        *milestone_findings,
        *timeline_findings(order, events),
        *delivery_findings(order, milestones, events),
        *transit_findings(order, milestones, policy),
        *place_findings(order, milestones),
        *requirement_findings(order, requirement, shipments, milestones, events, policy),
    ]
    required = requirement.milestones
    missing = [m.stage for m in milestones if m.status == "missing" and m.stage in required]
    has_error = any(f.severity == "error" for f in findings)
    final = any(s.final for s in shipments)
    young = as_of - order.order_date < timedelta(days=policy.max_transit_days)
    status: VerdictStatus
    if not missing and not has_error:
        status = "pass"
    elif not final and young and not terminal and not has_error:
        status = "pending"
    else:
        status = "fail"
    if missing:
        findings.append(missing_finding(missing, pending=status == "pending"))
    # Most serious first; among errors the specific cause before the generic "missing".
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.code == "milestone.missing"))
    return Verdict(
        status=status,
        policy=policy.name,
        milestones=tuple(milestones),
        findings=tuple(findings),
        required=required,
    )

"""policy.*: the marketplace policy's own findings (why this depth of proof, and delivery shown
in the destination country when the policy needs it)."""

from __future__ import annotations

from collections.abc import Sequence

from tracking.core.domain import Stage
from tracking.judge.facts import OrderFacts, ShipmentFacts
from tracking.judge.policies import Policy, Requirement
from tracking.judge.rules.common import finding_at, first_explicit, ref
from tracking.read.views import EventView, FindingView, MilestoneView

__all__ = ["requirement_findings"]

_DESTINATION_SIDE = frozenset(
    {
        Stage.ARRIVED_DESTINATION.value,
        Stage.IMPORT_CUSTOMS.value,
        Stage.DESTINATION_FACILITY.value,
        Stage.OUT_FOR_DELIVERY.value,
        Stage.AVAILABLE_FOR_PICKUP.value,
        Stage.DELIVERY_FAILED.value,
    }
)


def requirement_findings(
    order: OrderFacts,
    requirement: Requirement,
    shipments: Sequence[ShipmentFacts],
    milestones: Sequence[MilestoneView],
    events: Sequence[EventView],
    policy: Policy,
) -> list[FindingView]:
    """The policy's own findings: why this depth, and delivery shown in the destination."""
    findings = list(requirement.findings)
    delivered = first_explicit(milestones, Stage.DELIVERED)
    if not requirement.delivery_in_destination or delivered is None or delivered.country:
        return findings  # a delivery elsewhere is `destination.delivered_elsewhere`
    dest = order.destination_country
    shown = any(s.destination_country == dest for s in shipments) or any(
        e.country == dest and e.stage in _DESTINATION_SIDE
        for e in events
        if e.occurred_at <= delivered.occurred_at
    )
    if not shown:
        findings.append(
            finding_at(
                "policy.delivery_country_unproven",
                "warning",
                f"The {policy.name} policy needs delivery in {dest}, but the delivered event "
                "names no country and no carrier record places the parcel in the "
                "destination country.",
                f"{policy.name} 规则要求在目的国（{dest}）妥投，但妥投事件未注明国家，"
                "也没有其他记录表明包裹到达目的国。",
                [ref(delivered)],
            )
        )
    return findings

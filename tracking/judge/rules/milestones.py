"""milestone.*: which of the three milestones the events prove, explicitly or by inference."""

from __future__ import annotations

from collections.abc import Sequence

from tracking.core.domain import MILESTONES, Stage
from tracking.judge.facts import OrderFacts
from tracking.judge.policies import Policy
from tracking.judge.rules.common import finding_at, ref
from tracking.read.views import EventView, FindingView, MilestoneView, Severity

__all__ = ["STAGE_EN", "STAGE_ZH", "milestone_views", "missing_finding"]

STAGE_ZH = {
    Stage.DEPARTED_ORIGIN.value: "离开始发国",
    Stage.ARRIVED_DESTINATION.value: "到达目的国",
    Stage.DELIVERED.value: "妥投",
}
STAGE_EN = {
    Stage.DEPARTED_ORIGIN.value: "departed from the origin country",
    Stage.ARRIVED_DESTINATION.value: "arrived in the destination country",
    Stage.DELIVERED.value: "delivered",
}


def milestone_views(
    order: OrderFacts, events: Sequence[EventView], policy: Policy
) -> tuple[list[MilestoneView], list[FindingView]]:
    findings: list[FindingView] = []
    explicit: dict[str, EventView] = {}
    for event in events:  # chronological
        if event.stage in STAGE_EN and event.stage not in explicit:
            explicit[event.stage] = event
    views: list[MilestoneView] = []
    departed = explicit.get(Stage.DEPARTED_ORIGIN.value)
    for stage in MILESTONES:
        found = explicit.get(stage.value)
        if found is not None:
            views.append(MilestoneView(stage=stage.value, status="explicit", event=found))
            if found.time_source == "unknown":
                findings.append(
                    finding_at(
                        "milestone.time_unknown",
                        "warning",
                        f"The time zone of the '{STAGE_EN[stage.value]}' event is unknown; "
                        "its local time may be off by hours.",
                        f"“{STAGE_ZH[stage.value]}”节点的时区未知，本地时间可能有偏差。",
                        [ref(found)],
                    )
                )
            continue
        if stage is Stage.ARRIVED_DESTINATION and policy.infer_arrival:
            inferred = next(
                (
                    e
                    for e in events
                    if e.stage in policy.arrival_evidence
                    and e.country == order.destination_country
                    and (departed is None or e.occurred_at >= departed.occurred_at)
                ),
                None,
            )
            if inferred is not None:
                note = f"inferred from '{inferred.stage}' in {inferred.country}"
                views.append(
                    MilestoneView(stage=stage.value, status="inferred", event=inferred, note=note)
                )
                findings.append(
                    finding_at(
                        "milestone.inferred",
                        "warning",
                        "Arrival in the destination country is not stated by the carrier; it is "
                        f"{note} (event {inferred.code or inferred.description[:40]!r}).",
                        f"承运商未明确给出“到达目的国”节点，由目的国{inferred.stage}事件推断。",
                        [ref(inferred)],
                    )
                )
                continue
        views.append(MilestoneView(stage=stage.value, status="missing"))
    return views, findings


def missing_finding(missing: Sequence[str], *, pending: bool) -> FindingView:
    """`milestone.missing` for the required milestones not proven: info while pending."""
    names = ", ".join(STAGE_EN[m] for m in missing)
    names_zh = "、".join(STAGE_ZH[m] for m in missing)
    severity: Severity = "info" if pending else "error"
    return finding_at(
        "milestone.missing",
        severity,
        ("Not yet proven" if pending else "Missing milestone(s)") + f": {names}.",
        f"缺少物流节点：{names_zh}。",
    )

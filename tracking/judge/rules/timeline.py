"""timeline.*, transit.* and events.unrecognized: when things happened, and whether that is
plausible (scans before the order, delivery before departure, events after delivery, transit
too fast or too slow)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from tracking.core.countries import country_name
from tracking.core.domain import Stage
from tracking.judge.facts import OrderFacts
from tracking.judge.policies import Policy
from tracking.judge.rules.common import finding_at, first_explicit, ref
from tracking.read.views import EventView, FindingView, MilestoneView

__all__ = ["delivery_findings", "timeline_findings", "transit_findings"]

_ORIGIN_SIDE = frozenset(
    {
        Stage.INFO_RECEIVED.value,
        Stage.PICKED_UP.value,
        Stage.ORIGIN_FACILITY.value,
        Stage.EXPORT_CUSTOMS.value,
        Stage.DEPARTED_ORIGIN.value,
    }
)
# Events after delivery that are not a contradiction: the delivery itself again (another leg
# or a repeated scan), returns (reported as such), exceptions (reported as such) and events
# nobody understood.
_AFTER_DELIVERY_OK = frozenset(
    {
        Stage.DELIVERED.value,
        Stage.RETURNING.value,
        Stage.RETURNED.value,
        Stage.EXCEPTION.value,
        Stage.UNKNOWN.value,
    }
)
# A carrier's clock and a marketplace export's clock can disagree by a time zone.
_ORDER_DATE_TOLERANCE = timedelta(hours=24)
# Scans of one delivery round can be stamped minutes apart.
_AFTER_DELIVERY_TOLERANCE = timedelta(minutes=30)


def timeline_findings(order: OrderFacts, events: Sequence[EventView]) -> list[FindingView]:
    findings: list[FindingView] = []
    carrier_events = [e for e in events if e.stage != Stage.INFO_RECEIVED]
    if carrier_events:
        first = carrier_events[0]
        if first.occurred_at < order.order_date - _ORDER_DATE_TOLERANCE:
            findings.append(
                finding_at(
                    "timeline.before_order",
                    "error",
                    f"The carrier scanned the parcel on {first.occurred_at:%Y-%m-%d %H:%M} UTC, "
                    f"before the order was placed ({order.order_date:%Y-%m-%d %H:%M} UTC).",
                    "承运商揽收/扫描时间早于下单时间。",
                    [ref(first)],
                )
            )
    delivered = [e for e in events if e.stage == Stage.DELIVERED]
    departed = [e for e in events if e.stage == Stage.DEPARTED_ORIGIN]
    if delivered and departed and delivered[0].occurred_at < departed[0].occurred_at:
        findings.append(
            finding_at(
                "timeline.delivered_before_departure",
                "error",
                "The parcel is marked delivered before it left the origin country.",
                "妥投时间早于离开始发国时间。",
                [ref(delivered[0]), ref(departed[0])],
            )
        )
    if departed:
        early = [
            e
            for e in events
            if e.occurred_at < departed[0].occurred_at
            and e.stage not in _ORIGIN_SIDE
            and e.stage not in (Stage.UNKNOWN, Stage.EXCEPTION)
        ]
        if early:
            findings.append(
                finding_at(
                    "timeline.out_of_order",
                    "info",
                    f"{len(early)} event(s) stamped before departure belong to a later stage "
                    f"(first: {early[0].stage} {early[0].code!r}); the carrier's clock or "
                    "sequence is off, so arrival is not inferred from them.",
                    "部分事件时间早于离境时间，顺序异常，未据此推断到达。",
                    [ref(e) for e in early[:5]],
                )
            )
    unknown = [e for e in events if e.stage == Stage.UNKNOWN]
    if unknown:
        codes = sorted({e.code or e.description[:30] for e in unknown})
        findings.append(
            finding_at(
                "events.unrecognized",
                "info",
                f"{len(unknown)} carrier event(s) could not be classified: {', '.join(codes[:5])}.",
                f"{len(unknown)} 条承运商事件无法识别。",
                [ref(e) for e in unknown[:5]],
            )
        )
    return findings


def delivery_findings(
    order: OrderFacts, milestones: Sequence[MilestoneView], events: Sequence[EventView]
) -> list[FindingView]:
    """Delivery dated before the order, and carrier events after the delivery."""
    findings: list[FindingView] = []
    delivered = first_explicit(milestones, Stage.DELIVERED)
    if delivered is None:
        return findings
    if delivered.occurred_at < order.order_date - _ORDER_DATE_TOLERANCE:
        findings.append(
            finding_at(
                "timeline.delivered_before_order",
                "error",
                f"The carrier marks the parcel delivered on {delivered.occurred_at:%Y-%m-%d %H:%M}"
                f" UTC, before the order was placed ({order.order_date:%Y-%m-%d %H:%M} UTC): "
                "this parcel cannot be the one that fulfilled the order.",
                "妥投时间早于下单时间，该包裹不可能是本订单的包裹。",
                [ref(delivered)],
            )
        )
    later = [
        e
        for e in events
        if e.occurred_at > delivered.occurred_at + _AFTER_DELIVERY_TOLERANCE
        and e.stage not in _AFTER_DELIVERY_OK
    ]
    if later:
        stages = ", ".join(dict.fromkeys(e.stage for e in later))
        findings.append(
            finding_at(
                "timeline.events_after_delivery",
                "warning",
                f"{len(later)} carrier event(s) come after the delivery of "
                f"{delivered.occurred_at:%Y-%m-%d %H:%M} UTC ({stages}; first: "
                f"{later[0].occurred_at:%Y-%m-%d %H:%M} UTC): a delivered parcel should not move "
                "again, so a reviewer may doubt the delivery.",
                f"妥投之后仍有 {len(later)} 条物流事件（{stages}），审核可能质疑妥投的真实性。",
                [ref(delivered), *(ref(e) for e in later[:5])],
            )
        )
    return findings


def transit_findings(
    order: OrderFacts, milestones: Sequence[MilestoneView], policy: Policy
) -> list[FindingView]:
    """Departed→delivered days outside the plausible range for the destination."""
    departed = first_explicit(milestones, Stage.DEPARTED_ORIGIN)
    delivered = first_explicit(milestones, Stage.DELIVERED)
    if departed is None or delivered is None or delivered.occurred_at < departed.occurred_at:
        return []  # a delivery before departure is its own finding
    days = (delivered.occurred_at - departed.occurred_at).total_seconds() / 86400
    low, high = policy.transit_bounds(order.destination_country)
    place = country_name(order.destination_country) or order.destination_country
    evidence = [ref(departed), ref(delivered)]
    if days < low:
        return [
            finding_at(
                "transit.too_fast",
                "warning",
                f"Delivered {days:.1f} days after leaving the origin country; to {place} fewer "
                f"than {low:g} days is implausible, so a reviewer may doubt the timeline.",
                f"离境后仅 {days:.1f} 天即妥投，发往该国少于 {low:g} 天不合常理，"
                "审核可能质疑轨迹。",
                evidence,
            )
        ]
    if days > high:
        return [
            finding_at(
                "transit.too_slow",
                "warning",
                f"Delivered {days:.0f} days after leaving the origin country; to {place} more "
                f"than {high:g} days is unusual, so a reviewer may ask whether this is the "
                "same parcel.",
                f"离境后 {days:.0f} 天才妥投，发往该国超过 {high:g} 天属异常，"
                "审核可能质疑是否为同一包裹。",
                evidence,
            )
        ]
    return []

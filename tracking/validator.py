"""Milestones and verdicts: pure functions from an order's facts and events to findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tracking.domain import MILESTONES, Stage
from tracking.views import EventView, FindingView, MilestoneView, VerdictStatus

__all__ = [
    "POLICIES",
    "OrderFacts",
    "Policy",
    "ShipmentFacts",
    "Verdict",
    "evaluate",
]

_ORIGIN_SIDE = frozenset(
    {
        Stage.INFO_RECEIVED,
        Stage.PICKED_UP,
        Stage.ORIGIN_FACILITY,
        Stage.EXPORT_CUSTOMS,
        Stage.DEPARTED_ORIGIN,
    }
)
_ARRIVAL_EVIDENCE = frozenset({Stage.IMPORT_CUSTOMS, Stage.DESTINATION_FACILITY})
_RETURN_STAGES = frozenset({Stage.RETURNING, Stage.RETURNED})
# A carrier's clock and a marketplace export's clock can disagree by a time zone.
_ORDER_DATE_TOLERANCE = timedelta(hours=24)
_NOT_FOUND_GRACE = timedelta(days=7)
_STALE_AFTER = timedelta(days=20)


@dataclass(frozen=True, slots=True)
class Policy:
    """A verdict policy.

    **Parameters:**

    * **name** - recorded with every verdict.
    * **max_transit_days** - an unfinished shipment older than this fails instead of pending.
    * **infer_arrival** - whether import customs / destination facility events in the
      destination country (after departure) may stand in for an explicit arrival.
    """

    name: str = "default"
    max_transit_days: int = 60
    infer_arrival: bool = True


POLICIES: dict[str, Policy] = {"default": Policy()}


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the order says."""

    order_id: str
    order_date: datetime
    destination_country: str
    carrier: str | None
    carrier_declared: str = ""
    carrier_source: str = "declared"
    order_value: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    """What is known about one leg of the order's shipment."""

    carrier: str
    tracking_number: str
    role: str
    state: str  # new | tracking | final | not_found | error
    final: bool
    error_kind: str | None = None
    error_message: str | None = None
    destination_country: str | None = None
    first_fetched_at: datetime | None = None
    last_fetched_at: datetime | None = None
    not_found_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict of one order under one policy."""

    status: VerdictStatus
    policy: str
    milestones: tuple[MilestoneView, ...]
    findings: tuple[FindingView, ...]

    @property
    def missing(self) -> list[str]:
        return [m.stage for m in self.milestones if m.status == "missing"]


def _finding(
    code: str,
    severity: str,
    message: str,
    message_zh: str,
    evidence: Sequence[str] = (),
) -> FindingView:
    assert severity in ("error", "warning", "info")
    return FindingView(
        code=code,
        severity=severity,  # type: ignore[arg-type]
        message=message,
        message_zh=message_zh,
        evidence=tuple(dict.fromkeys(evidence)),
    )


_STAGE_ZH = {
    Stage.DEPARTED_ORIGIN.value: "离开始发国",
    Stage.ARRIVED_DESTINATION.value: "到达目的国",
    Stage.DELIVERED.value: "妥投",
}
_STAGE_EN = {
    Stage.DEPARTED_ORIGIN.value: "departed from the origin country",
    Stage.ARRIVED_DESTINATION.value: "arrived in the destination country",
    Stage.DELIVERED.value: "delivered",
}


def _ref(event: EventView) -> str:
    return f"exchange:{event.exchange_sha256}"


def _milestones(
    order: OrderFacts, events: Sequence[EventView], policy: Policy
) -> tuple[list[MilestoneView], list[FindingView]]:
    findings: list[FindingView] = []
    explicit: dict[str, EventView] = {}
    for event in events:  # chronological
        if event.stage in _STAGE_EN and event.stage not in explicit:
            explicit[event.stage] = event
    views: list[MilestoneView] = []
    departed = explicit.get(Stage.DEPARTED_ORIGIN.value)
    for stage in MILESTONES:
        found = explicit.get(stage.value)
        if found is not None:
            views.append(MilestoneView(stage=stage.value, status="explicit", event=found))
            if found.time_source == "unknown":
                findings.append(
                    _finding(
                        "milestone.time_unknown",
                        "warning",
                        f"The time zone of the '{_STAGE_EN[stage.value]}' event is unknown; "
                        "its local time may be off by hours.",
                        f"“{_STAGE_ZH[stage.value]}”节点的时区未知，本地时间可能有偏差。",
                        [_ref(found)],
                    )
                )
            continue
        if stage is Stage.ARRIVED_DESTINATION and policy.infer_arrival:
            inferred = next(
                (
                    e
                    for e in events
                    if e.stage in _ARRIVAL_EVIDENCE
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
                    _finding(
                        "milestone.inferred",
                        "warning",
                        "Arrival in the destination country is not stated by the carrier; it is "
                        f"{note} (event {inferred.code or inferred.description[:40]!r}).",
                        f"承运商未明确给出“到达目的国”节点，由目的国{inferred.stage}事件推断。",
                        [_ref(inferred)],
                    )
                )
                continue
        views.append(MilestoneView(stage=stage.value, status="missing"))
    return views, findings


def _timeline_findings(order: OrderFacts, events: Sequence[EventView]) -> list[FindingView]:
    findings: list[FindingView] = []
    carrier_events = [e for e in events if e.stage != Stage.INFO_RECEIVED.value]
    if carrier_events:
        first = carrier_events[0]
        if first.occurred_at < order.order_date - _ORDER_DATE_TOLERANCE:
            findings.append(
                _finding(
                    "timeline.before_order",
                    "error",
                    f"The carrier scanned the parcel on {first.occurred_at:%Y-%m-%d %H:%M} UTC, "
                    f"before the order was placed ({order.order_date:%Y-%m-%d %H:%M} UTC).",
                    "承运商揽收/扫描时间早于下单时间。",
                    [_ref(first)],
                )
            )
    delivered = [e for e in events if e.stage == Stage.DELIVERED.value]
    departed = [e for e in events if e.stage == Stage.DEPARTED_ORIGIN.value]
    if delivered and departed and delivered[0].occurred_at < departed[0].occurred_at:
        findings.append(
            _finding(
                "timeline.delivered_before_departure",
                "error",
                "The parcel is marked delivered before it left the origin country.",
                "妥投时间早于离开始发国时间。",
                [_ref(delivered[0]), _ref(departed[0])],
            )
        )
    if departed:
        early = [
            e
            for e in events
            if e.occurred_at < departed[0].occurred_at
            and Stage(e.stage) not in _ORIGIN_SIDE
            and e.stage not in (Stage.UNKNOWN.value, Stage.EXCEPTION.value)
        ]
        if early:
            findings.append(
                _finding(
                    "timeline.out_of_order",
                    "info",
                    f"{len(early)} event(s) stamped before departure belong to a later stage "
                    f"(first: {early[0].stage} {early[0].code!r}); the carrier's clock or "
                    "sequence is off, so arrival is not inferred from them.",
                    "部分事件时间早于离境时间，顺序异常，未据此推断到达。",
                    [_ref(e) for e in early[:5]],
                )
            )
    unknown = [e for e in events if e.stage == Stage.UNKNOWN.value]
    if unknown:
        codes = sorted({e.code or e.description[:30] for e in unknown})
        findings.append(
            _finding(
                "events.unrecognized",
                "info",
                f"{len(unknown)} carrier event(s) could not be classified: {', '.join(codes[:5])}.",
                f"{len(unknown)} 条承运商事件无法识别。",
                [_ref(e) for e in unknown[:5]],
            )
        )
    return findings


def _carrier_findings(order: OrderFacts) -> list[FindingView]:
    if order.carrier_source == "declared_mismatch":
        return [
            _finding(
                "carrier.number_mismatch",
                "warning",
                f"The orders file names {order.carrier_declared!r}, but the tracking number does "
                "not look like one of its numbers; check the carrier before citing this order.",
                f"订单文件中的物流商“{order.carrier_declared}”与运单号格式不符，请核实承运商。",
            )
        ]
    if order.carrier_source == "channel_mismatch":
        return [
            _finding(
                "carrier.channel_mismatch",
                "warning",
                f"The orders file names the channel {order.carrier_declared!r}, but the number "
                f"is tracked by {order.carrier}; a reviewer may see a channel that does not "
                "match the carrier.",
                f"订单文件中的物流渠道“{order.carrier_declared}”与实际承运商（{order.carrier}）"
                "不一致，审核可能认定为渠道不符。",
            )
        ]
    return []


def _shipment_findings(
    order: OrderFacts,
    shipments: Sequence[ShipmentFacts],
    events: Sequence[EventView],
    as_of: datetime,
) -> tuple[list[FindingView], bool]:
    """Findings about the shipment itself, and whether one of them is terminal."""
    findings: list[FindingView] = []
    terminal = False
    if not shipments:
        findings.append(
            _finding(
                "shipment.no_carrier",
                "error",
                "No carrier could be determined for this tracking number; declare the carrier "
                "in the orders file.",
                "无法识别该运单号的承运商，请在订单文件中填写物流商。",
            )
        )
        return findings, True
    origin = shipments[0]
    if origin.state == "not_found":
        young = as_of - order.order_date < _NOT_FOUND_GRACE
        findings.append(
            _finding(
                "shipment.not_found",
                "warning" if young else "error",
                f"{origin.carrier} does not know tracking number {origin.tracking_number}"
                + (" yet." if young else "; a reviewer will treat it as fake tracking."),
                f"承运商查询不到运单号 {origin.tracking_number}。",
            )
        )
        terminal = not young
    elif origin.state == "error":
        findings.append(
            _finding(
                "shipment.fetch_failed",
                "warning",
                f"Fetching from {origin.carrier} failed ({origin.error_kind}): "
                f"{origin.error_message or 'no detail'}. The next refresh retries.",
                f"从承运商获取轨迹失败（{origin.error_kind}），将在下次刷新时重试。",
            )
        )
    for leg in shipments:
        if (
            leg.destination_country
            and order.destination_country
            and leg.destination_country != order.destination_country
        ):
            findings.append(
                _finding(
                    "destination.mismatch",
                    "error",
                    f"The carrier ships {leg.tracking_number} to {leg.destination_country}, "
                    f"but the order is for {order.destination_country}.",
                    f"运单目的国（{leg.destination_country}）与订单目的国"
                    f"（{order.destination_country}）不一致。",
                )
            )
            terminal = True
    delivered = next((e for e in events if e.stage == Stage.DELIVERED.value), None)
    if delivered and delivered.country and delivered.country != order.destination_country:
        findings.append(
            _finding(
                "destination.delivered_elsewhere",
                "error",
                f"Delivered in {delivered.country}, but the order is for "
                f"{order.destination_country}.",
                "妥投国家与订单目的国不一致。",
                [_ref(delivered)],
            )
        )
        terminal = True
    returns = [e for e in events if Stage(e.stage) in _RETURN_STAGES]
    if returns:
        last = returns[-1]
        findings.append(
            _finding(
                "shipment.returned",
                "error",
                (
                    "The parcel was returned to the sender."
                    if last.stage == "returned"
                    else "The parcel is returning to the sender."
                )
                + " It cannot prove delivery.",
                "包裹已退回/正在退回发件人，无法证明妥投。",
                [_ref(last)],
            )
        )
        terminal = True
    exceptions = [e for e in events if e.stage == Stage.EXCEPTION.value]
    if exceptions and (delivered is None or exceptions[-1].occurred_at > delivered.occurred_at):
        last = exceptions[-1]
        findings.append(
            _finding(
                "shipment.exception",
                "error",
                f"The carrier reports a problem: {last.description!r} "
                f"({last.occurred_at:%Y-%m-%d}).",
                f"承运商报告异常：{last.description}",
                [_ref(last)],
            )
        )
        terminal = True
    if events and not any(s.final for s in shipments):
        last_event = events[-1]
        if as_of - last_event.occurred_at > _STALE_AFTER:
            days = (as_of - last_event.occurred_at).days
            findings.append(
                _finding(
                    "shipment.stale",
                    "warning",
                    f"No carrier update for {days} days (last: {last_event.stage}).",
                    f"承运商已 {days} 天没有更新。",
                    [_ref(last_event)],
                )
            )
    return findings, terminal


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
    """
    milestones, findings = _milestones(order, events, policy)
    timeline = _timeline_findings(order, events)
    shipment_findings, terminal = _shipment_findings(order, shipments, events, as_of)
    findings = shipment_findings + _carrier_findings(order) + findings + timeline
    missing = [m.stage for m in milestones if m.status == "missing"]
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
        names = ", ".join(_STAGE_EN[m] for m in missing)
        names_zh = "、".join(_STAGE_ZH[m] for m in missing)
        severity = "info" if status == "pending" else "error"
        findings.append(
            _finding(
                "milestone.missing",
                severity,
                ("Not yet proven" if status == "pending" else "Missing milestone(s)")
                + f": {names}.",
                f"缺少物流节点：{names_zh}。",
            )
        )
    # Most serious first; among errors the specific cause before the generic "missing".
    rank = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: (rank[f.severity], f.code == "milestone.missing"))
    return Verdict(
        status=status,
        policy=policy.name,
        milestones=tuple(milestones),
        findings=tuple(findings),
    )

"""Milestones and verdicts: pure functions from an order's facts and events to findings.

`evaluate` computes every finding of design §14 for one order: what the carrier says about the
shipment, the timeline, the destination, the declared carrier, the tracking number (including
its use by other orders, which the caller looks up and passes in `OrderFacts.shared_with`),
and the marketplace policy's own rules (`tracking.judge.policies`). Codes and usual severities are
listed in `tracking.judge.findings.CATALOGUE`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tracking.core.countries import country_name
from tracking.core.domain import MILESTONES, Stage
from tracking.core.numbers import s10_check_digit
from tracking.judge.findings import SEVERITY_RANK, finding
from tracking.judge.policies import POLICIES, Policy, Requirement
from tracking.judge.scheduling import given_up
from tracking.read.views import EventView, FindingView, MilestoneView, Severity, VerdictStatus

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
        Stage.INFO_RECEIVED.value,
        Stage.PICKED_UP.value,
        Stage.ORIGIN_FACILITY.value,
        Stage.EXPORT_CUSTOMS.value,
        Stage.DEPARTED_ORIGIN.value,
    }
)
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
_RETURN_STAGES = frozenset({Stage.RETURNING.value, Stage.RETURNED.value})
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
_ALL_MILESTONES: tuple[str, ...] = tuple(s.value for s in MILESTONES)
# A carrier's clock and a marketplace export's clock can disagree by a time zone.
_ORDER_DATE_TOLERANCE = timedelta(hours=24)
# Scans of one delivery round can be stamped minutes apart.
_AFTER_DELIVERY_TOLERANCE = timedelta(minutes=30)
_MAX_ORDER_POINTERS = 20
_S10 = re.compile(r"([A-Z]{2})(\d{8})(\d)([A-Z]{2})")


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
    tenant: str = ""
    tracking_number: str = ""
    destination_postal_code: str = ""
    destination_city: str = ""
    shared_with: tuple[str, ...] = ()
    """Other orders (`tenant/order id`) citing the same tracking number, across all stores."""
    merged_with: tuple[str, ...] = ()
    """Orders of the same store the export puts in this very parcel (merge flag, package id)."""


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


def _finding(
    code: str,
    severity: Severity,
    message: str,
    message_zh: str,
    evidence: Sequence[str] = (),
) -> FindingView:
    return finding(code, message, message_zh, evidence, severity=severity)


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
    carrier_events = [e for e in events if e.stage != Stage.INFO_RECEIVED]
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
    delivered = [e for e in events if e.stage == Stage.DELIVERED]
    departed = [e for e in events if e.stage == Stage.DEPARTED_ORIGIN]
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
            and e.stage not in _ORIGIN_SIDE
            and e.stage not in (Stage.UNKNOWN, Stage.EXCEPTION)
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
    unknown = [e for e in events if e.stage == Stage.UNKNOWN]
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


def _carrier_findings(order: OrderFacts, policy: Policy) -> list[FindingView]:
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
        strict = policy.channel_mismatch_severity == "error"
        return [
            _finding(
                "carrier.channel_mismatch",
                policy.channel_mismatch_severity,
                f"The orders file names the channel {order.carrier_declared!r}, but the number "
                f"is tracked by {order.carrier}; a reviewer may see a channel that does not "
                "match the carrier."
                + (f" The {policy.name} policy treats this as fake logistics." if strict else ""),
                f"订单文件中的物流渠道“{order.carrier_declared}”与实际承运商（{order.carrier}）"
                "不一致，审核可能认定为渠道不符。"
                + (f"{policy.name} 规则视之为虚假物流。" if strict else ""),
            )
        ]
    return []


def _shipment_findings(
    order: OrderFacts,
    shipments: Sequence[ShipmentFacts],
    events: Sequence[EventView],
    as_of: datetime,
    policy: Policy,
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
    found_elsewhere = next(
        (
            s
            for s in shipments
            if s.role == "probe"
            and s.state in ("tracking", "final")
            and origin.state == "not_found"
        ),
        None,
    )
    if found_elsewhere is not None:
        findings.append(
            _finding(
                "carrier.actual_differs",
                "error",
                f"{origin.carrier} has no record of {origin.tracking_number}, but "
                f"{found_elsewhere.carrier} does: the orders file names the wrong carrier. "
                f"Correct it and cite {found_elsewhere.carrier}'s tracking; a reviewer who "
                f"checks {origin.carrier} finds nothing.",
                f"{origin.carrier} 查无运单号 {origin.tracking_number}，但 "
                f"{found_elsewhere.carrier} 有该单号的轨迹：订单文件中的物流商有误，请更正后"
                f"引用 {found_elsewhere.carrier} 的轨迹。",
            )
        )
        terminal = True
    if origin.state == "not_found":
        young = as_of - order.order_date < timedelta(days=policy.not_found_grace_days)
        findings.append(
            _finding(
                "shipment.not_found",
                "warning" if young else "error",
                f"{origin.carrier} does not know tracking number {origin.tracking_number}"
                + (" yet." if young else "; a reviewer will treat it as fake tracking."),
                f"承运商查询不到运单号 {origin.tracking_number}。",
            )
        )
        abandoned = _given_up_findings(origin)
        findings.extend(abandoned)
        terminal = not young or bool(abandoned)
    elif origin.state == "error":
        abandoned = _given_up_findings(origin)
        if abandoned:
            findings.extend(abandoned)
            terminal = True
        elif origin.error_kind == "blocked":
            # The message already says who refuses and when requests resume.
            findings.append(
                _finding(
                    "shipment.fetch_failed",
                    "warning",
                    (origin.error_message or f"{origin.carrier} is refusing requests").split(
                        " (the answer was ", 1
                    )[0]
                    + ". The raw answer is kept as evidence.",
                    "承运商拒绝自动查询，将在退避结束后重试。",
                )
            )
        else:
            findings.append(
                _finding(
                    "shipment.fetch_failed",
                    "warning",
                    f"Fetching from {origin.carrier} failed ({origin.error_kind}): "
                    f"{origin.error_message or 'no detail'}. The next refresh retries.",
                    f"从承运商获取轨迹失败（{origin.error_kind}），将在下次刷新时重试。",
                )
            )
    elif origin.state == "tracking":
        findings.extend(_given_up_findings(origin))  # tracking once, then refused for 30 days
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
    delivered = next((e for e in events if e.stage == Stage.DELIVERED), None)
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
    returns = [e for e in events if e.stage in _RETURN_STAGES]
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
    exceptions = [e for e in events if e.stage == Stage.EXCEPTION]
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
        if as_of - last_event.occurred_at > timedelta(days=policy.stale_after_days):
            # Dated, not counted: the message (and the verdict's digest) stays the same from
            # one day to the next while nothing changes at the carrier.
            since = f"{last_event.occurred_at:%Y-%m-%d}"
            findings.append(
                _finding(
                    "shipment.stale",
                    "warning",
                    f"No carrier update for more than {policy.stale_after_days} days: the last "
                    f"event ({last_event.stage}) is from {since}.",
                    f"承运商自 {since} 起已超过 {policy.stale_after_days} 天没有更新。",
                    [_ref(last_event)],
                )
            )
    return findings, terminal


def _given_up_findings(origin: ShipmentFacts) -> list[FindingView]:
    """A number the carrier has not answered with tracking for `GIVE_UP_AFTER`: not polled.

    One rule for every failure (`scheduling.given_up`); the finding says what the carrier
    answered. Dated, not counted against `as_of`: the message stays the same while nothing
    changes.
    """
    since, last = origin.not_found_since, origin.last_fetched_at
    if since is None or last is None:
        return []
    if not given_up(not_found_since=since, last_fetched_at=last):
        return []
    days = (last - since).days
    if origin.state == "not_found":
        return [
            _finding(
                "shipment.given_up",
                "error",
                f"{origin.carrier} still did not know tracking number {origin.tracking_number} "
                f"{days} days after it was first not found ({since:%Y-%m-%d}), so it was given "
                f"up: polling stopped on {last:%Y-%m-%d}. Correct the number, or cite other "
                "tracking for this order.",
                f"承运商自 {since:%Y-%m-%d} 起 {days} 天仍查询不到运单号 {origin.tracking_number}，"
                f"已于 {last:%Y-%m-%d} 停止查询。请更正单号，或为该订单提供其他物流轨迹。",
            )
        ]
    answered = origin.error_message or "no detail"
    return [
        _finding(
            "shipment.given_up",
            "error",
            f"{origin.carrier} kept refusing tracking number {origin.tracking_number} for "
            f"{days} days since {since:%Y-%m-%d} ({origin.error_kind}), so it was given up: "
            f"polling stopped on {last:%Y-%m-%d}. The carrier last answered: {answered}. "
            "Fix the cause (credentials, quota, number), then refresh this order.",
            f"承运商自 {since:%Y-%m-%d} 起 {days} 天一直拒绝查询运单号 {origin.tracking_number}"
            f"（{origin.error_kind}），已于 {last:%Y-%m-%d} 停止查询。",
        )
    ]


def _number_findings(order: OrderFacts, events: Sequence[EventView]) -> list[FindingView]:
    """The tracking number itself: a UPU S10 number whose check digit is wrong."""
    match = _S10.fullmatch(order.tracking_number)
    if match is None:
        return []
    _prefix, serial, digit, _country = match.groups()
    expected = s10_check_digit(serial)
    if int(digit) == expected:
        return []
    known = " The carrier does track it, so it may be the carrier's own quirk." if events else ""
    return [
        _finding(
            "number.check_digit",
            "warning",
            f"{order.tracking_number} looks like a UPU S10 postal number but its check digit is "
            f"{digit}, not {expected}: reviewers check this digit, and a wrong one suggests a "
            f"mistyped or invented number.{known}",
            f"运单号 {order.tracking_number} 的 UPU S10 校验位为 {digit}，应为 {expected}；"
            "审核可能认定为录入错误或伪造的单号。",
        )
    ]


def _cross_order_findings(order: OrderFacts) -> list[FindingView]:
    """The same tracking number cited by other orders, in this store or another.

    The message names the orders of this store; orders of other stores are only counted
    there (the evidence pointers name them, for the caller to show or redact).
    """
    merged = _merged_findings(order)
    others = order.shared_with
    if not others:
        return merged
    own = [ref.partition("/")[2] for ref in others if ref.partition("/")[0] == order.tenant]
    foreign = len(others) - len(own)
    parts: list[str] = []
    parts_zh: list[str] = []
    if own:
        shown = ", ".join(own[:5]) + (f" and {len(own) - 5} more" if len(own) > 5 else "")
        parts.append(f"{shown} in this store")
        parts_zh.append(f"本店铺的 {shown}")
    if foreign:
        parts.append(
            f"{foreign} in another store" if foreign == 1 else f"{foreign} in other stores"
        )
        parts_zh.append(f"其他店铺的 {foreign} 个订单")
    return [
        _finding(
            "number.shared",
            "error",
            f"Tracking number {order.tracking_number} is also used by {len(others)} other "
            f"order(s): {' and '.join(parts)}. A reviewer treats one parcel cited for several "
            "orders as fake tracking; unless the orders really travelled together in one "
            "parcel (say so in the appeal), do not cite them.",
            f"运单号 {order.tracking_number} 同时被另外 {len(others)} 个订单使用："
            f"{'、'.join(parts_zh)}。审核会将一个包裹对应多个订单视为虚假物流；除非这些订单"
            "确实合并发货（请在申诉中说明），否则不要引用。",
            [f"order:{ref}" for ref in others[:_MAX_ORDER_POINTERS]],
        ),
        *merged,
    ]


def _merged_findings(order: OrderFacts) -> list[FindingView]:
    """One parcel for several orders of this store, as the export itself says (an ERP's merge
    flag, or the same package id): a warning, not the `number.shared` error."""
    merged = order.merged_with
    if not merged:
        return []
    ids = [ref.partition("/")[2] for ref in merged]
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return [
        _finding(
            "number.merged",
            "warning",
            f"Tracking number {order.tracking_number} is one parcel for this order and"
            f" {len(ids)} other order(s) of this store ({shown}), merged in one parcel as the"
            " export records. Cite it with every order it carries and say in the appeal that"
            " they were shipped together.",
            f"运单号 {order.tracking_number} 是本订单与本店铺另外 {len(ids)} 个订单（{shown}）"
            "合并发出的同一个包裹（导出文件记录为合并）。申诉时请一并列出这些订单并说明合并发货。",
            [f"order:{ref}" for ref in merged[:_MAX_ORDER_POINTERS]],
        )
    ]


def _first(milestones: Sequence[MilestoneView], stage: Stage) -> EventView | None:
    """The event proving `stage` explicitly, if any."""
    for view in milestones:
        if view.stage == stage.value and view.status == "explicit":
            return view.event
    return None


def _delivery_findings(
    order: OrderFacts, milestones: Sequence[MilestoneView], events: Sequence[EventView]
) -> list[FindingView]:
    """Delivery dated before the order, and carrier events after the delivery."""
    findings: list[FindingView] = []
    delivered = _first(milestones, Stage.DELIVERED)
    if delivered is None:
        return findings
    if delivered.occurred_at < order.order_date - _ORDER_DATE_TOLERANCE:
        findings.append(
            _finding(
                "timeline.delivered_before_order",
                "error",
                f"The carrier marks the parcel delivered on {delivered.occurred_at:%Y-%m-%d %H:%M}"
                f" UTC, before the order was placed ({order.order_date:%Y-%m-%d %H:%M} UTC): "
                "this parcel cannot be the one that fulfilled the order.",
                "妥投时间早于下单时间，该包裹不可能是本订单的包裹。",
                [_ref(delivered)],
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
            _finding(
                "timeline.events_after_delivery",
                "warning",
                f"{len(later)} carrier event(s) come after the delivery of "
                f"{delivered.occurred_at:%Y-%m-%d %H:%M} UTC ({stages}; first: "
                f"{later[0].occurred_at:%Y-%m-%d %H:%M} UTC): a delivered parcel should not move "
                "again, so a reviewer may doubt the delivery.",
                f"妥投之后仍有 {len(later)} 条物流事件（{stages}），审核可能质疑妥投的真实性。",
                [_ref(delivered), *(_ref(e) for e in later[:5])],
            )
        )
    return findings


def _transit_findings(
    order: OrderFacts, milestones: Sequence[MilestoneView], policy: Policy
) -> list[FindingView]:
    """Departed→delivered days outside the plausible range for the destination."""
    departed = _first(milestones, Stage.DEPARTED_ORIGIN)
    delivered = _first(milestones, Stage.DELIVERED)
    if departed is None or delivered is None or delivered.occurred_at < departed.occurred_at:
        return []  # a delivery before departure is its own finding
    days = (delivered.occurred_at - departed.occurred_at).total_seconds() / 86400
    low, high = policy.transit_bounds(order.destination_country)
    place = country_name(order.destination_country) or order.destination_country
    evidence = [_ref(departed), _ref(delivered)]
    if days < low:
        return [
            _finding(
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
            _finding(
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


@functools.lru_cache(maxsize=8192)  # city and place names repeat across orders
def _fold(text: str) -> str:
    """Lower case, accents removed, punctuation as spaces, single-spaced."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch)
    )
    return " ".join(kept.casefold().split())


def _scripts(text: str) -> set[str]:
    """The scripts of the letters in `text` (LATIN, CYRILLIC, CJK, ...)."""
    found: set[str] = set()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            found.add(name.split(" ", 1)[0] if name else "?")
    return found


def _shape(token: str) -> str:
    return "".join("9" if ch.isdigit() else "A" for ch in token)


# Words that name a kind of place rather than a place (a post office, a sorting centre).
_GENERIC_PLACE_WORDS = frozenset(
    (
        *("post", "office", "branch", "centre", "center", "sorting", "hub", "delivery"),
        *("depot", "facility", "station", "point", "pickup", "locker", "warehouse"),
        *("terminal", "service", "unit", "distribution", "city", "area", "zone"),
        *("parcel", "mail", "postal", "st", "saint", "the", "and", "for"),
        *("отделение", "почтовой", "связи", "почтовое", "опс", "сортировочный"),
        *("центр", "пункт", "выдачи"),
    )
)

# Short names carriers print for a country that its ISO name does not contain.
_COUNTRY_WORDS: dict[str, tuple[str, ...]] = {
    "RU": ("russia", "россия", "рф"),
    "US": ("usa", "america"),
    "GB": ("uk", "britain", "england"),
    "KR": ("korea",),
}


def _place_findings(order: OrderFacts, milestones: Sequence[MilestoneView]) -> list[FindingView]:
    """Postal code and city of the delivery scan against the order's, when both are known.

    Only a clear contradiction is reported: the location carries a postal code of the same
    shape as the order's but a different one, or it names (in the same script as the order's
    city) a short place that is not the order's city. Nothing is transliterated or guessed.
    """
    delivered = _first(milestones, Stage.DELIVERED)
    if delivered is None or not delivered.location.strip():
        return []
    findings: list[FindingView] = []
    location = delivered.location.strip()
    folded = _fold(location)
    tokens = folded.upper().split()
    postal = order.destination_postal_code.strip().upper()
    if postal:
        wanted = "".join(ch for ch in postal if ch.isalnum())
        primary = "".join(ch for ch in re.split(r"[\s-]", postal)[0] if ch.isalnum())
        joined = "".join(tokens)
        candidates = [
            t for t in tokens if _shape(t) == _shape(primary) and any(ch.isdigit() for ch in t)
        ]
        if wanted and wanted not in joined and primary not in tokens and candidates:
            findings.append(
                _finding(
                    "destination.postal_mismatch",
                    "warning",
                    f"The delivery scan's location {location!r} shows postal code "
                    f"{candidates[0]}, but the order ships to {order.destination_postal_code}.",
                    f"妥投地点“{location}”的邮编为 {candidates[0]}，与订单邮编 "
                    f"{order.destination_postal_code} 不一致。",
                    [_ref(delivered)],
                )
            )
    city = _fold(order.destination_city)
    if city:
        country_words = {
            order.destination_country.casefold(),
            *_fold(country_name(order.destination_country) or "").split(),
            *_COUNTRY_WORDS.get(order.destination_country, ()),
        }
        words = [
            w
            for w in folded.split()
            if not any(ch.isdigit() for ch in w)
            and len(w) > 2
            and w not in _GENERIC_PLACE_WORDS
            and w not in country_words
        ]
        city_scripts = _scripts(city)
        city_words = [w for w in city.split() if w not in _GENERIC_PLACE_WORDS]
        present = set(folded.split())
        mentioned = bool(city_words) and all(w in present for w in city_words)
        mentioned = mentioned or city.replace(" ", "") in folded.replace(" ", "")
        if (
            not mentioned
            and words
            and len(words) <= 3
            and len(city_scripts) == 1
            and _scripts(" ".join(words)) == city_scripts
        ):
            findings.append(
                _finding(
                    "destination.city_mismatch",
                    "warning",
                    f"The delivery scan's location {location!r} does not name the order's city "
                    f"{order.destination_city!r}.",
                    f"妥投地点“{location}”与订单城市“{order.destination_city}”不一致。",
                    [_ref(delivered)],
                )
            )
    return findings


def _requirement_findings(
    order: OrderFacts,
    requirement: Requirement,
    shipments: Sequence[ShipmentFacts],
    milestones: Sequence[MilestoneView],
    events: Sequence[EventView],
    policy: Policy,
) -> list[FindingView]:
    """The policy's own findings: why this depth, and delivery shown in the destination."""
    findings = list(requirement.findings)
    delivered = _first(milestones, Stage.DELIVERED)
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
            _finding(
                "policy.delivery_country_unproven",
                "warning",
                f"The {policy.name} policy needs delivery in {dest}, but the delivered event "
                "names no country and no carrier record places the parcel in the "
                "destination country.",
                f"{policy.name} 规则要求在目的国（{dest}）妥投，但妥投事件未注明国家，"
                "也没有其他记录表明包裹到达目的国。",
                [_ref(delivered)],
            )
        )
    return findings


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
    milestones, milestone_findings = _milestones(order, events, policy)
    shipment_findings, terminal = _shipment_findings(order, shipments, events, as_of, policy)
    findings = [
        *_cross_order_findings(order),
        *shipment_findings,
        *_carrier_findings(order, policy),
        *_number_findings(order, events),
        *milestone_findings,
        *_timeline_findings(order, events),
        *_delivery_findings(order, milestones, events),
        *_transit_findings(order, milestones, policy),
        *_place_findings(order, milestones),
        *_requirement_findings(order, requirement, shipments, milestones, events, policy),
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
        names = ", ".join(_STAGE_EN[m] for m in missing)
        names_zh = "、".join(_STAGE_ZH[m] for m in missing)
        severity: Severity = "info" if status == "pending" else "error"
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
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.code == "milestone.missing"))
    return Verdict(
        status=status,
        policy=policy.name,
        milestones=tuple(milestones),
        findings=tuple(findings),
        required=required,
    )

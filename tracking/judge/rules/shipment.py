"""shipment.* and carrier.actual_differs: what the carrier says about the number, and whether
that ends the order's chances (a terminal finding: the verdict fails, it does not wait)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tracking.core.domain import Stage
from tracking.judge.facts import OrderFacts, ShipmentFacts
from tracking.judge.policies import Policy
from tracking.judge.rules.common import finding_at, ref
from tracking.judge.rules.destination import wrong_country
from tracking.judge.scheduling import given_up
from tracking.read.views import EventView, FindingView

__all__ = ["given_up_findings", "shipment_findings"]

_RETURN_STAGES = frozenset({Stage.RETURNING.value, Stage.RETURNED.value})


def shipment_findings(
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
            finding_at(
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
            finding_at(
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
            finding_at(
                "shipment.not_found",
                "warning" if young else "error",
                f"{origin.carrier} does not know tracking number {origin.tracking_number}"
                + (" yet." if young else "; a reviewer will treat it as fake tracking."),
                f"承运商查询不到运单号 {origin.tracking_number}。",
            )
        )
        abandoned = given_up_findings(origin)
        findings.extend(abandoned)
        terminal = not young or bool(abandoned)
    elif origin.state == "error":
        abandoned = given_up_findings(origin)
        if abandoned:
            findings.extend(abandoned)
            terminal = True
        elif origin.error_kind == "blocked":
            # The message already says who refuses and when requests resume.
            findings.append(
                finding_at(
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
                finding_at(
                    "shipment.fetch_failed",
                    "warning",
                    f"Fetching from {origin.carrier} failed ({origin.error_kind}): "
                    f"{origin.error_message or 'no detail'}. The next refresh retries.",
                    f"从承运商获取轨迹失败（{origin.error_kind}），将在下次刷新时重试。",
                )
            )
    elif origin.state == "tracking":
        findings.extend(given_up_findings(origin))  # tracking once, then refused for 30 days
    elsewhere, shipped_elsewhere = wrong_country(order, shipments, events)
    findings.extend(elsewhere)
    terminal = terminal or shipped_elsewhere
    delivered = next((e for e in events if e.stage == Stage.DELIVERED), None)
    returns = [e for e in events if e.stage in _RETURN_STAGES]
    if returns:
        last = returns[-1]
        findings.append(
            finding_at(
                "shipment.returned",
                "error",
                (
                    "The parcel was returned to the sender."
                    if last.stage == "returned"
                    else "The parcel is returning to the sender."
                )
                + " It cannot prove delivery.",
                "包裹已退回/正在退回发件人，无法证明妥投。",
                [ref(last)],
            )
        )
        terminal = True
    exceptions = [e for e in events if e.stage == Stage.EXCEPTION]
    if exceptions and (delivered is None or exceptions[-1].occurred_at > delivered.occurred_at):
        last = exceptions[-1]
        findings.append(
            finding_at(
                "shipment.exception",
                "error",
                f"The carrier reports a problem: {last.description!r} "
                f"({last.occurred_at:%Y-%m-%d}).",
                f"承运商报告异常：{last.description}",
                [ref(last)],
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
                finding_at(
                    "shipment.stale",
                    "warning",
                    f"No carrier update for more than {policy.stale_after_days} days: the last "
                    f"event ({last_event.stage}) is from {since}.",
                    f"承运商自 {since} 起已超过 {policy.stale_after_days} 天没有更新。",
                    [ref(last_event)],
                )
            )
    return findings, terminal


def given_up_findings(origin: ShipmentFacts) -> list[FindingView]:
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
            finding_at(
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
        finding_at(
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

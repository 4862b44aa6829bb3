"""carrier.number_mismatch and carrier.channel_mismatch: the carrier or channel the orders file
declares against the one that tracks the number."""

from __future__ import annotations

from tracking.judge.facts import OrderFacts
from tracking.judge.policies import Policy
from tracking.judge.rules.common import finding_at
from tracking.read.views import FindingView

__all__ = ["carrier_findings"]


def carrier_findings(order: OrderFacts, policy: Policy) -> list[FindingView]:
    if order.carrier_source == "declared_mismatch":
        return [
            finding_at(
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
            finding_at(
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

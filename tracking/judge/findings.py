"""The catalogue of findings (design §14): stable codes, severities and plain titles.

A finding is what a marketplace reviewer would raise against an order's evidence. Its code is
stable (reports group by it, appeal builders key on it); its message says what is wrong in
plain English and Chinese; its evidence points at what shows it (`exchange:<sha256>` for a
raw carrier response, `order:<tenant>/<order id>` for another order).

This module is pure: the validator builds findings with `finding`, the report groups them by
`CATALOGUE` entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracking.read.views import FindingView, Severity

__all__ = [
    "CATALOGUE",
    "SEVERITY_RANK",
    "FindingSpec",
    "finding",
    "redact_other_stores",
    "spec",
]

SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
"""Most serious first."""


@dataclass(frozen=True, slots=True)
class FindingSpec:
    """One finding code: its usual severity and a short bilingual title for reports.

    **Parameters:**

    * **code** - the stable code, `<area>.<what>`.
    * **severity** - the usual severity; a policy or the order's age may change it, and the
      severity of each finding instance is what counts.
    * **title** / **title_zh** - a short name for the problem, English and Chinese.
    """

    code: str
    severity: Severity
    title: str
    title_zh: str


def _specs(*items: tuple[str, Severity, str, str]) -> dict[str, FindingSpec]:
    return {code: FindingSpec(code, severity, en, zh) for code, severity, en, zh in items}


CATALOGUE: dict[str, FindingSpec] = _specs(
    # milestones
    ("milestone.missing", "error", "Required milestone not proven", "缺少必需的物流节点"),
    ("milestone.inferred", "warning", "Arrival only inferred", "到达目的国节点系推断"),
    ("milestone.time_unknown", "warning", "Milestone time zone unknown", "物流节点时区未知"),
    # the shipment at the carrier
    ("shipment.no_carrier", "error", "No carrier for the number", "无法识别承运商"),
    ("shipment.not_found", "error", "Number unknown to the carrier", "承运商查无此单号"),
    (
        "shipment.given_up",
        "error",
        "Number given up: never found, polling stopped",
        "长期查无此单号，已停止查询",
    ),
    ("shipment.fetch_failed", "warning", "Carrier could not be queried", "承运商查询失败"),
    ("shipment.returned", "error", "Returned to the sender", "包裹退回"),
    ("shipment.exception", "error", "Lost, held or destroyed", "包裹丢失/扣留/销毁"),
    ("shipment.stale", "warning", "No carrier update for a long time", "长时间无物流更新"),
    # the number itself, and other orders
    ("number.shared", "error", "Tracking number used by several orders", "运单号被多个订单使用"),
    (
        "number.merged",
        "warning",
        "One parcel for several orders of the store (merged)",
        "同一店铺多个订单合并为一个包裹",
    ),
    ("order.split", "info", "Order shipped in several parcels", "订单分多个包裹发出"),
    ("number.check_digit", "warning", "Invalid UPU S10 check digit", "UPU S10 校验位错误"),
    (
        "carrier.number_mismatch",
        "warning",
        "Number not of the declared carrier",
        "运单号与物流商不符",
    ),
    (
        "carrier.channel_mismatch",
        "warning",
        "Declared channel differs from carrier",
        "物流渠道与承运商不符",
    ),
    (
        "carrier.actual_differs",
        "error",
        "Another carrier has the number",
        "实际承运商与申报不符",
    ),
    # where the parcel went
    ("destination.mismatch", "error", "Shipped to another country", "运单目的国与订单不符"),
    (
        "destination.delivered_elsewhere",
        "error",
        "Delivered in another country",
        "妥投国家与订单不符",
    ),
    (
        "destination.postal_mismatch",
        "warning",
        "Delivered at another postal code",
        "妥投邮编与订单不符",
    ),
    ("destination.city_mismatch", "warning", "Delivered in another city", "妥投城市与订单不符"),
    # when things happened
    ("timeline.before_order", "error", "Carrier scan before the order", "揽收早于下单"),
    ("timeline.delivered_before_order", "error", "Delivered before the order", "妥投早于下单"),
    ("timeline.delivered_before_departure", "error", "Delivered before departure", "妥投早于离境"),
    (
        "timeline.events_after_delivery",
        "warning",
        "Carrier events after delivery",
        "妥投后仍有物流事件",
    ),
    ("timeline.out_of_order", "info", "Events out of order", "物流事件顺序异常"),
    ("transit.too_fast", "warning", "Transit implausibly fast", "运输时间过短"),
    ("transit.too_slow", "warning", "Transit implausibly slow", "运输时间过长"),
    ("events.unrecognized", "info", "Carrier events not understood", "无法识别的物流事件"),
    # marketplace policies
    (
        "policy.origin_tracking_only",
        "info",
        "Origin tracking suffices (low value)",
        "低货值订单仅需始发国轨迹",
    ),
    ("policy.value_unknown", "info", "Order value unknown", "订单金额未知"),
    ("policy.currency_unknown", "warning", "No exchange rate for the currency", "缺少该币种汇率"),
    (
        "policy.delivery_country_unproven",
        "warning",
        "Delivery country not stated",
        "未能证明在目的国妥投",
    ),
)
"""Every finding code the validator emits."""


def spec(code: str) -> FindingSpec:
    """The catalogue entry of `code` (a generic entry for a code not in the catalogue)."""
    found = CATALOGUE.get(code)
    if found is not None:
        return found
    return FindingSpec(code, "warning", code, code)


def finding(
    code: str,
    message: str,
    message_zh: str,
    evidence: Sequence[str] = (),
    *,
    severity: Severity | None = None,
) -> FindingView:
    """A finding of a catalogued `code`, at its usual severity unless `severity` is given.

    Evidence pointers are de-duplicated, first occurrence first.
    """
    if code not in CATALOGUE:
        raise ValueError(f"finding code {code!r} is not in the catalogue")
    chosen = severity or CATALOGUE[code].severity
    if chosen not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {chosen!r}")
    return FindingView(
        code=code,
        severity=chosen,
        message=message,
        message_zh=message_zh,
        evidence=tuple(dict.fromkeys(evidence)),
    )


def redact_other_stores(evidence: Sequence[str], *, tenant: str) -> tuple[str, ...]:
    """`evidence` with pointers to orders of stores other than `tenant` anonymized.

    For views scoped to one store (the HTTP API): `order:<other>/<id>` becomes
    `order:(another store)`, so a store learns that its number is reused elsewhere but not
    by whom. Other pointers are kept as they are.
    """
    prefix = f"order:{tenant}/"
    return tuple(
        "order:(another store)" if p.startswith("order:") and not p.startswith(prefix) else p
        for p in evidence
    )

"""number.*: the tracking number itself (the UPU S10 check digit) and its use by other orders
(shared across orders, or merged in one parcel as the export records)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tracking.core.numbers import s10_check_digit
from tracking.judge.facts import OrderFacts
from tracking.judge.rules.common import finding_at
from tracking.read.views import EventView, FindingView

__all__ = ["cross_order_findings", "merged_findings", "number_findings"]

_MAX_ORDER_POINTERS = 20
_S10 = re.compile(r"([A-Z]{2})(\d{8})(\d)([A-Z]{2})")


def number_findings(order: OrderFacts, events: Sequence[EventView]) -> list[FindingView]:
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
        finding_at(
            "number.check_digit",
            "warning",
            f"{order.tracking_number} looks like a UPU S10 postal number but its check digit is "
            f"{digit}, not {expected}: reviewers check this digit, and a wrong one suggests a "
            f"mistyped or invented number.{known}",
            f"运单号 {order.tracking_number} 的 UPU S10 校验位为 {digit}，应为 {expected}；"
            "审核可能认定为录入错误或伪造的单号。",
        )
    ]


def cross_order_findings(order: OrderFacts) -> list[FindingView]:
    """The same tracking number cited by other orders, in this store or another.

    The message names the orders of this store; orders of other stores are only counted
    there (the evidence pointers name them, for the caller to show or redact).
    """
    merged = merged_findings(order)
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
        finding_at(
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


def merged_findings(order: OrderFacts) -> list[FindingView]:
    """One parcel for several orders of this store, as the export itself says (an ERP's merge
    flag, or the same package id): a warning, not the `number.shared` error."""
    merged = order.merged_with
    if not merged:
        return []
    ids = [ref.partition("/")[2] for ref in merged]
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    return [
        finding_at(
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

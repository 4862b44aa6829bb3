"""Renders simulated shipments as Yanwen's `api/tracking` answers (pure, no I/O).

Checkpoints go out oldest first. The one real checkpoint list known has a single entry, so
the real order is not confirmed; the legacy API listed items oldest first [unverified]. The
parser keeps whatever order it gets, so nothing depends on it. Origin-side messages are in
Chinese and destination-side ones in English, as Yanwen mixes them (carrier-apis §2
finding 6); `time_zone` is each event's own local offset.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, assert_never

from carriers.base import SandboxErrorKind, SandboxReply, SandboxRequest
from carriers.kit.sandboxes import event_code, json_body, listed_numbers, variant_of
from carriers.yanwen.client import TRACKING_PATH
from carriers.yanwen.parse import NOT_FOUND_STATUS
from tracking.core.domain import Stage

if TYPE_CHECKING:
    from carriers.kit.simulated import AskedShipments, SimEvent, SimShipment

__all__ = ["MAX_NUMBERS", "SANDBOX", "SANDBOX_CUSTOMER_NUMBER", "YanwenSandbox"]

MAX_NUMBERS = 20
"""Most numbers the sandbox accepts in one `nums` (the adapter's batch size)."""

SANDBOX_CUSTOMER_NUMBER = "SANDBOX-YW-100"
"""The customer number the sandbox accepts in the `Authorization` header."""

# Stage -> checkpoint codes the sandbox emits (chosen by `SimEvent.variant`). Every code maps
# back to its stage in `parse.STAGE_MAP`.
_CODES: dict[Stage, tuple[str, ...]] = {
    Stage.INFO_RECEIVED: ("OR10",),
    Stage.PICKED_UP: ("PU10",),
    Stage.ORIGIN_FACILITY: ("SC10", "SC20", "SC45", "LH10"),
    Stage.EXPORT_CUSTOMS: ("EC10", "EC20"),
    Stage.DEPARTED_ORIGIN: ("LH20",),
    Stage.IN_TRANSIT: ("LH21", "LH22", "LH30", "LH33", "LH40"),
    Stage.ARRIVED_DESTINATION: ("LH50",),
    Stage.IMPORT_CUSTOMS: ("IC50", "IC60", "LM32"),
    Stage.DESTINATION_FACILITY: ("LM10", "LM12", "LM15", "LM20"),
    Stage.OUT_FOR_DELIVERY: ("LM25",),
    Stage.AVAILABLE_FOR_PICKUP: ("LM30",),
    Stage.DELIVERY_FAILED: ("LM50", "LM51", "LM52", "LM53"),
    Stage.DELIVERED: ("LM40",),
    Stage.RETURNING: ("LM90", "LM91"),
    Stage.RETURNED: ("SC30", "SC35"),
}
_EXCEPTION_CODES: dict[str, str] = {"lost": "LM85", "customs_held": "IC70"}

# Invented wording; `{city}` is filled in. Chinese for Yanwen's origin-side codes, English
# for the linehaul abroad and the destination.
_TEXTS: dict[str, tuple[str, ...]] = {
    "OR10": ("商家已提交订单信息，等待燕文收货", "电子运单已生成"),
    "PU10": ("燕文已揽收", "包裹已由燕文上门揽收", "燕文{city}仓已收货"),
    "SC10": ("已到达燕文{city}分拣中心",),
    "SC20": ("已离开燕文{city}分拣中心", "燕文{city}分拣中心已发出"),
    "SC45": ("包裹已在{city}完成分拣装袋",),
    "LH10": ("已交航空公司，等待航班", "航空公司已接收包裹"),
    "EC10": ("出口报关中",),
    "EC20": ("出口海关已放行", "出口清关完成"),
    "LH20": ("航班已从始发港起飞", "已从{city}起飞，飞往目的国"),
    "LH21": ("In transit to {city}",),
    "LH22": ("Departed {city} transit airport",),
    "LH30": ("Arrived at transit airport {city}",),
    "LH33": ("Arrived at international hub {city}",),
    "LH40": ("Left international hub {city}",),
    "LH50": ("Destination country - arrival, {city}", "Arrived in destination country"),
    "IC50": ("Import customs clearance in process", "Presented to import customs"),
    "IC60": ("Released by import customs",),
    "LM32": ("Awaiting payment of import duty",),
    "LM10": ("Received by destination carrier, {city}",),
    "LM12": ("Arrived at sorting centre, {city}",),
    "LM15": ("Departed sorting centre, {city}",),
    "LM20": ("Destination scan, {city}", "Processed at delivery office, {city}"),
    "LM25": ("Out for delivery, {city}", "With courier for delivery"),
    "LM30": ("Available for pickup at service point, {city}",),
    "LM50": ("Delivery attempt failed: recipient not at home",),
    "LM51": ("Delivery attempt failed: address incomplete",),
    "LM52": ("Delivery attempt failed: premises closed",),
    "LM53": ("Delivery attempt failed: no access to building",),
    "LM40": ("Delivered with POD, {city}", "Delivered, signed by recipient"),
    "LM90": ("Return to sender initiated",),
    "LM91": ("Return shipment in transit to origin",),
    "SC30": ("退件已退还商家",),
    "SC35": ("退件已到达燕文并退还发件人",),
    "LM85": ("Parcel reported lost in transit",),
    "IC70": ("Import customs clearance failed, parcel detained",),
}

_ORIGIN_SIDE: frozenset[str] = frozenset(
    {"OR10", "PU10", "SC10", "SC20", "SC45", "LH10", "EC10", "EC20", "LH20", "SC30", "SC35"}
)
# Origin cities as Yanwen's Chinese texts name them.
_CHINESE_CITIES: dict[str, str] = {
    "Shenzhen": "深圳",
    "Guangzhou": "广州",
    "Yiwu": "义乌",
    "Dongguan": "东莞",
    "Hangzhou": "杭州",
}


class YanwenSandbox:
    """Yanwen's `api/tracking` in the sandbox: the customer number as `Authorization`."""

    def __init__(self) -> None:
        self.routes: tuple[tuple[str, str], ...] = (("GET", TRACKING_PATH),)
        self.credentials: Mapping[str, str] = {"customer_number": SANDBOX_CUSTOMER_NUMBER}

    def authorized(self, request: SandboxRequest) -> bool:
        """Whether the raw `Authorization` header is the sandbox customer number."""
        given = request.headers.get("authorization", "").strip()
        return hmac.compare_digest(given.encode(), SANDBOX_CUSTOMER_NUMBER.encode())

    def numbers(self, request: SandboxRequest) -> list[str]:
        """The numbers of the `nums` query (comma-separated); `ValueError` if none."""
        return listed_numbers(request, "nums", most=MAX_NUMBERS)

    def render(
        self, request: SandboxRequest, shipments: AskedShipments, *, now: datetime
    ) -> SandboxReply:
        """The `{"code": 0, "result": [...]}` envelope, one item per number, in order."""
        result = [
            _item(number, shipment) if shipment is not None else _unknown(number)
            for number, shipment in shipments
        ]
        body = {
            "code": 0,
            "message": "success",
            "result": result,
            "elapsedMilliseconds": 23 + 9 * len(result),
        }
        return SandboxReply(200, json_body(body))

    def render_error(self, kind: SandboxErrorKind, *, retry_after: int = 1) -> SandboxReply:
        """Yanwen's answer when it refuses, throttles or fails.

        A refused customer number comes back as HTTP 200 with a non-zero `code`, the way the
        envelope carries errors; the real code and status are not known [unverified].
        """
        if kind == "auth":
            body = _error(401, "Unauthorized: invalid customer number")
            return SandboxReply(200, json_body(body))
        if kind == "rate_limited":
            body = _error(429, "Too many requests, please slow down")
            return SandboxReply(429, json_body(body), headers=(("Retry-After", str(retry_after)),))
        if kind == "server_error":
            page = "<html><head><title>503</title></head><body>Service Unavailable</body></html>"
            return SandboxReply(503, page.encode(), content_type="text/html; charset=utf-8")
        if kind == "bad_request":
            body = _error(400, f"nums is required (at most {MAX_NUMBERS} numbers)")
            return SandboxReply(400, json_body(body))
        assert_never(kind)


SANDBOX = YanwenSandbox()
"""The renderer the sandbox server uses for Yanwen."""


def _error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "result": None, "elapsedMilliseconds": 2}


def _unknown(number: str) -> dict[str, Any]:
    return {
        "tracking_number": number,
        "tracking_status": NOT_FOUND_STATUS,
        "last_mile_tracking_expected": False,
        "checkpoints": [],
    }


def _item(number: str, shipment: SimShipment) -> dict[str, Any]:
    oldest_first = sorted(shipment.events, key=lambda e: e.at)
    checkpoints = [_checkpoint(e) for e in oldest_first]
    item: dict[str, Any] = {
        "tracking_number": number,
        "tracking_status": checkpoints[-1]["tracking_status"] if checkpoints else "OR10",
        "last_mile_tracking_expected": shipment.scenario == "multi_leg",
    }
    if shipment.last_mile is not None:
        item["last_mile_tracking_number"] = shipment.last_mile.tracking_number
        item["last_mile_carrier"] = shipment.last_mile.carrier_name
    item["checkpoints"] = checkpoints
    return item


def _checkpoint(event: SimEvent) -> dict[str, Any]:
    code = event_code(event, _CODES, _EXCEPTION_CODES)
    origin_side = code in _ORIGIN_SIDE
    city = _CHINESE_CITIES.get(event.city, event.city) if origin_side else event.city
    local = event.at.astimezone(timezone(timedelta(minutes=event.local_offset)))
    return {
        "time_stamp": local.strftime("%Y-%m-%dT%H:%M:%S"),
        "time_zone": _time_zone(event.local_offset),
        "tracking_status": code,
        "message": variant_of(_TEXTS[code], event).format(city=city),
        "location": city if event.variant % 3 else "",
    }


def _time_zone(minutes: int) -> str:
    """`+8`, `-5`, `+0`, `+5:30`: hours without padding, minutes only when there are some."""
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}:{rest:02d}" if rest else f"{sign}{hours}"

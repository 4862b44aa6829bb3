"""YunExpress classic wire format for the sandbox: the mirror image of `parse.py` (pure).

Renders a simulated shipment as a `Tracking/GetTrackAllInfo` answer in the newer envelope:
naive China-time `ProcessDate`, free-text `ProcessContent` in English, or in Chinese when
the request asks for `Accept-Language: zh-cn`, events oldest first, and "not found" as
code 1006 with a null `Item` under HTTP 200. The Open Platform's routes (token and signed
tracking) are served too, by `openapi_sandbox`, on their own paths.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from carriers.base import SandboxErrorKind, SandboxReply, SandboxRequest
from carriers.kit.simulated import SimEvent, SimShipment
from carriers.yunexpress import openapi_sandbox
from carriers.yunexpress.parse import CHINA_OFFSET
from tracking.core.domain import Stage, offset_tz

__all__ = ["SANDBOX", "TEXTS_EN", "TEXTS_ZH", "YunExpressSandbox", "event_text"]

_JSON = "application/json; charset=utf-8"
_CHINA_TZ = offset_tz(CHINA_OFFSET)

TEXTS_EN: dict[Stage, tuple[str, ...]] = {
    Stage.INFO_RECEIVED: (
        "Shipment information received",
        "Order information received, awaiting parcel",
        "Electronic shipping information submitted",
    ),
    Stage.PICKED_UP: (
        "Picked up by YunExpress in {city}",
        "Parcel received at warehouse {city}",
        "Collected by carrier",
    ),
    Stage.ORIGIN_FACILITY: (
        "Departed from sorting center {city}",
        "Arrived at sorting center {city}",
        "Processing at origin facility",
    ),
    Stage.EXPORT_CUSTOMS: (
        "Export customs clearance completed",
        "Export declaration in progress",
        "Export clearance success",
    ),
    Stage.DEPARTED_ORIGIN: (
        "Flight departed from origin airport",
        "Departed from origin country",
        "Handed over to airline, flight departed",
    ),
    Stage.IN_TRANSIT: (
        "Arrived at transit hub {city}",
        "In transit to destination country",
        "Departed transit airport {city}",
    ),
    Stage.ARRIVED_DESTINATION: (
        "Arrived in destination country",
        "Flight arrived at destination airport",
        "Arrival at destination country, {city}",
    ),
    Stage.IMPORT_CUSTOMS: (
        "Customs clearance in progress",
        "Import customs clearance completed",
        "Released by customs",
    ),
    Stage.DESTINATION_FACILITY: (
        "Arrived at local delivery facility {city}",
        "Handed over to last-mile carrier",
        "Processed at destination sorting center",
    ),
    Stage.OUT_FOR_DELIVERY: (
        "Out for delivery",
        "With courier for delivery",
        "On vehicle for delivery",
    ),
    Stage.AVAILABLE_FOR_PICKUP: (
        "Arrived at pickup point, awaiting collection",
        "Available for pickup at post office",
        "Delivered to parcel locker, awaiting collection by recipient",
    ),
    Stage.DELIVERY_FAILED: (
        "Delivery attempt failed: recipient not available",
        "Unsuccessful delivery attempt",
        "Delivery failed, incorrect address",
    ),
    Stage.DELIVERED: (
        "Delivered",
        "Delivered, signed by recipient",
        "Parcel delivered to recipient",
    ),
    Stage.RETURNING: (
        "Returning to sender",
        "Return in progress",
        "Being returned to sender",
    ),
    Stage.RETURNED: (
        "Returned to sender",
        "Return delivered to shipper",
        "Parcel returned to sender",
    ),
}
"""English `ProcessContent` per stage; `SimEvent.variant` picks one."""

TEXTS_ZH: dict[Stage, tuple[str, ...]] = {
    Stage.INFO_RECEIVED: (
        "订单信息已接收，等待包裹入库",
        "已接收电子运单信息",
        "运单已生成，等待揽收",
    ),
    Stage.PICKED_UP: ("【{city}】已揽收", "云途{city}仓库已收货", "快件已被收寄"),
    Stage.ORIGIN_FACILITY: ("离开【{city}分拨中心】", "到达【{city}转运中心】", "包裹已完成分拣"),
    Stage.EXPORT_CUSTOMS: ("出口报关完成", "出口报关中", "已完成出口清关"),
    Stage.DEPARTED_ORIGIN: ("航班已起飞", "已离开始发国", "已交航空公司，航班已起飞"),
    Stage.IN_TRANSIT: ("到达中转站【{city}】", "运往目的国途中", "已离开中转机场【{city}】"),
    Stage.ARRIVED_DESTINATION: ("已到达目的国", "航班已抵达目的国机场", "到达目的地国家"),
    Stage.IMPORT_CUSTOMS: ("目的国清关中", "清关完成", "进口清关已放行"),
    Stage.DESTINATION_FACILITY: ("已到达目的国分拣中心", "已交付末端派送商", "到达当地派送站"),
    Stage.OUT_FOR_DELIVERY: ("派送中", "快递员正在派件", "已安排投递"),
    Stage.AVAILABLE_FOR_PICKUP: (
        "已到达自提点，请及时取件",
        "包裹已放入快递柜",
        "已投递至自提点，等待收件人取件",
    ),
    Stage.DELIVERY_FAILED: ("投递失败：收件人不在", "派送不成功，地址错误", "未妥投"),
    Stage.DELIVERED: ("已签收", "已妥投", "签收人：本人签收"),
    Stage.RETURNING: ("退回中", "包裹正在退回发件人", "退件处理中"),
    Stage.RETURNED: ("已退回发件人", "退件已签收", "包裹已退回"),
}
"""Chinese `ProcessContent` per stage (`Accept-Language: zh-cn`)."""

_EXCEPTION_EN: dict[str, tuple[str, ...]] = {
    "lost": ("Parcel lost in transit", "Shipment reported lost"),
    "customs_held": (
        "Held by customs: detained pending inspection",
        "Customs hold - documents required",
    ),
    "": ("Shipment exception",),
}
_EXCEPTION_ZH: dict[str, tuple[str, ...]] = {
    "lost": ("包裹丢失", "快件已确认遗失"),
    "customs_held": ("海关扣留", "包裹被海关扣关，等待补充资料"),
    "": ("运输异常",),
}

_CITIES_ZH: dict[str, str] = {
    "Shenzhen": "深圳",
    "Guangzhou": "广州",
    "Yiwu": "义乌",
    "Dongguan": "东莞",
    "Hangzhou": "杭州",
    "Hong Kong": "香港",
    "Almaty": "阿拉木图",
    "Liege": "列日",
    "Dubai": "迪拜",
}

# `TrackingStatus` per stage, after one third-party mapping (carrier-apis §4.1, low
# confidence): 10 info received, 20 in transit, 30 pickup, 40 failure, 50 delivered,
# 60 exception, 80 customs, 90 returned. The parser does not read it.
_TRACKING_STATUS: dict[Stage, int] = {
    Stage.INFO_RECEIVED: 10,
    Stage.IMPORT_CUSTOMS: 80,
    Stage.AVAILABLE_FOR_PICKUP: 30,
    Stage.DELIVERY_FAILED: 40,
    Stage.DELIVERED: 50,
    Stage.EXCEPTION: 60,
    Stage.RETURNING: 90,
    Stage.RETURNED: 90,
}

_MESSAGES: dict[str, tuple[str, str]] = {  # code -> (Chinese, English)
    "0000": ("提交成功", "Success"),
    "1006": ("查询不到数据", "No data found"),
}


def event_text(event: SimEvent, *, chinese: bool) -> str:
    """The `ProcessContent` the sandbox writes for a simulated event."""
    if event.stage is Stage.EXCEPTION:
        table = _EXCEPTION_ZH if chinese else _EXCEPTION_EN
        options = table.get(event.detail, table[""])
    else:
        options = (TEXTS_ZH if chinese else TEXTS_EN)[event.stage]
    city = _CITIES_ZH.get(event.city, event.city) if chinese else event.city
    return options[event.variant % len(options)].format(city=city)


class YunExpressSandbox:
    """Serves `GET /api/Tracking/GetTrackAllInfo` the way the classic OMS API does.

    The Open Platform's routes are served as well (`openapi_sandbox`); its credentials are
    `openapi_sandbox.OPENAPI_CREDENTIALS`, kept out of `credentials` so that sandbox runs
    stay on the classic API unless a test asks for the Open Platform.
    """

    routes: tuple[tuple[str, str], ...] = (
        ("GET", "/api/Tracking/GetTrackAllInfo"),
        *openapi_sandbox.OPENAPI_ROUTES,
    )
    credentials: Mapping[str, str] = {
        "customer_code": "SANDBOX01",
        "api_secret": "sandbox-secret-2026",
    }

    def authorized(self, request: SandboxRequest) -> bool:
        """Whether the Basic header decodes to `<customer_code>&<api_secret>`."""
        if not request.path.startswith("/api/"):
            return openapi_sandbox.authorized(request)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self.credentials['customer_code']}&{self.credentials['api_secret']}"
        return hmac.compare_digest(decoded.encode(), expected.encode())

    def numbers(self, request: SandboxRequest) -> list[str]:
        """The `OrderNumber` asked for (ASP.NET binds query names case-insensitively)."""
        if not request.path.startswith("/api/"):
            return openapi_sandbox.numbers(request)
        for name, value in request.query.items():
            if name.lower() == "ordernumber" and value.strip():
                return [value.strip()]
        raise ValueError("OrderNumber is missing")

    def render(
        self,
        request: SandboxRequest,
        shipments: Sequence[tuple[str, SimShipment | None]],
        *,
        now: datetime,
    ) -> SandboxReply:
        """The answer for the (single) number asked for."""
        if not request.path.startswith("/api/"):
            return openapi_sandbox.render(request, shipments, now=now)
        chinese = request.headers.get("accept-language", "").lower().startswith("zh")
        if not shipments:
            return self.render_error("bad_request")
        number, shipment = shipments[0]
        code = "1006" if shipment is None else "0000"
        item = None if shipment is None else _item(number, shipment, chinese=chinese)
        envelope = {
            "Item": item,
            "Code": code,
            "Message": _MESSAGES[code][0 if chinese or code == "0000" else 1],
            "RequestId": hashlib.sha256(f"{number}|{now.isoformat()}".encode()).hexdigest()[:32],
            "TimeStamp": _timestamp(now),
        }
        return SandboxReply(200, _dump(envelope), _JSON)

    def render_error(self, kind: SandboxErrorKind, *, retry_after: int = 1) -> SandboxReply:
        """401 with code 401, 429 with code 10000, 500 in the ASP.NET shape, 400 with 1004."""
        if kind == "auth":
            body: dict[str, Any] = {"Code": "401", "Message": "未授权：客户编号或密钥无效"}
            return SandboxReply(401, _dump(body), _JSON)
        if kind == "rate_limited":
            body = {"Code": "10000", "Message": "请求过于频繁，请稍后再试", "Item": None}
            return SandboxReply(429, _dump(body), _JSON, (("Retry-After", str(retry_after)),))
        if kind == "server_error":
            body = {
                "Message": "出现错误。",
                "ExceptionMessage": "The operation has timed out.",
                "ExceptionType": "System.TimeoutException",
                "StackTrace": None,
            }
            return SandboxReply(500, _dump(body), _JSON)
        body = {"Code": "1004", "Message": "参数错误：OrderNumber 不能为空", "Item": None}
        return SandboxReply(400, _dump(body), _JSON)


def _item(number: str, shipment: SimShipment, *, chinese: bool) -> dict[str, Any]:
    events = shipment.events
    last = events[-1].stage if events else Stage.INFO_RECEIVED
    leg = shipment.last_mile
    return {
        "CountryCode": shipment.destination_country,
        "WaybillNumber": number,
        "TrackingNumber": leg.tracking_number if leg is not None else "",
        "CarrierName": leg.carrier_name if leg is not None else "",
        "CreatedBy": None,
        "PackageState": _package_state(shipment),
        "TrackingStatus": _TRACKING_STATUS.get(last, 20),
        "IntervalDays": _interval_days(shipment),
        "OrderTrackingDetails": [_detail(e, chinese=chinese) for e in events],
    }


def _detail(event: SimEvent, *, chinese: bool) -> dict[str, Any]:
    return {
        "ProcessContent": event_text(event, chinese=chinese),
        "ProcessLocation": None if event.stage is Stage.INFO_RECEIVED else event.city,
        "ProcessDate": event.at.astimezone(_CHINA_TZ).strftime("%Y-%m-%dT%H:%M:%S"),
        "TrackingStatus": _TRACKING_STATUS.get(event.stage, 20),
    }


def _package_state(shipment: SimShipment) -> int:
    stages = shipment.stages
    if not stages or set(stages) == {Stage.INFO_RECEIVED}:
        return 1
    if stages[-1] is Stage.DELIVERED:
        return 3
    if stages[-1] is Stage.RETURNED:
        return 7
    return 2


def _interval_days(shipment: SimShipment) -> float:
    events = shipment.events
    if not events or events[-1].stage is not Stage.DELIVERED:
        return -1.0
    return round((events[-1].at - events[0].at).total_seconds() / 86_400, 2)


def _timestamp(now: datetime) -> str:
    """`2026-11-20T12:00:00.1234560+00:00`: UTC with seven fractional digits, as .NET writes."""
    moment = now.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0+00:00"


def _dump(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


SANDBOX = YunExpressSandbox()
"""The sandbox renderer the carrier registers."""

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
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from carriers.base import SandboxErrorKind, SandboxReply, SandboxRequest
from carriers.kit.sandboxes import json_body
from carriers.kit.simulated import AskedShipments, SimEvent, SimShipment
from carriers.yunexpress import openapi_sandbox
from carriers.yunexpress.sandbox_texts import event_text
from tracking.core.countries import CHINA_TZ
from tracking.core.domain import Stage

__all__ = ["SANDBOX", "YunExpressSandbox"]

_JSON = "application/json; charset=utf-8"

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
        self, request: SandboxRequest, shipments: AskedShipments, *, now: datetime
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
        return SandboxReply(200, json_body(envelope), _JSON)

    def render_error(self, kind: SandboxErrorKind, *, retry_after: int = 1) -> SandboxReply:
        """401 with code 401, 429 with code 10000, 500 in the ASP.NET shape, 400 with 1004."""
        if kind == "auth":
            body: dict[str, Any] = {"Code": "401", "Message": "未授权：客户编号或密钥无效"}
            return SandboxReply(401, json_body(body), _JSON)
        if kind == "rate_limited":
            body = {"Code": "10000", "Message": "请求过于频繁，请稍后再试", "Item": None}
            return SandboxReply(429, json_body(body), _JSON, (("Retry-After", str(retry_after)),))
        if kind == "server_error":
            body = {
                "Message": "出现错误。",
                "ExceptionMessage": "The operation has timed out.",
                "ExceptionType": "System.TimeoutException",
                "StackTrace": None,
            }
            return SandboxReply(500, json_body(body), _JSON)
        body = {"Code": "1004", "Message": "参数错误：OrderNumber 不能为空", "Item": None}
        return SandboxReply(400, json_body(body), _JSON)


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
        "ProcessDate": event.at.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M:%S"),
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


SANDBOX = YunExpressSandbox()
"""The sandbox renderer the carrier registers."""

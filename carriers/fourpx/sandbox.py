"""Renders simulated shipments as 4PX `tr.order.tracking.get` answers (pure, no I/O).

`trackingList` goes out newest first, every `occurDatetime` at China time whatever the
event's country (the convention the parser assumes). Origin events are in Chinese, the
linehaul abroad and the destination in English. An unknown number gets an error envelope
(`result` "0") saying the order does not exist: one client of the official API treats such
messages as "not found", and the public endpoint answers unknown numbers without tracks;
the real error code and wording are not known [unverified]. A handed-over parcel names its
last-mile number and carrier in `channelTrackCode` and `channelContact`, the public tracking
endpoint's field names [unverified for the open platform].
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, assert_never

from carriers.base import SandboxErrorKind, SandboxReply, SandboxRequest
from carriers.fourpx.client import API_METHOD, SERVICE_PATH, query_sign
from carriers.fourpx.parse import STATUSES
from carriers.fourpx.public import PUBLIC_PATH
from carriers.kit.sandboxes import json_body, variant_of
from tracking.core.countries import CHINA_TZ, country_name

if TYPE_CHECKING:
    from carriers.kit.simulated import AskedShipments, SimEvent, SimShipment

__all__ = ["SANDBOX", "SANDBOX_APP_KEY", "SANDBOX_APP_SECRET", "FourPXSandbox"]

SANDBOX_APP_KEY = "sandbox-4px-key"
SANDBOX_APP_SECRET = "sandbox-4px-secret"

# Country names as 4PX writes them: upper-case English.
_COUNTRY_NAMES: dict[str, str] = {"RU": "RUSSIA", "US": "UNITED STATES", "GB": "UNITED KINGDOM"}


class FourPXSandbox:
    """4PX's open platform router in the sandbox: an MD5-signed query, one number a call."""

    def __init__(self) -> None:
        # The public tracking page too (`carriers.fourpx.public`), on its own path.
        self.routes: tuple[tuple[str, str], ...] = (("POST", SERVICE_PATH), ("POST", PUBLIC_PATH))
        self.credentials: Mapping[str, str] = {
            "app_key": SANDBOX_APP_KEY,
            "app_secret": SANDBOX_APP_SECRET,
        }

    def authorized(self, request: SandboxRequest) -> bool:
        """Whether `app_key` is the sandbox key and `sign` matches the sandbox secret."""
        if request.path == PUBLIC_PATH:
            return True  # the public page needs no credentials
        query = request.query
        if query.get("app_key") != SANDBOX_APP_KEY:
            return False
        body = request.body.decode("utf-8", errors="replace")
        expected = query_sign(query, app_secret=SANDBOX_APP_SECRET, body=body)
        # Exactly as computed: lower-case hex, as 4PX's example and SDKs send it. Comparing
        # without case would let an upper-case sign (which 4PX may refuse) pass every test.
        return hmac.compare_digest(query.get("sign", "").encode(), expected.encode())

    def numbers(self, request: SandboxRequest) -> list[str]:
        """The body's `deliveryOrderNo`; `ValueError` for another method or a bad body."""
        if request.path == PUBLIC_PATH:
            codes = json.loads(request.body).get("queryCodes") if request.body else None
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise ValueError("queryCodes must be a list of numbers")
            return [c.strip() for c in codes]
        if request.query.get("method") != API_METHOD:
            raise ValueError(f"method must be {API_METHOD}")
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"body is not JSON: {exc}") from None
        number = data.get("deliveryOrderNo") if isinstance(data, dict) else None
        if not isinstance(number, str) or not number.strip():
            raise ValueError("deliveryOrderNo is missing or empty")
        return [number.strip()]

    def render(
        self, request: SandboxRequest, shipments: AskedShipments, *, now: datetime
    ) -> SandboxReply:
        """The success envelope for the one number, or the "does not exist" error envelope."""
        if request.path == PUBLIC_PATH:
            data = [_public_item(number, shipment) for number, shipment in shipments]
            return SandboxReply(200, json_body({"result": 1, "message": "操作成功", "data": data}))
        if len(shipments) != 1:
            return self.render_error("bad_request")
        ((number, shipment),) = shipments
        if shipment is None:
            body = _error("业务处理失败", "E10004", f"单号{number}不存在或暂无轨迹")
            return SandboxReply(200, json_body(body))
        return SandboxReply(200, json_body(_success(number, shipment)))

    def render_error(self, kind: SandboxErrorKind, *, retry_after: int = 1) -> SandboxReply:
        """4PX's answer when it refuses, throttles or fails.

        Refused credentials come back as HTTP 200 with error code 000013 (carrier-apis §6);
        throttling as HTTP 429 is a guess [unverified].
        """
        if kind == "auth":
            return SandboxReply(
                200, json_body(_error("请求处理失败", "000013", "app_key校验不通过"))
            )
        if kind == "rate_limited":
            body = _error("请求过于频繁", "000429", "调用过于频繁，请稍后再试")
            return SandboxReply(429, json_body(body), headers=(("Retry-After", str(retry_after)),))
        if kind == "server_error":
            page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return SandboxReply(502, page.encode(), content_type="text/html; charset=utf-8")
        if kind == "bad_request":
            return SandboxReply(200, json_body(_error("参数错误", "000002", "请求参数格式不正确")))
        assert_never(kind)


SANDBOX = FourPXSandbox()
"""The renderer the sandbox server uses for 4PX."""


def _error(msg: str, code: str, text: str) -> dict[str, Any]:
    return {"result": "0", "msg": msg, "errors": [{"errorCode": code, "errorMsg": text}]}


def _success(number: str, shipment: SimShipment) -> dict[str, Any]:
    newest_first = sorted(shipment.events, key=lambda e: e.at, reverse=True)
    country = shipment.destination_country
    data: dict[str, Any] = {
        "deliveryOrderNo": number,
        "destinationCountry": _COUNTRY_NAMES.get(country) or country_name(country).upper(),
    }
    if shipment.last_mile is not None:
        # Field names of 4PX's public tracking endpoint; unconfirmed here [unverified].
        name = shipment.last_mile.carrier_name
        data["channelTrackCode"] = shipment.last_mile.tracking_number
        data["channelContact"] = {
            "channelSimpleName": name,
            "contact": f"【服务商】{name}\n【联系方式】\n电话：000-0000",
        }
    data["trackingList"] = [_event(e, shipment) for e in newest_first]
    return {"result": "1", "msg": "success", "errors": [], "data": data}


def _event(event: SimEvent, shipment: SimShipment) -> dict[str, Any]:
    status = STATUSES.row_for(event)
    code = status.code
    content = variant_of(status.texts, event).format(city=event.city)
    leg = shipment.last_mile
    if code == "FPX_D_DFD" and event.leg == "last_mile" and leg is not None:
        # The hand-over text names the new carrier and number as well.
        content = f"Handed over to {leg.carrier_name}, tracking number {leg.tracking_number}"
    return {
        "businessLinkCode": code,
        # The quirk: China time whatever the event's country.
        "occurDatetime": event.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        "occurLocation": event.city if not status.blank_location or event.variant % 4 else "",
        "trackingContent": content,
    }


def _public_item(number: str, shipment: SimShipment | None) -> dict[str, Any]:
    """A `listTrackV3` item: `tkDate` the instant (ISO, UTC), `tkDateStr` China time."""
    if shipment is None:
        return {"queryCode": number, "status": 7, "tracks": None}
    tracks = []
    for event in sorted(shipment.events, key=lambda e: e.at, reverse=True):
        raw = _event(event, shipment)
        tracks.append(
            {
                "tkCode": raw["businessLinkCode"],
                "tkDesc": raw["trackingContent"],
                "tkLocation": raw["occurLocation"],
                "tkTimezone": None,
                "tkDate": event.at.astimezone(UTC).isoformat(timespec="seconds"),
                "tkDateStr": raw["occurDatetime"],
            }
        )
    return {
        "queryCode": number,
        "status": 5 if shipment.events else 1,
        "ctStartCode": "CN",
        "ctEndCode": shipment.destination_country,
        "tracks": tracks,
    }

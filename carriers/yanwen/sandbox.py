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
from carriers.kit.sandboxes import json_body, listed_numbers, variant_of
from carriers.yanwen.client import TRACKING_PATH
from carriers.yanwen.parse import NOT_FOUND_STATUS, STATUSES

if TYPE_CHECKING:
    from carriers.kit.simulated import AskedShipments, SimEvent, SimShipment

__all__ = ["MAX_NUMBERS", "SANDBOX", "SANDBOX_CUSTOMER_NUMBER", "YanwenSandbox"]

MAX_NUMBERS = 20
"""Most numbers the sandbox accepts in one `nums` (the adapter's batch size)."""

SANDBOX_CUSTOMER_NUMBER = "SANDBOX-YW-100"
"""The customer number the sandbox accepts in the `Authorization` header."""

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
    status = STATUSES.row_for(event)
    city = _CHINESE_CITIES.get(event.city, event.city) if status.chinese else event.city
    local = event.at.astimezone(timezone(timedelta(minutes=event.local_offset)))
    return {
        "time_stamp": local.strftime("%Y-%m-%dT%H:%M:%S"),
        "time_zone": _time_zone(event.local_offset),
        "tracking_status": status.code,
        "message": variant_of(status.texts, event).format(city=city),
        "location": city if event.variant % 3 else "",
    }


def _time_zone(minutes: int) -> str:
    """`+8`, `-5`, `+0`, `+5:30`: hours without padding, minutes only when there are some."""
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}:{rest:02d}" if rest else f"{sign}{hours}"

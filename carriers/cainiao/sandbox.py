"""Renders simulated shipments as Cainiao's `global/detail.json` answers (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, assert_never

from carriers.base import SandboxErrorKind, SandboxReply, SandboxRequest
from carriers.cainiao.client import DETAIL_PATH
from carriers.cainiao.parse import STATUSES
from carriers.kit.sandboxes import json_body, listed_numbers, variant_of
from tracking.core.countries import CHINA_TZ, country_name
from tracking.core.domain import Stage

if TYPE_CHECKING:
    from carriers.kit.simulated import AskedShipments, SimEvent, SimShipment

__all__ = ["MAX_NUMBERS", "SANDBOX", "CainiaoSandbox"]

MAX_NUMBERS = 20
"""Most numbers the sandbox accepts in one `mailNos` (the adapter's batch size)."""

# Module status by the newest event's stage (DELIVERED and CLEAR_CUSTOMS are real values,
# the others come from community code [unverified]).
_STATUS: dict[Stage, tuple[str, str]] = {
    Stage.INFO_RECEIVED: ("WAIT_ACCEPT", "Waiting for courier pick-up"),
    Stage.PICKED_UP: ("ACCEPTED", "Picked up"),
    Stage.ORIGIN_FACILITY: ("TRANSITING", "In transit"),
    Stage.EXPORT_CUSTOMS: ("TRANSITING", "In transit"),
    Stage.DEPARTED_ORIGIN: ("TRANSITING", "In transit"),
    Stage.IN_TRANSIT: ("TRANSITING", "In transit"),
    Stage.ARRIVED_DESTINATION: ("TRANSITING", "In transit"),
    Stage.IMPORT_CUSTOMS: ("CLEAR_CUSTOMS", "Clearing customs "),
    Stage.DESTINATION_FACILITY: ("TRANSITING", "With local courier"),
    Stage.OUT_FOR_DELIVERY: ("DELIVERING", "Out for delivery"),
    Stage.AVAILABLE_FOR_PICKUP: ("DELIVERING", "Ready for collection"),
    Stage.DELIVERY_FAILED: ("FAILED", "Delivery attempt failed"),
    Stage.DELIVERED: ("DELIVERED", "Delivered"),
    Stage.RETURNING: ("RETURN", "Returning to sender"),
    Stage.RETURNED: ("RETURN", "Returned to sender"),
    Stage.EXCEPTION: ("FAILED", "Problem with shipment"),
}

# Country names as Cainiao writes them (English, not ISO); others fall back to pycountry.
_COUNTRY_NAMES: dict[str, str] = {
    "CN": "Mainland China",
    "RU": "Russia",
    "US": "United States",
    "GB": "United Kingdom",
}


class CainiaoSandbox:
    """Cainiao's public endpoint in the sandbox: no credentials, comma-joined `mailNos`."""

    def __init__(self) -> None:
        self.routes: tuple[tuple[str, str], ...] = (("GET", DETAIL_PATH),)
        self.credentials: Mapping[str, str] = {}

    def authorized(self, request: SandboxRequest) -> bool:
        """Always: the consumer endpoint is public."""
        return True

    def numbers(self, request: SandboxRequest) -> list[str]:
        """The numbers of the `mailNos` query (comma-separated); `ValueError` if none."""
        return listed_numbers(request, "mailNos", most=MAX_NUMBERS)

    def render(
        self, request: SandboxRequest, shipments: AskedShipments, *, now: datetime
    ) -> SandboxReply:
        """The `{"module": [...], "success": true}` body, one module per number, in order."""
        module = [
            _module(number, shipment, now=now) if shipment is not None else _unknown(number)
            for number, shipment in shipments
        ]
        return SandboxReply(200, json_body({"module": module, "success": True}))

    def render_error(self, kind: SandboxErrorKind, *, retry_after: int = 1) -> SandboxReply:
        """Cainiao's answer when it refuses (anti-crawler page), throttles or fails."""
        if kind == "auth":
            page = (
                "<!DOCTYPE html><html><head><title>Verification needed</title></head>"
                "<body><p>Unusual traffic from your network was detected. "
                "Slide to continue.</p></body></html>"
            )
            return SandboxReply(403, page.encode(), content_type="text/html; charset=utf-8")
        if kind == "rate_limited":
            body = {"success": False, "errorCode": "FLOW_LIMIT", "errorMsg": "Too many requests"}
            return SandboxReply(429, json_body(body), headers=(("Retry-After", str(retry_after)),))
        if kind == "server_error":
            page = "<html><head><title>502</title></head><body>Bad gateway</body></html>"
            return SandboxReply(502, page.encode(), content_type="text/html; charset=utf-8")
        if kind == "bad_request":
            body = {"success": False, "errorCode": "PARAM_ERROR", "errorMsg": "mailNos required"}
            return SandboxReply(400, json_body(body))
        assert_never(kind)


SANDBOX = CainiaoSandbox()
"""The renderer the sandbox server uses for Cainiao."""


def _unknown(number: str) -> dict[str, Any]:
    return {"mailNo": number, "mailNoSource": "EXTERNAL", "detailList": []}


def _module(number: str, shipment: SimShipment, *, now: datetime) -> dict[str, Any]:
    origin = _country(shipment.origin_country)
    destination = _country(shipment.destination_country)
    newest_first = sorted(shipment.events, key=lambda e: e.at, reverse=True)
    details = [_event(e, shipment) for e in newest_first]
    data: dict[str, Any] = {"mailNo": number, "originCountry": origin, "destCountry": destination}
    stages = set(shipment.stages)
    if Stage.DESTINATION_FACILITY in stages or shipment.last_mile is not None:
        data["destCpInfo"] = _cp_info(shipment)
    if shipment.last_mile is not None:
        data["realMailNo"] = shipment.last_mile.tracking_number
        data["copyRealMailNo"] = shipment.last_mile.tracking_number
    if newest_first:
        data["status"], data["statusDesc"] = _STATUS[newest_first[0].stage]
    else:
        data["status"], data["statusDesc"] = "SELLER_PREPARING", "Seller preparing shipment"
        data["noTrackingDataDesc"] = "Tracking updates will appear here soon"
    data["mailNoSource"] = "AE"
    data["processInfo"] = _progress(origin, destination, stages)
    if newest_first:
        eta = newest_first[-1].at + timedelta(days=16 + newest_first[-1].variant)
        spread = timedelta(days=4) if newest_first[-1].variant % 2 else timedelta(0)
        data["globalEtaInfo"] = {
            "etaDesc": "Expected by",
            "deliveryMinTime": _ms(eta),
            "deliveryMaxTime": _ms(eta + spread),
        }
        data["latestTrace"] = details[0]
    data["detailList"] = details
    if newest_first:
        days = max(0, (now - newest_first[-1].at).days)
        data["daysNumber"] = f"{days}\tday(s)"
    return data


def _event(event: SimEvent, shipment: SimShipment) -> dict[str, Any]:
    status = STATUSES.row_for(event)
    desc = variant_of(status.texts, event)
    if event.leg == "last_mile" and shipment.last_mile is not None:
        desc = f"{shipment.last_mile.carrier_name}: {desc}"
    item: dict[str, Any] = {
        "time": _ms(event.at),
        # The quirk: timeStr is the instant at UTC+8 whatever timeZone says.
        "timeStr": event.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        "desc": desc,
        "standerdDesc": status.standard.format(city=event.city),
        "descTitle": "Carrier note:",
        "timeZone": _time_zone(event.local_offset, padded=event.variant % 2 == 1),
        "actionCode": status.code,
    }
    if status.group:
        node = status.group
        item["group"] = {
            "nodeCode": node,
            "nodeDesc": status.group_text,
            "currentIconUrl": f"https://icons.sandbox.invalid/cainiao/{node.lower()}-on.png",
            "historyIconUrl": f"https://icons.sandbox.invalid/cainiao/{node.lower()}-off.png",
        }
    return item


def _progress(origin: str, destination: str, stages: set[Stage]) -> dict[str, Any]:
    lit = (
        bool(stages - {Stage.INFO_RECEIVED}),
        bool(stages & {Stage.ARRIVED_DESTINATION, Stage.IMPORT_CUSTOMS}),
        Stage.DESTINATION_FACILITY in stages,
        Stage.DELIVERED in stages,
    )
    names = (origin, destination, "Destination city", "Delivered")
    points: list[dict[str, Any]] = []
    for name, on in zip(names, lit, strict=True):
        point: dict[str, Any] = {"pointName": name}
        if on:
            point["light"] = True
        points.append(point)
    return {
        "progressStatus": "NORMAL" if Stage.EXCEPTION not in stages else "ABNORMAL",
        "progressRate": sum(lit) / len(lit),
        "type": "CROSS",
        "progressPointList": points,
    }


def _cp_info(shipment: SimShipment) -> dict[str, str]:
    name = (
        shipment.last_mile.carrier_name
        if shipment.last_mile is not None
        else f"{shipment.destination_country} Local Express"
    )
    slug = "".join(c for c in name.lower() if c.isalnum())
    return {"cpName": name, "phone": "000-0000", "url": f"https://{slug}.sandbox.invalid/track"}


def _country(iso2: str) -> str:
    return _COUNTRY_NAMES.get(iso2) or country_name(iso2)


def _time_zone(minutes: int, *, padded: bool) -> str:
    """`GMT+3` or `GMT+03:00` (both styles appear in real payloads)."""
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    if padded or rest:
        return f"GMT{sign}{hours:02d}:{rest:02d}"
    return f"GMT{sign}{hours}"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)

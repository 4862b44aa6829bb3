"""Renders simulated shipments as 17TRACK v2.2 `register` and `gettrackinfo` answers (pure)."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, assert_never

from pydantic import BaseModel, ConfigDict, Field, model_validator

from carriers.base import SandboxErrorKind, SandboxReply, SandboxRequest
from carriers.kit.sandboxes import at_most, event_code, json_body, variant_of
from carriers.kit.tables import read_rows
from carriers.track17.client import (
    CHANGECARRIER_PATH,
    REGISTER_PATH,
    TOKEN_HEADER,
    TRACKINFO_PATH,
)
from carriers.track17.codes import KEY_STAGES, STAGE_MAP, STATUSES, Track17Status
from tracking.core.domain import Stage, offset_tz

if TYPE_CHECKING:
    from carriers.kit.simulated import AskedShipments, SimEvent, SimShipment

__all__ = ["MAX_NUMBERS", "SANDBOX", "Track17Sandbox"]

MAX_NUMBERS = 40
"""Most numbers 17TRACK takes in one call."""

_ROOT = "/track/v2.2"
_CODE = "17track"


@dataclass(frozen=True, slots=True)
class _Post:
    """A provider as 17TRACK lists it, and the language of its event texts."""

    name: str
    key: int
    country: str
    language: str


# China Post 3011, USPS 21051 and DHL Paket 7041 are 17TRACK's keys (carrier-apis §5); the
# other keys are invented for the sandbox [unverified]. Names follow the simulated world.
_CHINA_POST = _Post("China Post", 3011, "CN", "en")
_POSTS: dict[str, _Post] = {
    "RU": _Post("Russian Post", 90011, "RU", "ru"),
    "US": _Post("USPS", 21051, "US", "en"),
    "IL": _Post("Israel Post", 90021, "IL", "en"),  # Israel Post's English texts
    "BR": _Post("Correios", 90031, "BR", "pt"),
    "FR": _Post("La Poste Colissimo", 90041, "FR", "fr"),
    "DE": _Post("Deutsche Post DHL", 7041, "DE", "de"),
    "ES": _Post("Correos", 90051, "ES", "es"),
    "PL": _Post("Poczta Polska", 90061, "PL", "pl"),
    "GB": _Post("Royal Mail", 90071, "GB", "en"),
    "UA": _Post("Ukrposhta", 90081, "UA", "uk"),
    "KZ": _Post("Kazpost", 90091, "KZ", "ru"),
    "CL": _Post("Correos Chile", 90101, "CL", "es"),
}

_KEY_STAGE_OF: dict[Stage, str] = {stage: key for key, stage in STAGE_MAP.items()}
"""Stage -> its key stage: an event of these stages carries its `stage`."""


def _sent_for(rows: Sequence[Track17Status]) -> dict[Stage, tuple[str, ...]]:
    """Stage -> the sub-statuses the sandbox sends events of that stage with (chosen by
    `SimEvent.variant`): the rows whose `sent_for` names it, in `statuses.toml`'s order."""
    sent: dict[Stage, list[str]] = {}
    for row in rows:
        for stage in row.sent_for:
            sent.setdefault(stage, []).append(row.code)
    return {stage: tuple(codes) for stage, codes in sent.items()}


_SUB_STATUS = _sent_for(STATUSES.rows)


class _Wording(BaseModel):
    """A `text` row of `statuses.toml`: the sandbox's wording of a stage, or of an
    exception's `detail`, in one language."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    language: str
    stage: Stage | None = None
    detail: str = ""
    texts: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_subject(self) -> _Wording:
        if (self.stage is None) == (not self.detail):
            raise ValueError("a text row words either a `stage` or a `detail`")
        return self


def _texts_by_language() -> dict[str, dict[Stage | str, tuple[str, ...]]]:
    """Language -> stage (or exception `detail`) -> the sandbox's wording, from `statuses.toml`."""
    texts: dict[str, dict[Stage | str, tuple[str, ...]]] = {}
    rows = read_rows(
        "carriers.track17",
        "statuses.toml",
        "text",
        _Wording,
        unique=lambda row: (row.language, row.stage or row.detail),
    )
    for row in rows:
        texts.setdefault(row.language, {})[row.stage or row.detail] = row.texts
    return texts


_TEXTS = _texts_by_language()
"""The sandbox's invented event wording per language; English is every language's fallback."""
_ENGLISH = _TEXTS["en"]

_SILENT_STAGES = (Stage.DEPARTED_ORIGIN, Stage.ARRIVED_DESTINATION)
"""Stages whose first event the sandbox often leaves unstaged, as 17TRACK's examples do."""
_NAIVE_VARIANT = 7
"""Events of this variant get a `time_iso` without offset (a community report says
17TRACK sends such times [single]); `time_utc` still gives the instant."""
_EXPIRED_AFTER = timedelta(days=30)
_VALID_NUMBER = re.compile(r"[A-Z0-9]{5,50}")
_S10 = re.compile(r"[A-Z]{2}\d{9}([A-Z]{2})")
_ERROR_TEXTS: dict[int, str] = {
    -18010002: "The access key is not valid.",
    -18010012: "The format of '{number}' is not valid.",
    -18010013: "The submitted data is not valid.",
    -18019902: "'{number}' has not been registered yet; register it first.",
    -18019903: "No carrier could be detected for '{number}'.",
}


class Track17Sandbox:
    """17TRACK in the sandbox: `register` then `gettrackinfo`, `17token` header auth.

    The sandbox keeps no state: `register` accepts every number whose carrier it detects
    (as 17TRACK registers numbers it has no data for), and `gettrackinfo` answers as if
    the batch had been registered. The world hands a last-mile leg asked about by its own
    number as a leg (`SimShipment.is_leg`), else the shipment tracked end to end.
    """

    def __init__(self) -> None:
        self.routes: tuple[tuple[str, str], ...] = (
            ("POST", f"{_ROOT}{REGISTER_PATH}"),
            ("POST", f"{_ROOT}{TRACKINFO_PATH}"),
            ("POST", f"{_ROOT}{CHANGECARRIER_PATH}"),
        )
        self.credentials: Mapping[str, str] = {"token": "sandbox-17token-2026"}

    def authorized(self, request: SandboxRequest) -> bool:
        """Whether the `17token` header carries the sandbox key."""
        return request.headers.get(TOKEN_HEADER) == self.credentials["token"]

    def numbers(self, request: SandboxRequest) -> list[str]:
        """The numbers of the JSON array body (`[{"number": ...}]`); `ValueError` if malformed.

        As the real API: the body must be sent as `Content-Type: application/json`
        (v2.2 docs, every example request), at most 40 numbers.
        """
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise ValueError("the body must be sent as application/json")
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError("the body is not a JSON array") from None
        if not isinstance(data, list) or not data:
            raise ValueError("the body must be a non-empty JSON array")
        numbers: list[str] = []
        for item in data:
            number = item.get("number") if isinstance(item, dict) else None
            if not isinstance(number, str) or not number.strip():
                raise ValueError("every item needs a `number`")
            numbers.append(number.strip())
        return at_most(numbers, MAX_NUMBERS)

    def render(
        self, request: SandboxRequest, shipments: AskedShipments, *, now: datetime
    ) -> SandboxReply:
        """`register`: accepted/rejected per number; `gettrackinfo`: full `track_info` items."""
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        if request.path.endswith(CHANGECARRIER_PATH):
            moved = [
                {"number": i["number"], "carrier": i.get("carrier_new")}
                for i in json.loads(request.body)
            ]
            return SandboxReply(
                200, json_body({"code": 0, "data": {"accepted": moved, "rejected": []}})
            )
        registering = request.path.endswith(REGISTER_PATH)
        for number, shipment in shipments:
            post, refusal = _detect(number, shipment)
            if refusal is not None:
                code = refusal if registering or refusal != -18019903 else -18019902
                rejected.append({"number": number, "error": _error(code, number)})
            elif registering:
                accepted.append({"origin": 1, "number": number, "carrier": post.key})
            else:
                accepted.append(_item(number, shipment, post, now=now))
        return SandboxReply(
            200, json_body({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})
        )

    def render_error(self, kind: SandboxErrorKind, *, retry_after: int = 1) -> SandboxReply:
        """17TRACK's answer when it refuses the key, throttles, fails or rejects the body."""
        if kind == "auth":
            return SandboxReply(401, json_body(_envelope(-18010002)))
        if kind == "rate_limited":
            # The body of 17TRACK's 429 is not documented [unverified].
            return SandboxReply(
                429,
                b"Too Many Requests",
                content_type="text/plain; charset=utf-8",
                headers=(("Retry-After", str(retry_after)),),
            )
        if kind == "server_error":
            return SandboxReply(503, b"Service Unavailable", content_type="text/plain")
        if kind == "bad_request":
            return SandboxReply(400, json_body(_envelope(-18010013)))
        assert_never(kind)


SANDBOX = Track17Sandbox()
"""The renderer the sandbox server uses for 17TRACK."""


def _error(code: int, number: str = "") -> dict[str, Any]:
    return {"code": code, "message": _ERROR_TEXTS[code].format(number=number)}


def _envelope(code: int) -> dict[str, Any]:
    return {"code": code, "data": {"errors": [_error(code)]}}


def _post_of(country: str) -> _Post:
    """The destination post of `country` (an English-writing stand-in for one not listed)."""
    return _POSTS.get(country) or _Post(f"{country} Post", 90999, country, "en")


def _detect(number: str, shipment: SimShipment | None) -> tuple[_Post, int | None]:
    """The carrier 17TRACK's auto-detection finds, or the rejection code.

    World last-mile numbers are the destination post's; S10 numbers are the post of their
    country suffix; anything else cannot be detected.
    """
    key = number.upper()
    if not _VALID_NUMBER.fullmatch(key):
        return _CHINA_POST, -18010012
    if shipment is not None and shipment.is_leg:
        return _post_of(shipment.destination_country), None
    s10 = _S10.fullmatch(key)
    if s10 is None or (s10.group(1) != "CN" and s10.group(1) not in _POSTS):
        return _CHINA_POST, -18019903
    return (_CHINA_POST if s10.group(1) == "CN" else _POSTS[s10.group(1)]), None


def _item(
    number: str,
    shipment: SimShipment | None,
    post: _Post,
    *,
    now: datetime,
) -> dict[str, Any]:
    """One `accepted` item of `gettrackinfo`: the leg, the end-to-end shipment, or nothing."""
    if shipment is not None and shipment.is_leg:
        if shipment.pending:  # not handed over yet: the last-mile post does not know it
            return _not_found(number, post, now=now)
        dest_post = _post_of(shipment.destination_country)
        providers = [(dest_post, list(shipment.events))]
        return _found(number, shipment, providers, local=None, now=now)
    if shipment is None:
        return _not_found(number, post, now=now)
    dest_post = _post_of(shipment.destination_country)
    if shipment.last_mile is not None:
        dest_post = _Post(
            shipment.last_mile.carrier_name, dest_post.key, dest_post.country, dest_post.language
        )

    def destination_side(event: SimEvent) -> bool:
        return event.leg == "last_mile" or event.country == shipment.destination_country

    origin_events = [e for e in shipment.events if not destination_side(e)]
    destination_events = [e for e in shipment.events if destination_side(e)]
    providers = [(post, origin_events)]
    if destination_events or shipment.last_mile is not None:
        providers.append((dest_post, destination_events))
    local = (
        (shipment.last_mile.tracking_number, dest_post) if shipment.last_mile is not None else None
    )
    return _found(number, shipment, providers, local=local, now=now)


def _found(
    number: str,
    shipment: SimShipment,
    providers: Sequence[tuple[_Post, Sequence[SimEvent]]],
    *,
    local: tuple[str, _Post] | None,
    now: datetime,
) -> dict[str, Any]:
    rendered = [
        (post, [(e, _event(e, post, shipment)) for e in sorted(events, key=lambda e: e.at)])
        for post, events in providers
    ]
    every = sorted((pair for _, pairs in rendered for pair in pairs), key=lambda p: p[0].at)
    newest = every[-1] if every else None
    if newest is None:
        status, sub_status = "NotFound", "NotFound_Other"
    else:
        sub_status = newest[1]["sub_status"]
        status = sub_status.split("_")[0]
        if not shipment.final and now - newest[0].at > _EXPIRED_AFTER:
            status, sub_status = "Expired", "Expired_Other"
    milestones = []
    for key, stage in STAGE_MAP.items():
        first = next((p for p in every if p[0].stage is stage), None)
        if first is not None and stage in _SILENT_STAGES and first[0].variant % 2 == 0:
            # As in real answers, the event leaves its `stage` null and says no more than
            # "in transit": only `milestone[]` tells that it is the departure or arrival.
            first[1].update(stage=None, sub_status="InTransit_Other")
        milestones.append(
            {
                "key_stage": key,
                "time_iso": first[1]["time_iso"] if first else None,
                "time_utc": first[1]["time_utc"] if first else None,
            }
        )
    return {
        "number": number,
        "carrier": providers[0][0].key,
        "param": None,
        "tag": None,
        "track_info": {
            "shipping_info": {
                "shipper_address": _address(shipment.origin_country, None),
                "recipient_address": _address(
                    shipment.destination_country, shipment.destination_city
                ),
            },
            "latest_status": {
                "status": status,
                "sub_status": sub_status,
                "sub_status_descr": None,
            },
            "latest_event": newest[1] if newest else None,
            "time_metrics": _time_metrics([e for e, _ in every], final=shipment.final, now=now),
            "milestone": milestones,
            "misc_info": _misc(local),
            "tracking": {
                "providers_hash": _hash([p.key for p, _ in rendered]),
                "providers": [
                    _provider(post, [d for _, d in reversed(pairs)], now=now)
                    for post, pairs in rendered
                ],
            },
        },
    }


def _not_found(number: str, post: _Post, *, now: datetime) -> dict[str, Any]:
    """A registered number 17TRACK has no events for yet."""
    return {
        "number": number,
        "carrier": post.key,
        "param": None,
        "tag": None,
        "track_info": {
            "shipping_info": {
                "shipper_address": _address(None, None),
                "recipient_address": _address(None, None),
            },
            "latest_status": {
                "status": "NotFound",
                "sub_status": "NotFound_Other",
                "sub_status_descr": None,
            },
            "latest_event": None,
            "time_metrics": _time_metrics([], final=False, now=now),
            "milestone": [
                {"key_stage": key, "time_iso": None, "time_utc": None} for key in KEY_STAGES
            ],
            "misc_info": _misc(None),
            "tracking": {
                "providers_hash": _hash([post.key]),
                "providers": [_provider(post, [], now=now)],
            },
        },
    }


def _event(event: SimEvent, post: _Post, shipment: SimShipment) -> dict[str, Any]:
    sub_status = event_code(event, _SUB_STATUS, STATUSES.exception_codes)
    text_key: Stage | str = event.detail if event.stage is Stage.EXCEPTION else event.stage
    texts = _TEXTS[post.language] if post is not _CHINA_POST else _ENGLISH
    choices = texts.get(text_key) or _ENGLISH[text_key]
    local = event.at.astimezone(offset_tz(event.local_offset))
    time_iso = (
        local.replace(tzinfo=None).isoformat(timespec="seconds")
        if event.variant == _NAIVE_VARIANT
        else local.isoformat(timespec="seconds")
    )
    return {
        "time_iso": time_iso,
        "time_utc": _utc(event.at),
        "description": variant_of(choices, event).format(city=event.city),
        "location": event.city,
        "stage": _KEY_STAGE_OF.get(event.stage),
        "sub_status": sub_status,
        "address": _address(event.country, event.city),
    }


def _provider(post: _Post, events: list[dict[str, Any]], *, now: datetime) -> dict[str, Any]:
    slug = "".join(c for c in post.name.lower() if c.isalnum())
    return {
        "provider": {
            "key": post.key,
            "name": post.name,
            "alias": post.name,
            "tel": None,
            "homepage": f"https://{slug}.sandbox.invalid/",
            "country": post.country,
        },
        "service_type": None,
        "latest_sync_status": "Success",
        "latest_sync_time": _utc(now),
        "events_hash": _hash([e["time_utc"] for e in events]),
        "events": events,
    }


def _address(country: str | None, city: str | None) -> dict[str, Any]:
    return {
        "country": country,
        "state": None,
        "city": city,
        "street": None,
        "postal_code": None,
        "coordinates": {"longitude": None, "latitude": None},
    }


def _misc(local: tuple[str, _Post] | None) -> dict[str, Any]:
    return {
        "risk_factor": 0,
        "service_type": None,
        "weight_raw": None,
        "weight_kg": None,
        "pieces": None,
        "dimensions": None,
        "customer_number": None,
        "reference_number": None,
        "local_number": local[0] if local else None,
        "local_provider": local[1].name if local else None,
        "local_key": local[1].key if local else 0,
    }


def _time_metrics(events: Sequence[SimEvent], *, final: bool, now: datetime) -> dict[str, Any]:
    first = events[0].at if events else now
    last = events[-1].at if events else now
    transit = (last if final else now) - first
    return {
        "days_after_order": (now - first).days,
        "days_of_transit": transit.days,
        "days_of_transit_done": transit.days if final else 0,
        "days_after_last_update": (now - last).days,
        "estimated_delivery_date": {"source": None, "from": None, "to": None},
    }


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(values: Sequence[object]) -> int:
    return zlib.crc32(json.dumps(values).encode())

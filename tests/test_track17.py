"""17TRACK adapter: the carrier contract plus 17TRACK's two-call flow and its quirks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest
import respx

from carriers.base import CarrierInfo, SandboxRequest
from carriers.http import CarrierHttp
from carriers.kit import create_adapter
from carriers.track17 import CARRIER, NUMBER_PATTERNS, make_number
from carriers.track17.client import REGISTER_PATH, TRACKINFO_PATH
from carriers.track17.parse import parse, parse_register
from carriers.track17.sandbox import SANDBOX
from tests.carrier_contract import WORLD_NOW, CarrierContract
from tests.cassette import CASSETTES
from tracking.core.domain import (
    CarrierFailure,
    ErrorKind,
    NumberResult,
    ParsedEvent,
    Stage,
    TimeSource,
    TrackResult,
)
from tracking.core.exceptions import (
    AuthError,
    BadPayloadError,
    CarrierError,
    CarrierServerError,
    PermissionDeniedError,
    QuotaExhaustedError,
)
from tracking.core.numbers import s10_check_digit
from tracking.judge.milestones import chronological, milestone_times
from tracking.sandbox.server import SandboxOptions, SandboxServer
from tracking.sandbox.world import World, last_mile_number, number_for

BASE = "https://api.17track.net/track/v2.2"
NUMBER = "LM602913448CN"
TEST_TOKEN = "test-token-not-real"
_FACILITIES = (Stage.ORIGIN_FACILITY, Stage.DESTINATION_FACILITY)


class TestTrack17(CarrierContract):
    carrier: ClassVar[CarrierInfo] = CARRIER
    credentials: ClassVar[dict[str, Any]] = {"token": TEST_TOKEN}

    async def captured_request(
        self, numbers: Sequence[str], *, path: str = TRACKINFO_PATH, **overrides: Any
    ) -> SandboxRequest:
        """The adapter's request to `path` (default `gettrackinfo`), as the sandbox sees it.

        `gettrackinfo` is answered "not registered" for every number, so that the adapter
        goes on to `register`; the request to `path` is the one returned.
        """
        captured: list[httpx.Request] = []

        def reply(request: httpx.Request) -> httpx.Response:
            captured.append(request)
            if request.url.path.endswith(TRACKINFO_PATH):
                rejected = [_rejected(n, -18019902) for n in numbers]
                return httpx.Response(200, json=_envelope([], rejected=rejected))
            return httpx.Response(418)

        async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
            adapter, _ = self.make_adapter(client, max_attempts=1, **overrides)
            await adapter.track(numbers)
        request = next(r for r in captured if r.url.path.endswith(path))
        return SandboxRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.url.params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.content,
        )

    async def test_sandbox_accepts_both_requests_and_refuses_another_key(self) -> None:
        numbers = [make_number(i) for i in range(1, 4)]
        for path in (REGISTER_PATH, TRACKINFO_PATH):
            request = await self.captured_request(numbers, path=path, **SANDBOX.credentials)
            assert (request.method, request.path) == ("POST", f"/track/v2.2{path}")
            assert ("POST", request.path) in SANDBOX.routes
            assert SANDBOX.authorized(request)
            assert SANDBOX.numbers(request) == numbers
        assert not SANDBOX.authorized(await self.captured_request(numbers))

    def visible_events(self, shipment: Any) -> list[Any]:
        """17TRACK has no facility sub-status: sorting scans come back as `in_transit`."""
        return [
            replace(e, stage=Stage.IN_TRANSIT) if e.stage in _FACILITIES else e
            for e in shipment.events
        ]

    async def test_request_bodies_and_token_header(self) -> None:
        request = await self.captured_request([NUMBER], path=REGISTER_PATH)
        assert json.loads(request.body) == [{"number": NUMBER}]
        assert request.headers["17token"] == TEST_TOKEN
        assert request.headers["content-type"] == "application/json"

    async def test_http_400_with_error_envelope_is_carrier_error(self) -> None:
        reply = SANDBOX.render_error("bad_request")
        assert reply.status == 400
        with respx.mock(assert_all_called=False) as router:
            router.route().respond(reply.status, content=reply.body)
            results = await self.track([NUMBER])
        assert _failure(results[0]).kind is ErrorKind.CARRIER_ERROR
        assert "-18010013" in _failure(results[0]).message

    async def test_missing_token_fails_every_number_without_a_request(self) -> None:
        with respx.mock(assert_all_called=False) as router:
            route = router.route()
            results = await self.track([NUMBER, "LX000000000CN"], token=None)
        assert route.call_count == 0
        assert [_failure(r).kind for r in results] == [ErrorKind.AUTH, ErrorKind.AUTH]

    async def test_41_numbers_are_never_sent_in_one_call(self) -> None:
        numbers = [make_number(i) for i in range(41)]
        with respx.mock(assert_all_called=False) as router:
            route = router.route()
            with pytest.raises(ValueError, match="at most 40"):
                await self.track(numbers)
        assert route.call_count == 0
        assert self.carrier.batch_size == 40

    async def test_token_never_reaches_the_stored_exchanges(self) -> None:
        token = SANDBOX.credentials["token"]
        numbers = [number_for(make_number, s) for s in ("delivered", "multi_leg", "not_found")]
        results = await _through_sandbox(numbers, token=token)
        assert [r.ok for r in results] == [True, True, False]
        for result in results:
            assert len(result.exchanges) == 1  # numbers the sandbox knows are registered
            for exchange in result.exchanges:
                stored = " ".join(
                    [
                        exchange.url,
                        (exchange.request_body or b"").decode(),
                        exchange.body.decode(),
                        *(f"{k}: {v}" for k, v in exchange.headers),
                    ]
                )
                assert token not in stored


# -- the sandbox server end to end ----------------------------------------------------------


async def _through_sandbox(numbers: Sequence[str], *, token: str) -> list[NumberResult]:
    """Track `numbers` through the real sandbox server (ASGI, pinned clock)."""
    server = SandboxServer(
        {"17track": CARRIER}, SandboxOptions(now=WORLD_NOW, enforce_limits=False)
    )
    settings = CARRIER.settings_model(
        _env_file=None,
        token=token,
        base_url=server.base_url("17track"),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as client:
        http = CarrierHttp(
            client=client,
            carrier="17track",
            adapter_version=CARRIER.adapter_version,
            rate_limit=CARRIER.rate_limit,
            secrets=settings.secret_values(),
            max_attempts=1,
        )
        return await create_adapter(CARRIER, settings, http=http).track(numbers)


async def test_sandbox_server_tracks_a_last_mile_leg_as_the_destination_post() -> None:
    world = World(now=WORLD_NOW)
    parent = next(
        n
        for i in range(20)
        if (n := number_for(make_number, "multi_leg", i))
        and (s := world.shipment("17track", n)) is not None
        and s.last_mile is not None
        and s.destination_country == "RU"
        and s.final
    )
    token = SANDBOX.credentials["token"]
    (parent_result,) = await _through_sandbox([parent], token=token)
    assert isinstance(parent_result.outcome, TrackResult)
    (leg,) = parent_result.outcome.legs
    assert (leg.tracking_number, leg.carrier_name) == (last_mile_number(parent), "Russian Post")
    (leg_result,) = await _through_sandbox([leg.tracking_number], token=token)
    outcome = leg_result.outcome
    assert isinstance(outcome, TrackResult)
    leg_shipment = world.leg_shipment("17track", leg.tracking_number)
    assert leg_shipment is not None
    assert [e.occurred_at for e in chronological(outcome.events)] == [
        e.at for e in leg_shipment.events
    ]
    assert outcome.final is True
    assert outcome.legs == ()
    assert all(_is_cyrillic(e.description) for e in outcome.events)
    providers = json.loads(leg_result.exchanges[-1].body)["data"]["accepted"][0]["track_info"][
        "tracking"
    ]["providers"]
    assert [p["provider"]["name"] for p in providers] == ["Russian Post"]


async def test_sandbox_server_refuses_a_wrong_token() -> None:
    results = await _through_sandbox([make_number(1)], token="not-the-sandbox-key")
    assert _failure(results[0]).kind is ErrorKind.AUTH


# -- time provenance -----------------------------------------------------------------------


def test_time_iso_offset_and_time_utc_instant() -> None:
    event = _only(
        _track(_event(time_iso="2026-10-04T16:35:22+03:00", time_utc="2026-10-04T13:35:22Z"))
    )
    assert event.occurred_at == datetime(2026, 10, 4, 13, 35, 22, tzinfo=UTC)
    assert event.local_offset == 180
    assert event.time_source is TimeSource.EXPLICIT
    assert event.raw_time == "2026-10-04T16:35:22+03:00"
    assert event.local_time.isoformat() == "2026-10-04T16:35:22+03:00"


@pytest.mark.parametrize(
    ("time_iso", "time_utc", "country", "instant", "offset", "source"),
    [
        pytest.param(
            "2026-10-04T16:35:22",
            "2026-10-04T13:35:22Z",
            "RU",
            "2026-10-04T13:35:22Z",
            180,
            TimeSource.INFERRED,
            id="naive-iso-next-to-utc",
        ),
        pytest.param(
            "2026-10-04T16:35:22-07:00",
            None,
            "US",
            "2026-10-04T23:35:22Z",
            -420,
            TimeSource.EXPLICIT,
            id="iso-alone",
        ),
        pytest.param(
            None, "2026-10-04T13:35:22Z", "RU", "2026-10-04T13:35:22Z", None,
            TimeSource.UNKNOWN, id="utc-alone",
        ),
        pytest.param(
            None, "2026-10-04T13:35:22", "RU", "2026-10-04T13:35:22Z", None,
            TimeSource.UNKNOWN, id="utc-without-zone-is-utc",
        ),
        pytest.param(
            "2026-10-04T16:35:22", None, "CN", "2026-10-04T08:35:22Z", 480,
            TimeSource.INFERRED, id="naive-in-china-is-utc+8",
        ),
        pytest.param(
            "2026-10-04T16:35:22", None, "RU", "2026-10-04T16:35:22Z", None,
            TimeSource.UNKNOWN, id="naive-elsewhere-read-as-utc",
        ),
        pytest.param(
            "2026-10-04T16:35:22",
            "2026-10-04T13:34:01Z",
            "RU",
            "2026-10-04T13:34:01Z",
            None,
            TimeSource.UNKNOWN,
            id="odd-difference-is-no-offset",
        ),
    ],
)  # fmt: skip
def test_time_provenance(
    time_iso: str | None,
    time_utc: str | None,
    country: str,
    instant: str,
    offset: int | None,
    source: TimeSource,
) -> None:
    event = _only(_track(_event(time_iso=time_iso, time_utc=time_utc, country=country)))
    assert event.occurred_at == datetime.fromisoformat(instant)
    assert event.local_offset == offset
    assert event.time_source is source
    assert event.raw_time == (time_iso or time_utc)


def test_event_without_any_time_is_bad_payload() -> None:
    with pytest.raises(BadPayloadError):
        _track(_event(time_iso=None, time_utc=None))


# -- stages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "sub_status", "country", "expected"),
    [
        pytest.param("Departure", "InTransit_Departure", "CN", Stage.DEPARTED_ORIGIN, id="key"),
        pytest.param(
            "Arrival", "InTransit_Other", "RU", Stage.ARRIVED_DESTINATION, id="stage-wins"
        ),
        pytest.param(None, "InTransit_Arrival", "RU", Stage.ARRIVED_DESTINATION, id="sub-status"),
        pytest.param(None, "InTransit_CustomsProcessing", "CN", Stage.EXPORT_CUSTOMS, id="export"),
        pytest.param(None, "InTransit_CustomsReleased", "RU", Stage.IMPORT_CUSTOMS, id="import"),
        pytest.param(None, "InTransit_CustomsProcessing", None, Stage.IMPORT_CUSTOMS, id="nowhere"),
        pytest.param(None, "InTransit_Other", "CN", Stage.IN_TRANSIT, id="other"),
        pytest.param(None, "DeliveryFailure_InvalidAddress", "RU", Stage.DELIVERY_FAILED, id="df"),
        pytest.param(None, "Exception_Lost", "KZ", Stage.EXCEPTION, id="lost"),
        pytest.param(None, "Exception_Returning", "RU", Stage.RETURNING, id="returning"),
        pytest.param("Exception", "Exception_Damage", "RU", Stage.EXCEPTION, id="non-key-stage"),
        pytest.param(None, "Exception_Delayed", "CN", Stage.UNKNOWN, id="delay-is-unknown"),
        pytest.param(None, "InTransit_Teleported", "CN", Stage.UNKNOWN, id="unmapped"),
        pytest.param("Exception", None, "RU", Stage.UNKNOWN, id="unmapped-stage-alone"),
    ],
)
def test_stage_mapping(
    stage: str | None, sub_status: str | None, country: str | None, expected: Stage
) -> None:
    event = _only(_track(_event(stage=stage, sub_status=sub_status, country=country)))
    assert event.stage is expected
    assert event.code == (sub_status or stage)
    assert event.country == country


def test_text_is_classified_only_without_stage_and_sub_status() -> None:
    event = _only(_track(_event(stage=None, sub_status=None, description="Вручение адресату")))
    assert (event.stage, event.code) == (Stage.DELIVERED, "")


def test_unmapped_code_keeps_its_raw_code_and_text() -> None:
    event = _only(
        _track(
            _event(stage=None, sub_status="InTransit_Teleported", description="Таможенный осмотр")
        )
    )
    assert (event.stage, event.code, event.description) == (
        Stage.UNKNOWN,
        "InTransit_Teleported",
        "Таможенный осмотр",
    )


def test_available_for_pickup_is_not_delivered_even_under_a_delivered_status() -> None:
    result = _track(
        _event(stage="Arrival", sub_status="InTransit_Arrival", time_utc="2026-10-01T10:00:00Z"),
        _event(
            stage="AvailableForPickup",
            sub_status="AvailableForPickup_Other",
            time_utc="2026-10-03T10:00:00Z",
        ),
        status=("Delivered", "Delivered_Other"),
    )
    assert result.final is False
    assert milestone_times(result.events)["delivered"] is None


@pytest.mark.parametrize(
    ("status", "returned_at", "final"),
    [
        pytest.param(("Delivered", "Delivered_Other"), None, True, id="delivered-status"),
        pytest.param(("InTransit", "InTransit_Other"), None, False, id="in-transit"),
        pytest.param(
            ("Exception", "Exception_Returned"), "2026-10-09T01:00:00Z", True, id="returned"
        ),
    ],
)
def test_final(status: tuple[str, str], returned_at: str | None, final: bool) -> None:
    result = _track(_event(sub_status="InTransit_Other"), status=status, returned_at=returned_at)
    assert result.final is final


def test_events_of_every_provider_are_read_and_countries_kept() -> None:
    body = _body(
        _event(
            stage="Departure", sub_status="InTransit_Departure", time_utc="2026-10-01T00:00:00Z"
        ),
        providers=[
            ("China Post", [_event(stage="PickedUp", time_utc="2026-09-30T00:00:00Z")]),
            (
                "Russian Post",
                [
                    _event(stage="Delivered", country="RU", time_utc="2026-10-09T00:00:00Z"),
                    _event(stage="Arrival", country="RU", time_utc="2026-10-03T00:00:00Z"),
                ],
            ),
        ],
    )
    result = _result(body)
    events = chronological(result.events)
    assert [e.stage for e in events] == [
        Stage.PICKED_UP,
        Stage.DEPARTED_ORIGIN,
        Stage.ARRIVED_DESTINATION,
        Stage.DELIVERED,
    ]
    assert (result.origin_country, result.destination_country) == ("CN", "RU")
    assert result.carrier_status == "InTransit_Other"


# -- legs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("providers", "misc", "expected"),
    [
        pytest.param(
            ["China Post", "Russian Post"],
            {"local_number": "80091234567894", "local_provider": "Russian Post", "local_key": 7},
            [("80091234567894", "Russian Post")],
            id="local-provider",
        ),
        pytest.param(
            ["Russian Post", "China Post"],
            {"local_number": "80091234567894", "local_provider": None, "local_key": 2},
            [("80091234567894", "Russian Post")],
            id="by-key-whatever-the-order",
        ),
        pytest.param(
            ["China Post", "USPS"],
            {"local_number": "9400136108442157093826", "local_provider": None, "local_key": 0},
            [("9400136108442157093826", "USPS")],
            id="last-provider",
        ),
        pytest.param(
            ["China Post", "Russian Post"],
            {"local_number": NUMBER.lower(), "local_provider": "Russian Post", "local_key": 0},
            [],
            id="same-number",
        ),
        pytest.param(
            ["China Post"],
            {"local_number": "80091234567894", "local_provider": "China Post", "local_key": 0},
            [],
            id="one-provider",
        ),
        pytest.param(["China Post", "Russian Post"], {"local_number": None}, [], id="none"),
    ],
)
def test_last_mile_leg(
    providers: list[str], misc: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    body = _body(
        providers=[(name, [_event(stage="PickedUp")]) for name in providers],
        misc=misc,
    )
    result = _result(body)
    assert [(leg.tracking_number, leg.carrier_name) for leg in result.legs] == expected


# -- envelopes -----------------------------------------------------------------------------


def test_accepted_without_events_is_not_found_and_invalid_code_is_invalid_number() -> None:
    empty = _accepted(NUMBER, [], status=("NotFound", "NotFound_Other"))
    invalid = _accepted("LX000000000CN", [], status=("NotFound", "NotFound_InvalidCode"))
    output = parse(_dump(_envelope([empty, invalid])), requested=[NUMBER, "LX000000000CN"])
    assert _kind(output[NUMBER]) is ErrorKind.NOT_FOUND
    assert _kind(output["LX000000000CN"]) is ErrorKind.INVALID_NUMBER


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        pytest.param(-18019902, ErrorKind.NOT_FOUND, id="not-registered"),
        pytest.param(-18019909, ErrorKind.NOT_FOUND, id="no-info-yet"),
        pytest.param(-18010012, ErrorKind.INVALID_NUMBER, id="bad-format"),
        pytest.param(-18019907, ErrorKind.QUOTA, id="daily-limit"),
        pytest.param(-18019908, ErrorKind.QUOTA, id="quota-used-up"),
        pytest.param(-18010019, ErrorKind.CARRIER_ERROR, id="needs-postal-code"),
    ],
)
def test_rejections_are_typed(code: int, kind: ErrorKind) -> None:
    failure = parse(_dump(_envelope([], rejected=[_rejected(NUMBER, code)])))[NUMBER]
    assert isinstance(failure, CarrierFailure)
    assert failure.kind is kind
    assert str(code) in failure.message


def test_a_number_listed_twice_keeps_the_answer_with_events() -> None:
    items = [_accepted(NUMBER, []), _accepted(NUMBER, _departed()), _accepted(NUMBER, [])]
    assert isinstance(parse(_dump(_envelope(items)))[NUMBER], TrackResult)


def test_item_is_filed_under_the_requested_spelling() -> None:
    output = parse(_dump(_envelope([_accepted(NUMBER, _departed())])), requested=[NUMBER.lower()])
    assert list(output) == [NUMBER.lower()]


def test_register_body_gives_rejections_only() -> None:
    body = _dump(
        _register(
            [NUMBER],
            rejected=[_rejected("LX000000000CN", -18019901), _rejected("QQ1", -18010012)],
        )
    )
    assert parse(body) == parse_register(body)
    assert {n: f.kind for n, f in parse_register(body).items()} == {"QQ1": ErrorKind.INVALID_NUMBER}


@pytest.mark.parametrize(
    ("envelope", "error"),
    [
        pytest.param({"code": -18010002, "data": None}, AuthError, id="invalid-key"),
        pytest.param({"code": -18010005}, PermissionDeniedError, id="unauthorised"),
        pytest.param({"code": -18010001}, PermissionDeniedError, id="ip-not-whitelisted"),
        pytest.param({"code": -18019908, "data": {"errors": []}}, QuotaExhaustedError, id="quota"),
        pytest.param({"code": -18019907}, QuotaExhaustedError, id="daily-limit"),
        pytest.param({"code": -18010014}, CarrierServerError, id="more-than-40"),
        pytest.param({"code": -1, "data": "x"}, CarrierServerError, id="odd-envelope"),
        pytest.param(
            {"code": 0, "data": {"rejected": [{"number": NUMBER, "error": {"code": -18010014}}]}},
            CarrierServerError,
            id="more-than-40-per-number",
        ),
    ],
)
def test_error_envelope_raises_typed_error(
    envelope: dict[str, Any], error: type[CarrierError]
) -> None:
    with pytest.raises(error):
        parse(_dump(envelope))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[]", id="list"),
        pytest.param(b'{"data": {"accepted": []}}', id="no-code"),
        pytest.param(b'{"code": 0}', id="no-data"),
        pytest.param(b'{"code": 0, "data": {"accepted": [{"track_info": {}}]}}', id="no-number"),
        pytest.param(b'{"code": 0, "data": {"accepted": "x"}}', id="accepted-not-list"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_wrong_shape_is_bad_payload(body: bytes) -> None:
    with pytest.raises(BadPayloadError):
        parse(body)


def test_unreadable_time_is_bad_payload() -> None:
    with pytest.raises(BadPayloadError, match="unreadable"):
        _track(_event(time_iso="yesterday", time_utc=None))


# -- sandbox -------------------------------------------------------------------------------


def _sandbox_request(path: str, numbers: Sequence[str]) -> SandboxRequest:
    body = json.dumps([{"number": n} for n in numbers]).encode()
    return SandboxRequest("POST", f"/track/v2.2{path}", {}, {}, body)


def test_sandbox_register_detects_carriers_and_rejects_the_rest() -> None:
    numbers = [make_number(1), "QQ12345678", "bad number!"]
    request = _sandbox_request(REGISTER_PATH, numbers)
    reply = SANDBOX.render(request, [(n, None) for n in numbers], now=WORLD_NOW)
    data = json.loads(reply.body)["data"]
    assert [(a["number"], a["carrier"]) for a in data["accepted"]] == [(make_number(1), 3011)]
    assert [(r["number"], r["error"]["code"]) for r in data["rejected"]] == [
        ("QQ12345678", -18019903),
        ("bad number!", -18010012),
    ]
    assert parse_register(reply.body, requested=numbers).keys() == {"QQ12345678", "bad number!"}


def test_sandbox_gettrackinfo_unknown_numbers() -> None:
    undetected = "QQ12345678"
    unknown = number_for(make_number, "not_found")
    request = _sandbox_request(TRACKINFO_PATH, [unknown, undetected])
    reply = SANDBOX.render(request, [(unknown, None), (undetected, None)], now=WORLD_NOW)
    data = json.loads(reply.body)["data"]
    (item,) = data["accepted"]
    assert item["track_info"]["latest_status"]["status"] == "NotFound"
    assert [m["time_utc"] for m in item["track_info"]["milestone"]] == [None] * 9
    assert data["rejected"][0]["error"]["code"] == -18019902
    output = parse(reply.body)
    assert {n: _kind(o) for n, o in output.items()} == {
        unknown: ErrorKind.NOT_FOUND,
        undetected: ErrorKind.NOT_FOUND,
    }


def test_sandbox_leg_not_handed_over_yet_is_not_found() -> None:
    # The world hands every multi-leg parcel over within days; pretend this one is not yet.
    world = World(now=WORLD_NOW)
    leg = last_mile_number(number_for(make_number, "multi_leg"))
    known = world.lookup("17track", leg)
    assert known is not None
    assert known.is_leg
    assert not known.pending
    pending = dataclasses.replace(known, events=(), pending=True)
    request = _sandbox_request(TRACKINFO_PATH, [leg])
    reply = SANDBOX.render(request, [(leg, pending)], now=WORLD_NOW)
    (item,) = json.loads(reply.body)["data"]["accepted"]  # detected: the destination's post
    assert item["number"] == leg
    assert _kind(parse(reply.body)[leg]) is ErrorKind.NOT_FOUND


def test_sandbox_renders_every_milestone_and_the_local_number() -> None:
    world = World(now=WORLD_NOW)
    number = number_for(make_number, "multi_leg", 1)
    shipment = world.shipment("17track", number)
    assert shipment is not None
    assert shipment.last_mile is not None
    request = _sandbox_request(TRACKINFO_PATH, [number])
    reply = SANDBOX.render(request, [(number, shipment)], now=WORLD_NOW)
    info = json.loads(reply.body)["data"]["accepted"][0]["track_info"]
    assert [m["key_stage"] for m in info["milestone"]] == [
        "InfoReceived",
        "PickedUp",
        "Departure",
        "Arrival",
        "AvailableForPickup",
        "OutForDelivery",
        "Delivered",
        "Returning",
        "Returned",
    ]
    assert info["misc_info"]["local_number"] == shipment.last_mile.tracking_number
    names = [p["provider"]["name"] for p in info["tracking"]["providers"]]
    assert names == ["China Post", shipment.last_mile.carrier_name]
    for provider in info["tracking"]["providers"]:
        times = [e["time_utc"] for e in provider["events"]]
        assert times == sorted(times, reverse=True)  # newest first


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{", id="not-json"),
        pytest.param(b"[]", id="empty"),
        pytest.param(b'{"number": "X"}', id="object"),
        pytest.param(b'[{"num": "X"}]', id="no-number"),
        pytest.param(json.dumps([{"number": f"N{i:05d}"} for i in range(41)]).encode(), id="41"),
    ],
)
def test_sandbox_numbers_refuses_malformed_bodies(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"body|number"):
        SANDBOX.numbers(SandboxRequest("POST", "/track/v2.2/register", {}, {}, body))


def test_sandbox_error_replies() -> None:
    auth = SANDBOX.render_error("auth")
    assert (auth.status, json.loads(auth.body)["code"]) == (401, -18010002)
    limited = SANDBOX.render_error("rate_limited", retry_after=7)
    assert (limited.status, dict(limited.headers)) == (429, {"Retry-After": "7"})
    assert SANDBOX.render_error("server_error").status == 503
    with pytest.raises(CarrierServerError):
        parse(SANDBOX.render_error("bad_request").body)


# -- numbers and cassettes -------------------------------------------------------------------


def test_sandbox_numbers_are_valid_china_post_s10_that_do_not_look_sequential() -> None:
    numbers = [make_number(i) for i in range(3)]
    assert len(set(numbers)) == 3
    for number in numbers:
        assert NUMBER_PATTERNS[0].fullmatch(number)
        assert number.endswith("CN")
        assert int(number[10]) == s10_check_digit(number[2:10])
    assert numbers[1][2:10] != f"{int(numbers[0][2:10]) + 1:08d}"


def test_number_patterns_take_s10_and_last_mile_numbers() -> None:
    leg = last_mile_number(make_number(5))
    for number in (make_number(5), "RB123456785RU", leg, "9400136108442157093826"):
        assert any(p.fullmatch(number) for p in NUMBER_PATTERNS), number
    assert not any(p.fullmatch("LP00123987456012") for p in NUMBER_PATTERNS)


def test_cassettes_hold_no_credentials_and_redact_the_token_header() -> None:
    paths = sorted((CASSETTES / "17track").glob("*.yaml"))
    assert {p.stem for p in paths} >= {
        "delivered",
        "in_transit",
        "not_found",
        "returned",
        "customs_hold",
        "pickup_point",
        "multi_leg",
        "batch",
        "auth_failure",
        "rate_limited",
        "malformed",
    }
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert TEST_TOKEN not in text
        assert SANDBOX.credentials["token"] not in text
        assert text.count('17token: "[REDACTED]"') == text.count("- request:")


# -- helpers -------------------------------------------------------------------------------


def _failure(result: NumberResult) -> CarrierFailure:
    assert isinstance(result.outcome, CarrierFailure), result.outcome
    return result.outcome


def _kind(outcome: TrackResult | CarrierFailure) -> ErrorKind:
    assert isinstance(outcome, CarrierFailure), outcome
    return outcome.kind


def _is_cyrillic(text: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in text)


def _dump(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def _event(
    *,
    stage: str | None = "PickedUp",
    sub_status: str | None = "InTransit_PickedUp",
    time_iso: str | None = None,
    time_utc: str | None = "2026-10-04T13:35:22Z",
    country: str | None = "CN",
    description: str = "Parcel scanned",
) -> dict[str, Any]:
    return {
        "time_iso": time_iso,
        "time_utc": time_utc,
        "description": description,
        "location": "Somewhere",
        "stage": stage,
        "sub_status": sub_status,
        "address": {"country": country, "state": None, "city": None},
    }


def _departed() -> list[dict[str, Any]]:
    return [_event(stage="Departure", sub_status="InTransit_Departure")]


def _accepted(
    number: str,
    events: list[dict[str, Any]],
    *,
    status: tuple[str, str] = ("InTransit", "InTransit_Other"),
    providers: list[tuple[str, list[dict[str, Any]]]] | None = None,
    misc: dict[str, Any] | None = None,
    returned_at: str | None = None,
    synced: str | None = "2026-10-05T00:00:00Z",
) -> dict[str, Any]:
    """One `gettrackinfo` accepted item; events are given newest first, as 17TRACK sends them.

    `synced` is the providers' `latest_sync_time` (None: 17TRACK has not fetched yet).
    """
    keys = {"China Post": 1, "Russian Post": 2, "USPS": 3}
    listed = providers if providers is not None else [("China Post", events)]
    milestone = [{"key_stage": "Returned", "time_iso": None, "time_utc": returned_at}]
    return {
        "number": number,
        "carrier": 3011,
        "track_info": {
            "shipping_info": {
                "shipper_address": {"country": "CN"},
                "recipient_address": {"country": "RU"},
            },
            "latest_status": {"status": status[0], "sub_status": status[1]},
            "milestone": milestone,
            "misc_info": misc or {},
            "tracking": {
                "providers": [
                    {
                        "provider": {"key": keys.get(name, 9), "name": name},
                        "latest_sync_time": synced,
                        "events": evs,
                    }
                    for name, evs in listed
                ]
            },
        },
    }


def _envelope(
    accepted: list[dict[str, Any]], *, rejected: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"code": 0, "data": {"accepted": accepted, "rejected": rejected or []}}


def _register(
    numbers: Sequence[str], *, rejected: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    accepted = [{"origin": 1, "number": n, "carrier": 3011} for n in numbers]
    return {"code": 0, "data": {"accepted": accepted, "rejected": rejected or []}}


def _rejected(number: str, code: int) -> dict[str, Any]:
    return {"number": number, "error": {"code": code, "message": f"refused {number}"}}


def _body(
    *events: dict[str, Any],
    status: tuple[str, str] = ("InTransit", "InTransit_Other"),
    providers: list[tuple[str, list[dict[str, Any]]]] | None = None,
    misc: dict[str, Any] | None = None,
    returned_at: str | None = None,
) -> bytes:
    if providers is not None and events:
        providers = [(providers[0][0], [*events, *providers[0][1]]), *providers[1:]]
    item = _accepted(
        NUMBER,
        list(events),
        status=status,
        providers=providers,
        misc=misc,
        returned_at=returned_at,
    )
    return _dump(_envelope([item]))


def _result(body: bytes) -> TrackResult:
    outcome = parse(body, requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, TrackResult), outcome
    return outcome


def _track(*events: dict[str, Any], **fields: Any) -> TrackResult:
    return _result(_body(*events, **fields))


def _only(result: TrackResult) -> ParsedEvent:
    (event,) = result.events
    return event

"""Yanwen adapter: the carrier contract plus Yanwen's own quirks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import httpx
import pytest
import respx

from carriers.base import CarrierInfo, SandboxRequest
from carriers.yanwen import CARRIER, NUMBER_PATTERNS, make_number
from carriers.yanwen.parse import STAGE_MAP, parse, parse_time_zone, stage_of
from carriers.yanwen.sandbox import SANDBOX
from tests.carrier_contract import WORLD_NOW, CarrierContract
from tracking.core.domain import (
    CarrierFailure,
    ErrorKind,
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
    RateLimitedError,
)
from tracking.core.numbers import s10_check_digit
from tracking.judge.milestones import chronological, milestone_times
from tracking.sandbox.world import World, number_for

NUMBER = "UY806142573YP"


class TestYanwen(CarrierContract):
    carrier: ClassVar[CarrierInfo] = CARRIER
    # The sandbox's customer number: invented, and what `authorized` checks.
    credentials: ClassVar[dict[str, Any]] = {"customer_number": "SANDBOX-YW-100"}

    async def test_request_sends_comma_joined_nums_and_the_raw_customer_number(self) -> None:
        request = await self.captured_request(["UY100000001YP", "UY100000002YP"])
        assert (request.method, request.path) == ("GET", "/api/tracking")
        assert request.query == {"nums": "UY100000001YP,UY100000002YP"}
        assert request.headers["authorization"] == "SANDBOX-YW-100"  # no "Basic"

    async def test_missing_customer_number_fails_every_number_without_a_request(self) -> None:
        with respx.mock(assert_all_called=False) as router:
            route = router.route()
            results = await self.track([NUMBER, make_number(2)], customer_number=None)
        assert route.call_count == 0
        assert [r.tracking_number for r in results] == [NUMBER, make_number(2)]
        for result in results:
            assert isinstance(result.outcome, CarrierFailure)
            assert result.outcome.kind is ErrorKind.AUTH
            assert result.exchanges == ()

    async def test_sandbox_refuses_another_customer_number(self) -> None:
        request = await self.captured_request([NUMBER])
        forged = SandboxRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            headers={**request.headers, "authorization": "SOMEONE-ELSE"},
            body=request.body,
        )
        assert not SANDBOX.authorized(forged)

    @pytest.mark.parametrize("status", [401, 403])
    async def test_http_refusal_is_auth(self, status: int) -> None:
        with respx.mock(assert_all_called=False) as router:
            router.route().respond(status, json={"code": status, "message": "denied"})
            results = await self.track([NUMBER])
        assert isinstance(results[0].outcome, CarrierFailure)
        assert results[0].outcome.kind is ErrorKind.AUTH

    async def test_http_400_with_error_envelope_is_carrier_error(self) -> None:
        reply = SANDBOX.render_error("bad_request")
        assert reply.status == 400
        with respx.mock(assert_all_called=False) as router:
            router.route().respond(reply.status, content=reply.body)
            results = await self.track([NUMBER])
        assert isinstance(results[0].outcome, CarrierFailure)
        assert results[0].outcome.kind is ErrorKind.CARRIER_ERROR
        assert results[0].exchanges[0].status == 400

    async def test_customer_number_never_reaches_the_stored_exchange(self) -> None:
        secret = "YW-CUST-7730419"
        with respx.mock(assert_all_called=False) as router:
            route = router.route().respond(200, content=_body(_checkpoint("PU10", T0_LOCAL)))
            results = await self.track([NUMBER], customer_number=secret)
        assert route.calls.last.request.headers["authorization"] == secret
        (exchange,) = results[0].exchanges
        stored = " ".join(
            [exchange.url, (exchange.request_body or b"").decode(), repr(exchange.headers)]
        )
        assert secret not in stored
        assert secret.encode() not in exchange.body


# -- helpers -------------------------------------------------------------------------------

T0_LOCAL = "2026-05-12T05:30:15"


def _checkpoint(
    code: str, stamp: str, *, tz: str | None = "+8", message: str = "x", location: str = ""
) -> dict[str, Any]:
    item: dict[str, Any] = {"time_stamp": stamp}
    if tz is not None:
        item["time_zone"] = tz
    item.update({"tracking_status": code, "message": message, "location": location})
    return item


def _body(*checkpoints: dict[str, Any], number: str = NUMBER, **fields: Any) -> bytes:
    """A one-item success body; checkpoints as given (oldest first, as the sandbox sends)."""
    item = {
        "tracking_number": number,
        "tracking_status": checkpoints[-1]["tracking_status"] if checkpoints else "OR10",
        "last_mile_tracking_expected": False,
        **fields,
        "checkpoints": list(checkpoints),
    }
    return json.dumps({"code": 0, "message": "success", "result": [item]}).encode()


def _track(body: bytes) -> TrackResult:
    outcome = parse(body, requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, TrackResult), outcome
    return outcome


def _only(result: TrackResult) -> ParsedEvent:
    (event,) = result.events
    return event


def _day(n: int) -> str:
    return f"2026-05-{10 + n:02d}T08:00:00"


# -- time convention: naive time_stamp plus a separate time_zone ----------------------------


@pytest.mark.parametrize(
    ("tz", "offset", "instant"),
    [
        pytest.param("+8", 480, datetime(2026, 5, 11, 21, 30, 15, tzinfo=UTC), id="+8"),
        pytest.param("-5", -300, datetime(2026, 5, 12, 10, 30, 15, tzinfo=UTC), id="-5"),
        pytest.param("+5:30", 330, datetime(2026, 5, 12, 0, 0, 15, tzinfo=UTC), id="+5:30"),
        pytest.param("+0", 0, datetime(2026, 5, 12, 5, 30, 15, tzinfo=UTC), id="+0"),
        pytest.param("+3", 180, datetime(2026, 5, 12, 2, 30, 15, tzinfo=UTC), id="+3"),
    ],
)
def test_time_stamp_is_local_time_at_the_given_time_zone(
    tz: str, offset: int, instant: datetime
) -> None:
    event = _only(_track(_body(_checkpoint("LH50", T0_LOCAL, tz=tz))))
    assert event.occurred_at == instant
    assert event.local_offset == offset
    assert event.time_source is TimeSource.EXPLICIT
    assert event.local_time.replace(tzinfo=None).isoformat() == T0_LOCAL
    assert event.raw_time == f"{T0_LOCAL} {tz}"


def test_minus_five_event_keeps_its_new_york_wall_clock() -> None:
    event = _only(_track(_body(_checkpoint("LM40", "2026-09-10T14:21:09", tz="-5"))))
    assert event.local_time.isoformat() == "2026-09-10T14:21:09-05:00"
    assert event.occurred_at == datetime(2026, 9, 10, 19, 21, 9, tzinfo=UTC)


def test_missing_time_zone_is_beijing_time_by_convention() -> None:
    event = _only(_track(_body(_checkpoint("OR10", T0_LOCAL, tz=None))))
    assert event.occurred_at == datetime(2026, 5, 11, 21, 30, 15, tzinfo=UTC)
    assert (event.local_offset, event.time_source) == (480, TimeSource.CARRIER_CONVENTION)
    assert event.raw_time == T0_LOCAL


def test_unreadable_time_zone_is_unknown_not_explicit() -> None:
    event = _only(_track(_body(_checkpoint("LH50", T0_LOCAL, tz="Europe/Moscow"))))
    assert (event.local_offset, event.time_source) == (None, TimeSource.UNKNOWN)
    assert event.occurred_at == datetime(2026, 5, 11, 21, 30, 15, tzinfo=UTC)  # best guess
    assert event.raw_time == f"{T0_LOCAL} Europe/Moscow"


def test_numeric_time_zone_is_read() -> None:
    raw = {**_checkpoint("LH50", T0_LOCAL), "time_zone": -3}
    event = _only(_track(_body(raw)))
    assert event.local_offset == -180
    assert event.raw_time == f"{T0_LOCAL} -3"


def test_offset_inside_the_time_stamp_wins() -> None:
    event = _only(_track(_body(_checkpoint("LM40", "2026-05-12T05:30:15+03:00", tz="+8"))))
    assert event.occurred_at == datetime(2026, 5, 12, 2, 30, 15, tzinfo=UTC)
    assert (event.local_offset, event.time_source) == (180, TimeSource.EXPLICIT)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("+8", 480),
        ("8", 480),
        ("-5", -300),
        ("+5:30", 330),
        ("+0530", 330),
        ("+05:45", 345),
        ("-9.5", -570),
        ("UTC+3", 180),
        ("+0", 0),
        ("+15", None),
        ("+5:75", None),
        ("Asia/Shanghai", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time_zone(text: str | None, minutes: int | None) -> None:
    assert parse_time_zone(text) == minutes


# -- stages: the traps -----------------------------------------------------------------------


def test_international_hub_is_not_arrival_and_airline_is_not_departure() -> None:
    result = _track(
        _body(
            _checkpoint("SC20", _day(0)),
            _checkpoint("LH10", _day(1)),
            _checkpoint("LH20", _day(2)),
            _checkpoint("LH33", _day(3), tz="+4"),
            _checkpoint("LH30", _day(4), tz="+4"),
            _checkpoint("LH40", _day(5), tz="+4"),
        )
    )
    assert [e.stage for e in result.events] == [
        Stage.ORIGIN_FACILITY,
        Stage.ORIGIN_FACILITY,
        Stage.DEPARTED_ORIGIN,
        Stage.IN_TRANSIT,
        Stage.IN_TRANSIT,
        Stage.IN_TRANSIT,
    ]
    times = milestone_times(result.events)
    assert times["departed_origin"] is not None
    assert times["arrived_destination"] is None


def test_pickup_point_is_not_delivered() -> None:
    result = _track(
        _body(
            _checkpoint("LH50", _day(0), tz="+2"),
            _checkpoint("LM20", _day(1), tz="+2"),
            _checkpoint("LM30", _day(2), tz="+2"),
        )
    )
    assert result.events[-1].stage is Stage.AVAILABLE_FOR_PICKUP
    assert result.final is False
    assert milestone_times(result.events)["delivered"] is None


@pytest.mark.parametrize(
    ("code", "stage", "final"),
    [
        pytest.param("LM40", Stage.DELIVERED, True, id="delivered"),
        pytest.param("LH50", Stage.ARRIVED_DESTINATION, False, id="arrival"),
        pytest.param("LH20", Stage.DEPARTED_ORIGIN, False, id="departure"),
        pytest.param("SC40", Stage.ORIGIN_FACILITY, False, id="handover-is-origin-facility"),
        pytest.param("LM32", Stage.IMPORT_CUSTOMS, False, id="awaiting-duty"),
        pytest.param("LM60", Stage.IN_TRANSIT, False, id="delay"),
        pytest.param("LM75", Stage.EXCEPTION, False, id="refused"),
        pytest.param("LM85", Stage.EXCEPTION, False, id="lost"),
        pytest.param("LM90", Stage.RETURNING, False, id="returning"),
        pytest.param("SC36", Stage.RETURNED, True, id="returned-by-yanwen"),
        pytest.param("PU30", Stage.EXCEPTION, False, id="pickup-failed"),
        pytest.param("lm40 ", Stage.DELIVERED, True, id="case-and-space"),
    ],
)
def test_code_rules(code: str, stage: Stage, final: bool) -> None:
    result = _track(_body(_checkpoint(code, T0_LOCAL)))
    assert _only(result).stage is stage
    assert result.final is final


@pytest.mark.parametrize("code", ["OTHER", "ZZ99", ""])
def test_unmapped_code_is_unknown_with_raw_code_and_text_kept(code: str) -> None:
    event = _only(_track(_body(_checkpoint(code, T0_LOCAL, message="包裹信息更新"))))
    assert event.stage is Stage.UNKNOWN
    assert event.code == code
    assert event.description == "包裹信息更新"
    assert event.country is None


def test_delivered_item_status_is_final_even_without_the_checkpoint() -> None:
    result = _track(_body(_checkpoint("LM25", T0_LOCAL), tracking_status="LM40"))
    assert result.final is True
    assert result.carrier_status == "LM40"
    assert milestone_times(result.events)["delivered"] is None  # proof still needs the event


def test_checkpoint_order_is_kept_and_chronology_sorts_it() -> None:
    result = _track(_body(_checkpoint("LH20", _day(2)), _checkpoint("PU10", _day(0))))
    assert [e.code for e in result.events] == ["LH20", "PU10"]
    assert [e.code for e in chronological(result.events)] == ["PU10", "LH20"]


def test_every_documented_code_has_a_stage() -> None:
    documented = [
        *("OR10", "PU10", "PU30"),
        *("SC10", "SC20", "SC40", "SC45", "SC65", "SC70", "SC30", "SC35", "SC36", "SC37"),
        *("EC10", "EC20", "EC30"),
        *("LH10", "LH20", "LH21", "LH22", "LH30", "LH33", "LH40", "LH50"),
        *("IC50", "IC60", "IC70"),
        *("LM10", "LM11", "LM12", "LM13", "LM14", "LM15", "LM20", "LM25", "LM30", "LM32"),
        *("LM40", "LM50", "LM51", "LM52", "LM53", "LM60", "LM61", "LM65", "LM70"),
        *("LM75", "LM76", "LM85", "LM90", "LM91", "LM92", "LM93"),
    ]
    assert {c for c in documented if stage_of(c) is Stage.UNKNOWN} == set()
    assert set(documented) | {"OTHER"} == set(STAGE_MAP)


# -- legs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "messages", "expected"),
    [
        pytest.param(
            {"last_mile_tracking_number": "9400136105830917452816", "last_mile_carrier": "USPS"},
            (),
            ["9400136105830917452816"],
            id="field",
        ),
        pytest.param(
            {}, ("已交接目的国承运商，新单号：RB204718353RU",), ["RB204718353RU"], id="sc40"
        ),
        pytest.param(
            {"last_mile_tracking_number": "RB204718353RU"},
            ("Handed over, new tracking number RB204718353RU",),
            ["RB204718353RU"],
            id="deduplicated",
        ),
        pytest.param({"last_mile_tracking_number": NUMBER}, (), [], id="same-as-own-number"),
        pytest.param({}, ("已交接目的国承运商",), [], id="sc40-without-number"),
    ],
)
def test_last_mile_legs(
    fields: dict[str, str], messages: tuple[str, ...], expected: list[str]
) -> None:
    checkpoints = [_checkpoint("SC40", _day(i), message=m) for i, m in enumerate(messages)]
    result = _track(_body(*checkpoints, **fields))
    assert [leg.tracking_number for leg in result.legs] == expected


def test_number_in_a_message_of_another_code_is_not_a_leg() -> None:
    raw = _checkpoint("LM20", T0_LOCAL, message="new tracking number RB204718353RU")
    assert _track(_body(raw)).legs == ()


# -- envelope shapes -------------------------------------------------------------------------


def test_notfound_item_is_not_found_and_others_in_the_batch_are_not() -> None:
    other = "UY300000018YP"
    body = json.dumps(
        {
            "code": 0,
            "message": "success",
            "result": [
                {"tracking_number": NUMBER, "tracking_status": "NOTFOUND", "checkpoints": []},
                {
                    "tracking_number": other,
                    "tracking_status": "PU10",
                    "checkpoints": [_checkpoint("PU10", T0_LOCAL)],
                },
            ],
        }
    ).encode()
    output = parse(body, requested=[NUMBER, other])
    assert isinstance(output[NUMBER], CarrierFailure)
    assert output[NUMBER].kind is ErrorKind.NOT_FOUND
    assert isinstance(output[other], TrackResult)


def test_known_number_without_checkpoints_is_a_result() -> None:
    result = _track(_body())
    assert (result.events, result.final) == ((), False)


def test_item_is_filed_under_the_requested_spelling() -> None:
    output = parse(_body(_checkpoint("PU10", T0_LOCAL)), requested=[NUMBER.lower()])
    assert list(output) == [NUMBER.lower()]


@pytest.mark.parametrize(
    ("envelope", "error"),
    [
        pytest.param({"code": 401, "message": "Unauthorized"}, AuthError, id="401"),
        pytest.param({"code": "1002", "message": "客户号不存在"}, AuthError, id="customer-zh"),
        pytest.param({"code": 7, "message": "invalid token"}, AuthError, id="token"),
        pytest.param({"code": 429, "message": "slow down"}, RateLimitedError, id="429"),
        pytest.param({"code": 9, "message": "请求过于频繁"}, RateLimitedError, id="frequent"),
        pytest.param({"code": 500, "message": "Internal error"}, CarrierServerError, id="500"),
        pytest.param({"code": -1}, CarrierServerError, id="no-message"),
    ],
)
def test_non_zero_code_raises_typed_error(
    envelope: dict[str, Any], error: type[CarrierError]
) -> None:
    with pytest.raises(error):
        parse(json.dumps({**envelope, "result": None}).encode())


def test_string_zero_code_is_success() -> None:
    body = json.dumps({"code": "0", "result": []}).encode()
    assert parse(body, requested=["UY123456785YP"]) == {}  # the adapter files it: not found
    # Read on its own, an answer naming no number is refused, never an empty success.
    with pytest.raises(BadPayloadError, match="names no tracking number"):
        parse(body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[]", id="list"),
        pytest.param(b'{"message": "success", "result": []}', id="no-code"),
        pytest.param(b'{"code": 0, "message": "success"}', id="no-result"),
        pytest.param(b'{"code": 0, "result": [{"checkpoints": []}]}', id="no-number"),
        pytest.param(
            b'{"code": 0, "result": [{"tracking_number": "X", "checkpoints": '
            b'[{"time_stamp": "soon", "tracking_status": "PU10"}]}]}',
            id="time",
        ),
        pytest.param(
            b'{"code": 0, "result": [{"tracking_number": "X", "checkpoints": '
            b'[{"tracking_status": "PU10"}]}]}',
            id="no-time",
        ),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_wrong_shape_is_bad_payload(body: bytes) -> None:
    with pytest.raises(BadPayloadError):
        parse(body)


# -- sandbox ---------------------------------------------------------------------------------


def _rendered(scenario: str) -> dict[str, Any]:
    number = number_for(make_number, scenario)
    world = World(now=WORLD_NOW)
    request = SandboxRequest("GET", "/api/tracking", {"nums": number}, {}, b"")
    reply = SANDBOX.render(request, [(number, world.shipment("yanwen", number))], now=WORLD_NOW)
    data: dict[str, Any] = json.loads(reply.body)
    assert data["code"] == 0
    (item,) = data["result"]
    return item


def test_sandbox_mixes_chinese_origin_and_english_destination_messages() -> None:
    item = _rendered("delivered")
    by_code = {c["tracking_status"]: c["message"] for c in item["checkpoints"]}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in by_code["PU10"])
    assert by_code["LM40"].isascii()


def test_sandbox_time_zones_are_each_events_local_offset() -> None:
    item = _rendered("delivered")
    zones = {c["time_zone"] for c in item["checkpoints"]}
    assert "+8" in zones
    assert len(zones) >= 2  # origin and destination differ for every sandbox destination
    for checkpoint in item["checkpoints"]:
        assert "+" not in checkpoint["time_stamp"]  # the stamp itself is naive


def test_sandbox_sends_checkpoints_oldest_first() -> None:
    item = _rendered("in_transit")
    instants = [
        datetime.fromisoformat(c["time_stamp"]).replace(
            tzinfo=timezone(timedelta(minutes=parse_time_zone(c["time_zone"]) or 0))
        )
        for c in item["checkpoints"]
    ]
    assert instants == sorted(instants)
    assert item["tracking_status"] == item["checkpoints"][-1]["tracking_status"]


def test_sandbox_unknown_number_is_a_notfound_item() -> None:
    item = _rendered("not_found")
    assert (item["tracking_status"], item["checkpoints"]) == ("NOTFOUND", [])


def test_sandbox_reveals_the_last_mile_number_in_its_field() -> None:
    world = World(now=WORLD_NOW)
    for index in range(3):
        number = number_for(make_number, "multi_leg", index)
        shipment = world.shipment("yanwen", number)
        assert shipment is not None
        if shipment.last_mile is None:
            continue
        item = _rendered_for(number, shipment)
        assert item["last_mile_tracking_number"] == shipment.last_mile.tracking_number
        assert item["last_mile_tracking_expected"] is True
        return
    pytest.fail("no handed-over multi-leg shipment in the first three")


def _rendered_for(number: str, shipment: Any) -> dict[str, Any]:
    request = SandboxRequest("GET", "/api/tracking", {"nums": number}, {}, b"")
    reply = SANDBOX.render(request, [(number, shipment)], now=WORLD_NOW)
    item: dict[str, Any] = json.loads(reply.body)["result"][0]
    return item


@pytest.mark.parametrize("query", [{}, {"nums": " , "}, {"nums": ",".join(["UY1"] * 21)}])
def test_sandbox_rejects_bad_nums(query: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"nums|numbers"):
        SANDBOX.numbers(SandboxRequest("GET", "/api/tracking", query, {}, b""))


# -- numbers ---------------------------------------------------------------------------------


def test_sandbox_numbers_are_yp_numbers_with_a_valid_check_digit() -> None:
    numbers = [make_number(i) for i in range(5)]
    assert len(set(numbers)) == 5
    for number in numbers:
        assert NUMBER_PATTERNS[0].fullmatch(number)
        assert int(number[10]) == s10_check_digit(number[2:10])


@pytest.mark.parametrize(
    "number", ["UY806142573YP", "YD123456789YW", "6A12345678901", "AA123456789YR", "LW123456789CN"]
)
def test_number_patterns_recognise_yanwen_shapes(number: str) -> None:
    assert any(p.fullmatch(number) for p in NUMBER_PATTERNS)


def test_tracking_page_url() -> None:
    assert CARRIER.public_url(NUMBER) == f"https://track.yw56.com.cn/en/querydel?nums={NUMBER}"


async def test_http_transport_error_message_does_not_leak_the_customer_number() -> None:
    secret = "YW-CUST-0099"
    contract = TestYanwen()
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=httpx.ConnectError(f"refused for {secret}"))
        results = await contract.track([NUMBER], customer_number=secret)
    assert isinstance(results[0].outcome, CarrierFailure)
    assert secret not in results[0].outcome.message

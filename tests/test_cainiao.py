"""Cainiao adapter: the carrier contract plus Cainiao's own quirks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
import respx

from carriers.base import CarrierInfo
from carriers.cainiao import CARRIER, NUMBER_PATTERNS, make_number
from carriers.cainiao.parse import parse
from carriers.cainiao.sandbox import SANDBOX
from tests.carrier_contract import CarrierContract
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
from tracking.judge.milestones import chronological, milestone_times

NUMBER = "LP00123987456012"
T0 = datetime(2026, 5, 11, 21, 30, 15, tzinfo=UTC)


class TestCainiao(CarrierContract):
    carrier: ClassVar[CarrierInfo] = CARRIER
    refusal_kind: ClassVar[ErrorKind] = ErrorKind.BLOCKED

    async def test_request_sends_comma_joined_numbers_and_lang(self) -> None:
        request = await self.captured_request(["LP00000000000001", "LP00000000000002"])
        assert (request.method, request.path) == ("GET", "/global/detail.json")
        assert request.query == {"mailNos": "LP00000000000001,LP00000000000002", "lang": "en-US"}

    async def test_http_400_with_error_envelope_is_carrier_error(self) -> None:
        reply = SANDBOX.render_error("bad_request")
        assert reply.status == 400
        with respx.mock(assert_all_called=False) as router:
            router.route().respond(reply.status, content=reply.body)
            results = await self.track([NUMBER])
        assert isinstance(results[0].outcome, CarrierFailure)
        assert results[0].outcome.kind is ErrorKind.CARRIER_ERROR
        assert results[0].exchanges[0].status == 400


# -- helpers -------------------------------------------------------------------------------


def _event(code: str, at: datetime, *, tz: str = "GMT+8", desc: str = "x") -> dict[str, Any]:
    """One `detailList` entry; `timeStr` is `at` at UTC+8, as Cainiao always writes it."""
    return {
        "time": int(at.timestamp() * 1000),
        "timeStr": at.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S"),
        "desc": desc,
        "standerdDesc": f"standard {desc}",
        "descTitle": "Carrier note:",
        "timeZone": tz,
        "actionCode": code,
    }


def _body(*events: dict[str, Any], **fields: Any) -> bytes:
    """A one-module success body; `events` are given oldest first and sent newest first."""
    module = {
        "mailNo": NUMBER,
        "mailNoSource": "AE",
        "originCountry": "Mainland China",
        "destCountry": "Russia",
        "status": "TRANSITING",
        "detailList": list(reversed(events)),
        **fields,
    }
    return json.dumps({"module": [module], "success": True}).encode()


def _track(body: bytes) -> TrackResult:
    outcome = parse(body, requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, TrackResult), outcome
    return outcome


def _only(result: TrackResult) -> ParsedEvent:
    (event,) = result.events
    return event


# -- time convention -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "offset", "source"),
    [
        pytest.param("GMT+3", 180, TimeSource.EXPLICIT, id="gmt+3"),
        pytest.param("GMT+03:00", 180, TimeSource.EXPLICIT, id="gmt+03:00"),
        pytest.param("GMT+8", 480, TimeSource.EXPLICIT, id="gmt+8"),
        pytest.param("GMT+0", 0, TimeSource.EXPLICIT, id="gmt+0"),
        pytest.param("GMT-5", -300, TimeSource.EXPLICIT, id="gmt-5"),
        pytest.param("GMT+05:30", 330, TimeSource.EXPLICIT, id="gmt+05:30"),
        pytest.param("Europe/Moscow", None, TimeSource.UNKNOWN, id="unparseable"),
        pytest.param("", None, TimeSource.UNKNOWN, id="empty"),
    ],
)
def test_instant_is_epoch_time_not_timestr_read_in_timezone(
    tz: str, offset: int | None, source: TimeSource
) -> None:
    raw = _event("LH_ARRIVE", T0, tz=tz)
    event = _only(_track(_body(raw)))
    assert raw["timeStr"] == "2026-05-12 05:30:15"  # UTC+8, whatever timeZone says
    assert event.occurred_at == T0
    assert event.local_offset == offset
    assert event.time_source is source
    assert event.raw_time == f"2026-05-12 05:30:15 {tz}".strip()


def test_gmt3_event_shows_moscow_local_time() -> None:
    event = _only(_track(_body(_event("GTMS_ACCEPT", T0, tz="GMT+3"))))
    assert event.local_time.isoformat() == "2026-05-12T00:30:15+03:00"


def test_epoch_time_wins_over_a_disagreeing_timestr() -> None:
    raw = {**_event("LH_DEPART", T0), "timeStr": "2026-01-01 00:00:00"}
    assert _only(_track(_body(raw))).occurred_at == T0


def test_missing_epoch_falls_back_to_timestr_at_utc8() -> None:
    raw = _event("LH_DEPART", T0)
    del raw["time"]
    assert _only(_track(_body(raw))).occurred_at == T0


# -- stages --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["GTMS_STA_SIGNED", "GSTA_INBOUND"])
def test_pickup_point_acceptance_is_not_delivered(code: str) -> None:
    result = _track(
        _body(
            _event("LH_ARRIVE", T0, tz="GMT+3"),
            _event("GTMS_ACCEPT", T0 + timedelta(days=2), tz="GMT+3"),
            _event(code, T0 + timedelta(days=4), tz="GMT+3"),
        )
    )
    assert result.events[-1].stage is Stage.AVAILABLE_FOR_PICKUP
    assert result.final is False
    assert milestone_times(result.events)["delivered"] is None


@pytest.mark.parametrize(
    ("codes", "final"),
    [
        pytest.param(("GTMS_DO_DEPART",), True, id="status-alone"),
        pytest.param(("GTMS_DO_DEPART", "GTMS_STA_SIGNED"), False, id="waiting-at-pickup-point"),
    ],
)
def test_delivered_status_is_final_unless_waiting_at_a_pickup_point(
    codes: tuple[str, ...], final: bool
) -> None:
    events = [_event(code, T0 + timedelta(days=i)) for i, code in enumerate(codes)]
    assert _track(_body(*events, status="DELIVERED")).final is final


def test_import_customs_stamped_before_departure_is_kept_as_is() -> None:
    result = _track(
        _body(
            _event("PU_PICKUP_SUCCESS", T0),
            _event("CC_IM_START", T0 + timedelta(hours=2), tz="GMT+0"),
            _event("SC_INBOUND_SUCCESS", T0 + timedelta(hours=5)),
            _event("LH_DEPART", T0 + timedelta(days=3)),
        )
    )
    events = chronological(result.events)
    assert [e.stage for e in events] == [
        Stage.PICKED_UP,
        Stage.IMPORT_CUSTOMS,
        Stage.ORIGIN_FACILITY,
        Stage.DEPARTED_ORIGIN,
    ]
    assert [e.country for e in events] == ["CN", "RU", "CN", "CN"]
    assert milestone_times(events)["arrived_destination"] is None


def test_unmapped_code_is_unknown_with_raw_code_and_text_kept() -> None:
    event = _only(_track(_body(_event("CC_IM_ROBOT_SCAN", T0, desc="Таможенный осмотр"))))
    assert event.stage is Stage.UNKNOWN
    assert event.code == "CC_IM_ROBOT_SCAN"
    assert event.description == "Таможенный осмотр"
    assert event.country is None


@pytest.mark.parametrize(
    ("code", "stage", "final"),
    [
        pytest.param("GTMS_RETURN_START", Stage.RETURNING, False, id="returning"),
        pytest.param("RETURN_TO_WAREHOUSE", Stage.RETURNING, False, id="unclear-return"),
        pytest.param("GTMS_RETURN_SIGNED", Stage.RETURNED, True, id="returned"),
        pytest.param("TD_TRANS_SORTING", Stage.DESTINATION_FACILITY, False, id="td-trans-prefix"),
        pytest.param("LH_HO_AIRLINE", Stage.ORIGIN_FACILITY, False, id="airline-not-departed"),
        pytest.param("GTMS_SIGNED", Stage.DELIVERED, True, id="delivered"),
    ],
)
def test_code_rules(code: str, stage: Stage, final: bool) -> None:
    result = _track(_body(_event(code, T0)))
    assert _only(result).stage is stage
    assert result.final is final


def test_description_falls_back_to_standard_text_and_reads_location() -> None:
    raw = _event("SC_INBOUND_SUCCESS", T0)
    raw["desc"] = ""
    raw["standerdDesc"] = "[Pingshan Town] Scanned in at sorting hub"
    event = _only(_track(_body(raw)))
    assert event.description == "[Pingshan Town] Scanned in at sorting hub"
    assert event.location == "Pingshan Town"


# -- module shapes -------------------------------------------------------------------------


def test_external_module_without_events_is_not_found() -> None:
    body = json.dumps(
        {
            "module": [{"mailNo": NUMBER, "mailNoSource": "EXTERNAL", "detailList": []}],
            "success": True,
        }
    ).encode()
    outcome = parse(body, requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, CarrierFailure)
    assert outcome.kind is ErrorKind.NOT_FOUND


def test_seller_preparing_is_known_without_events() -> None:
    result = _track(_body(status="SELLER_PREPARING"))
    assert (result.events, result.final, result.carrier_status) == ((), False, "SELLER_PREPARING")
    assert (result.origin_country, result.destination_country) == ("CN", "RU")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({"realMailNo": "RB123456785RU"}, ["RB123456785RU"], id="real"),
        pytest.param(
            {"realMailNo": "RB123456785RU", "copyRealMailNo": "RB123456785RU"},
            ["RB123456785RU"],
            id="copy-deduplicated",
        ),
        pytest.param(
            {"copyRealMailNo": "Russian Post RB123456785RU"}, ["RB123456785RU"], id="name"
        ),
        pytest.param({"realMailNo": NUMBER}, [], id="same-as-mailno"),
    ],
)
def test_last_mile_legs(fields: dict[str, str], expected: list[str]) -> None:
    result = _track(_body(destCpInfo={"cpName": "Russian Post"}, **fields))
    assert [leg.tracking_number for leg in result.legs] == expected
    assert all(leg.carrier_name == "Russian Post" for leg in result.legs)


def test_module_is_filed_under_the_requested_spelling() -> None:
    outcome = parse(_body(_event("LH_DEPART", T0)), requested=[NUMBER.lower()])
    assert list(outcome) == [NUMBER.lower()]


# -- error envelopes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("envelope", "error"),
    [
        pytest.param({"errorCode": "FLOW_LIMIT"}, RateLimitedError, id="flow-limit"),
        pytest.param({"code": "ACCESS_DENIED", "msg": "blocked"}, AuthError, id="denied"),
        pytest.param({"errorCode": "SYSTEM_ERROR"}, CarrierServerError, id="system"),
        pytest.param({}, CarrierServerError, id="no-code"),
    ],
)
def test_failure_envelope_raises_typed_error(
    envelope: dict[str, str], error: type[CarrierError]
) -> None:
    with pytest.raises(error):
        parse(json.dumps({"success": False, **envelope}).encode())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[]", id="list"),
        pytest.param(b'{"success": true}', id="no-module"),
        pytest.param(b'{"success": true, "module": [{"detailList": []}]}', id="no-mailno"),
        pytest.param(b'{"module": [{"mailNo": "X", "detailList": [{"time": "soon"}]}]}', id="time"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_wrong_shape_is_bad_payload(body: bytes) -> None:
    with pytest.raises(BadPayloadError):
        parse(body)


# -- numbers -------------------------------------------------------------------------------


def test_sandbox_numbers_are_lp_numbers_that_do_not_look_sequential() -> None:
    numbers = [make_number(i) for i in range(3)]
    assert all(NUMBER_PATTERNS[0].fullmatch(n) for n in numbers)
    assert len(set(numbers)) == 3
    assert numbers[1][-4:] != numbers[0][-4:]


@pytest.mark.parametrize(
    "number",
    ["LP00123987456012", "UB4071936258Y", "RY407193624PL", "AE010203040506"],
)
def test_number_patterns_recognise_cainiao_shapes(number: str) -> None:
    assert any(p.fullmatch(number) for p in NUMBER_PATTERNS)

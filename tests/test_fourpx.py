"""4PX adapter: the carrier contract plus 4PX's own quirks (signature, China time, codes)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest
import respx

from carriers.base import CarrierInfo, RateLimit, SandboxRequest
from carriers.fourpx import CARRIER, NUMBER_PATTERNS, make_number, sign
from carriers.fourpx.client import FourPXSettings, request_body
from carriers.fourpx.parse import decode_body, parse, repair_mojibake, stage_of
from carriers.fourpx.sandbox import SANDBOX
from carriers.http import CarrierHttp
from carriers.kit import create_adapter
from tests.carrier_contract import WORLD_NOW, CarrierContract
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
    RateLimitedError,
)
from tracking.judge.milestones import milestone_times
from tracking.sandbox.world import World, number_for

NUMBER = "4PX3017265408813CN"
PINNED_AT = datetime(2026, 3, 1, 4, 5, 6, 789000, tzinfo=UTC)


class TestFourPX(CarrierContract):
    carrier: ClassVar[CarrierInfo] = CARRIER
    # The sandbox's credentials: invented, and what `authorized` recomputes the sign with.
    credentials: ClassVar[dict[str, Any]] = {
        "app_key": "sandbox-4px-key",
        "app_secret": "sandbox-4px-secret",
    }

    async def test_request_is_a_signed_post_with_one_number_in_the_body(self) -> None:
        request = await self.captured_request([NUMBER])
        assert (request.method, request.path) == ("POST", "/router/api/service")
        assert request.body == b'{"deliveryOrderNo":"4PX3017265408813CN"}'
        query = dict(request.query)
        timestamp = query.pop("timestamp")
        signature = query.pop("sign")
        assert query == {
            "method": "tr.order.tracking.get",
            "v": "1.0.0",
            "app_key": "sandbox-4px-key",
            "format": "json",
            "access_token": "",
            "language": "en",
        }
        assert timestamp.isdigit()
        assert len(timestamp) == 13  # milliseconds
        assert signature == sign(
            app_key="sandbox-4px-key",
            app_secret="sandbox-4px-secret",
            method="tr.order.tracking.get",
            timestamp=timestamp,
            version="1.0.0",
            body=request.body.decode(),
        )
        assert "sandbox-4px-secret" not in str(request.query) + request.body.decode()

    async def test_timestamp_comes_from_the_clock(self) -> None:
        results = await _track_with(
            {"app_key": "k-1", "app_secret": "s-1"},
            httpx.Response(200, content=_body(_event("FPX_C_SPLS", "2026-03-01 12:00:00"))),
            clock=lambda: PINNED_AT,
        )
        assert "timestamp=1772337906789" in results[0].exchanges[0].url

    @pytest.mark.parametrize(
        "missing",
        [
            pytest.param({"app_key": None}, id="no-key"),
            pytest.param({"app_secret": None}, id="no-secret"),
            pytest.param({"app_key": "", "app_secret": "  "}, id="blank"),
        ],
    )
    async def test_missing_credentials_fail_with_auth_without_a_request(
        self, missing: dict[str, Any]
    ) -> None:
        with respx.mock(assert_all_called=False) as router:
            route = router.route()
            results = await self.track([NUMBER], **missing)
        assert route.call_count == 0
        assert isinstance(results[0].outcome, CarrierFailure)
        assert results[0].outcome.kind is ErrorKind.AUTH
        assert results[0].exchanges == ()

    async def test_sandbox_refuses_a_wrong_signature_or_key(self) -> None:
        request = await self.captured_request([NUMBER])
        assert SANDBOX.authorized(request)
        tampered = SandboxRequest(
            request.method, request.path, request.query, request.headers, b'{"deliveryOrderNo":"X"}'
        )
        assert not SANDBOX.authorized(tampered)
        other_key = {**request.query, "app_key": "someone-else"}
        assert not SANDBOX.authorized(
            SandboxRequest(request.method, request.path, other_key, request.headers, request.body)
        )
        # The sign's case counts: an upper-case sign (the old bug) is refused.
        upper = {**request.query, "sign": request.query["sign"].upper()}
        assert not SANDBOX.authorized(
            SandboxRequest(request.method, request.path, upper, request.headers, request.body)
        )

    async def test_more_than_one_number_is_refused(self) -> None:
        async with httpx.AsyncClient() as client:
            adapter, _ = self.make_adapter(client)
            with pytest.raises(ValueError, match="at most 1"):
                await adapter.track([NUMBER, make_number(1)])


async def _track_with(
    credentials: dict[str, Any],
    response: httpx.Response,
    *,
    clock: Any = None,
) -> list[NumberResult]:
    settings = FourPXSettings(_env_file=None, **credentials)  # type: ignore[call-arg]
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(return_value=response)
        async with httpx.AsyncClient() as client:
            http = CarrierHttp(
                client=client,
                carrier="4px",
                adapter_version=CARRIER.adapter_version,
                rate_limit=RateLimit(1000.0),
                secrets=settings.secret_values(),
                max_attempts=1,
            )
            adapter: Any = create_adapter(CARRIER, settings, http=http)
            if clock is not None:
                adapter.clock = clock
            return await adapter.track([NUMBER])


# -- the signature -----------------------------------------------------------------------------


def test_signature_is_pinned_on_a_known_input() -> None:
    body = '{"deliveryOrderNo":"4PX3017265408813CN"}'
    concatenated = (
        "app_keyk-8d41f0formatjsonmethodtr.order.tracking.gettimestamp1772337906789v1.0.0"
        + body
        + "s-6be2e9a1"
    )
    expected = hashlib.md5(concatenated.encode()).hexdigest()
    got = sign(
        app_key="k-8d41f0",
        app_secret="s-6be2e9a1",
        method="tr.order.tracking.get",
        timestamp="1772337906789",
        version="1.0.0",
        body=body,
    )
    assert got == expected
    assert got == "629fade024f7e45331d99cf99a78f6eb"


def test_signature_depends_on_every_part() -> None:
    base = {
        "app_key": "k",
        "app_secret": "s",
        "method": "tr.order.tracking.get",
        "timestamp": "1",
        "version": "1.0.0",
        "body": "{}",
    }
    reference = sign(**base)
    for name in base:
        assert sign(**{**base, name: base[name] + "x"}) != reference, name


def test_request_body_is_compact_json_and_keeps_non_ascii() -> None:
    assert request_body("4PX1") == '{"deliveryOrderNo":"4PX1"}'
    assert request_body("单号1") == '{"deliveryOrderNo":"单号1"}'


async def test_secrets_never_reach_the_stored_exchange() -> None:
    key, secret = "fpx-key-51c9e0", "fpx-secret-a7d3b2"
    response = httpx.Response(200, content=_body(_event("FPX_C_SPLS", "2026-03-01 12:00:00")))
    results = await _track_with({"app_key": key, "app_secret": secret}, response)
    (exchange,) = results[0].exchanges
    stored = " ".join([exchange.url, (exchange.request_body or b"").decode(), repr(exchange)])
    assert key not in stored
    assert secret not in stored
    assert "app_key=%5BREDACTED%5D" in exchange.url
    assert "sign=%5BREDACTED%5D" in exchange.url
    assert isinstance(results[0].outcome, TrackResult)


# -- helpers -------------------------------------------------------------------------------


def _event(
    code: str | None, when: str, *, content: str = "x", location: str = ""
) -> dict[str, Any]:
    item: dict[str, Any] = {} if code is None else {"businessLinkCode": code}
    item.update({"occurDatetime": when, "occurLocation": location, "trackingContent": content})
    return item


def _body(*events: dict[str, Any], country: str | None = "RUSSIA", number: str = NUMBER) -> bytes:
    """A success body; `events` given oldest first and sent newest first, as 4PX does."""
    data = {"deliveryOrderNo": number, "destinationCountry": country}
    data["trackingList"] = list(reversed(events))  # type: ignore[assignment]
    return json.dumps({"result": "1", "msg": "success", "errors": [], "data": data}).encode()


def _track(body: bytes) -> TrackResult:
    outcome = parse(body, requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, TrackResult), outcome
    return outcome


def _only(result: TrackResult) -> ParsedEvent:
    (event,) = result.events
    return event


def _error_body(code: str, message: str, msg: str = "请求处理失败") -> bytes:
    body = {"result": "0", "msg": msg, "errors": [{"errorCode": code, "errorMsg": message}]}
    return json.dumps(body, ensure_ascii=False).encode()


def _day(n: int) -> str:
    return f"2026-04-{10 + n:02d} 09:00:00"


# -- time convention: naive China time -------------------------------------------------------


def test_occur_datetime_is_china_time_by_convention() -> None:
    event = _only(_track(_body(_event("FPX_C_SPLS", "2026-03-01 12:05:06"))))
    assert event.occurred_at == datetime(2026, 3, 1, 4, 5, 6, tzinfo=UTC)
    assert (event.local_offset, event.time_source) == (480, TimeSource.CARRIER_CONVENTION)
    assert event.raw_time == "2026-03-01 12:05:06"


def test_destination_event_is_china_time_too() -> None:
    # Delivered in Moscow at 13:56 local (UTC+3): 4PX writes it as 18:56 China time.
    event = _only(_track(_body(_event("FPX_S_OK", "2026-08-21 18:56:03", location="Moscow"))))
    assert event.occurred_at == datetime(2026, 8, 21, 10, 56, 3, tzinfo=UTC)
    assert event.local_offset == 480
    assert event.country == "RU"


def test_tracking_list_is_newest_first_and_kept_in_carrier_order_reversed() -> None:
    result = _track(
        _body(
            _event("FPX_C_SPLS", _day(0)), _event("FPX_C_AAF", _day(1)), _event("FPX_S_OK", _day(9))
        )
    )
    assert [e.code for e in result.events] == ["FPX_C_SPLS", "FPX_C_AAF", "FPX_S_OK"]


@pytest.mark.parametrize("when", ["2026-03-01T12:05:06", "soon", ""])
def test_unreadable_occur_datetime_is_bad_payload(when: str) -> None:
    with pytest.raises(BadPayloadError):
        parse(_body(_event("FPX_C_SPLS", when)), requested=[NUMBER])


def test_minute_precision_time_is_read() -> None:
    event = _only(_track(_body(_event("FPX_C_SPLS", "2026-03-01 12:05"))))
    assert event.occurred_at == datetime(2026, 3, 1, 4, 5, tzinfo=UTC)


# -- stages: the traps -----------------------------------------------------------------------


def test_handed_to_airline_is_not_departure() -> None:
    result = _track(_body(_event("FPX_M_HA", _day(0)), _event("FPX_M_DFOA", _day(1))))
    assert [e.stage for e in result.events] == [Stage.ORIGIN_FACILITY, Stage.DEPARTED_ORIGIN]
    times = milestone_times(result.events)
    assert times["departed_origin"] == datetime(2026, 4, 11, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("code", ["FPX_D_ADWP", "FPX_D_AP", "FPX_D_SASPS"])
def test_pickup_point_is_not_delivered(code: str) -> None:
    result = _track(_body(_event("FPX_D_AAD", _day(0)), _event(code, _day(1))))
    assert result.events[-1].stage is Stage.AVAILABLE_FOR_PICKUP
    assert result.final is False
    assert milestone_times(result.events)["delivered"] is None


@pytest.mark.parametrize(
    ("code", "stage", "final"),
    [
        pytest.param("FPX_L_RPIF", Stage.INFO_RECEIVED, False, id="info"),
        pytest.param("FPX_C_SPLS", Stage.PICKED_UP, False, id="picked-up"),
        pytest.param("FPX_Q_ECC", Stage.EXPORT_CUSTOMS, False, id="export"),
        pytest.param("FPX_M_DAHK", Stage.DEPARTED_ORIGIN, False, id="dahk"),
        pytest.param("FPX_M_ATD", Stage.DEPARTED_ORIGIN, False, id="atd"),
        pytest.param("FPX_M_DC", Stage.ARRIVED_DESTINATION, False, id="dc"),
        pytest.param("FPX_M_ADCA", Stage.ARRIVED_DESTINATION, False, id="adca"),
        pytest.param("FPX_M_ATA", Stage.ARRIVED_DESTINATION, False, id="ata"),
        pytest.param("FPX_D_ADC", Stage.ARRIVED_DESTINATION, False, id="adc"),
        pytest.param("FPX_I_RCUK", Stage.IMPORT_CUSTOMS, False, id="cleared"),
        pytest.param("FPX_I_HCPD", Stage.EXCEPTION, False, id="held-in-customs"),
        pytest.param("FPX_D_HQ", Stage.DESTINATION_FACILITY, False, id="hq"),
        pytest.param("FPX_D_OFD", Stage.OUT_FOR_DELIVERY, False, id="ofd"),
        pytest.param("FPX_D_FDNH", Stage.DELIVERY_FAILED, False, id="failed"),
        pytest.param("FPX_D_DDWT", Stage.IN_TRANSIT, False, id="delay"),
        pytest.param("FPX_D_SHWD", Stage.EXCEPTION, False, id="on-hold"),
        pytest.param("FPX_S_OK", Stage.DELIVERED, True, id="ok"),
        pytest.param("FPX_S_OKPO", Stage.DELIVERED, True, id="okpo"),
        pytest.param("FPX_S_OKGP", Stage.DELIVERED, True, id="okgp"),
        pytest.param("FPX_O_RTOC", Stage.RETURNING, False, id="returning"),
        pytest.param("FPX_O_PRRF", Stage.RETURNING, False, id="pr-family"),
        pytest.param("FPX_D_RR", Stage.RETURNING, False, id="rr"),
        pytest.param("FPX_C_BTC", Stage.RETURNED, True, id="back-to-customer"),
        pytest.param("FPX_Y_CCMC", Stage.EXCEPTION, False, id="missing"),
        pytest.param("FPX_Y_DS", Stage.EXCEPTION, False, id="destroyed"),
        pytest.param("fpx_s_ok ", Stage.DELIVERED, True, id="case-and-space"),
    ],
)
def test_code_rules(code: str, stage: Stage, final: bool) -> None:
    result = _track(_body(_event(code, _day(0))))
    assert _only(result).stage is stage
    assert result.final is final


def test_unmapped_code_is_unknown_and_its_text_is_not_guessed() -> None:
    event = _only(_track(_body(_event("FPX_Z_NEW", _day(0), content="Delivered to recipient"))))
    assert event.stage is Stage.UNKNOWN
    assert event.code == "FPX_Z_NEW"
    assert stage_of("") is Stage.UNKNOWN


@pytest.mark.parametrize(
    ("content", "stage"),
    [
        pytest.param("Departed from origin airport", Stage.DEPARTED_ORIGIN, id="departed"),
        pytest.param("Arrived at destination country", Stage.ARRIVED_DESTINATION, id="arrived"),
        pytest.param("包裹已离开深圳操作中心", Stage.ORIGIN_FACILITY, id="zh-facility"),
        pytest.param("Parcel picked up by courier", Stage.PICKED_UP, id="picked-up"),
        pytest.param("Qwerty", Stage.UNKNOWN, id="unknown"),
    ],
)
def test_event_without_code_is_classified_by_its_text(content: str, stage: Stage) -> None:
    event = _only(_track(_body(_event(None, _day(0), content=content))))
    assert (event.stage, event.code, event.description) == (stage, "", content)


def test_destination_country_name_becomes_iso2_on_destination_events_only() -> None:
    result = _track(
        _body(
            _event("FPX_C_SPLS", _day(0)),
            _event("FPX_M_DC", _day(3)),
            _event("FPX_O_RTOC", _day(9)),
            country="UNITED KINGDOM",
        )
    )
    assert result.destination_country == "GB"
    assert result.origin_country is None
    assert [e.country for e in result.events] == [None, "GB", None]


# -- legs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {
                "channelTrackCode": "RB204718353RU",
                "channelContact": {"channelSimpleName": "Pochta"},
            },
            [("RB204718353RU", "Pochta")],
            id="simple-name",
        ),
        pytest.param(
            {
                "channelTrackCode": " rb204718353ru ",
                "channelContact": {"channelSimpleName": None, "contact": "【服务商】Pochta\n电话"},
            },
            [("RB204718353RU", "Pochta")],
            id="provider-line",
        ),
        pytest.param({"channelTrackCode": "RB204718353RU"}, [("RB204718353RU", "")], id="no-name"),
        pytest.param({"channelTrackCode": NUMBER}, [], id="same-as-own-number"),
        pytest.param({"channelTrackCode": ""}, [], id="empty"),
        pytest.param({}, [], id="absent"),
    ],
)
def test_last_mile_leg(fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    body = json.loads(_body(_event("FPX_D_DFD", _day(0))))
    body["data"].update(fields)
    result = _track(json.dumps(body).encode())
    assert [(leg.tracking_number, leg.carrier_name) for leg in result.legs] == expected


def test_number_in_the_hand_over_text_is_not_a_leg() -> None:
    raw = _event("FPX_D_DFD", _day(0), content="Handed over to Pochta, tracking number RB2047183")
    assert _track(_body(raw)).legs == ()


# -- envelopes -------------------------------------------------------------------------------


def test_auth_error_code_raises_auth_even_as_mojibake() -> None:
    garbled = "app_key校验不通过".encode().decode("gbk", errors="replace")
    with pytest.raises(AuthError, match="000013"):
        parse(_error_body("000013", garbled, msg="请求处理失败".encode().decode("gbk")))


def test_mojibake_is_repaired_in_the_error_message() -> None:
    garbled = "请求处理失败".encode().decode("gbk")
    assert repair_mojibake(garbled) == "请求处理失败"
    assert repair_mojibake("订单不存在") == "订单不存在"
    with pytest.raises(CarrierServerError, match="请求处理失败"):
        parse(_error_body("999999", "x", msg=garbled))


@pytest.mark.parametrize(
    ("code", "message", "error"),
    [
        pytest.param("000013", "x", AuthError, id="000013"),
        pytest.param("000021", "签名错误", AuthError, id="sign-zh"),
        pytest.param("000022", "invalid app_key", AuthError, id="app-key"),
        pytest.param("000429", "调用过于频繁", RateLimitedError, id="frequent"),
        pytest.param("000500", "服务异常", CarrierServerError, id="other"),
    ],
)
def test_error_envelope_raises_typed_error(
    code: str, message: str, error: type[CarrierError]
) -> None:
    with pytest.raises(error):
        parse(_error_body(code, message), requested=[NUMBER])


@pytest.mark.parametrize("message", ["订单不存在", "单号不存在或暂无轨迹", "Order not found"])
def test_error_envelope_saying_the_number_does_not_exist_is_not_found(message: str) -> None:
    outcome = parse(_error_body("E10004", message), requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, CarrierFailure)
    assert outcome.kind is ErrorKind.NOT_FOUND


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(None, id="null-data"),
        pytest.param({"deliveryOrderNo": NUMBER, "trackingList": []}, id="empty-list"),
        pytest.param({"deliveryOrderNo": NUMBER, "trackingList": None}, id="null-list"),
    ],
)
def test_success_without_tracks_is_not_found(data: Any) -> None:
    body = json.dumps({"result": "1", "msg": "success", "errors": [], "data": data}).encode()
    outcome = parse(body, requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, CarrierFailure)
    assert outcome.kind is ErrorKind.NOT_FOUND


def test_answer_is_filed_under_the_requested_number_even_if_4px_renames_it() -> None:
    body = _body(_event("FPX_C_SPLS", _day(0)), number="4PX3999999999999CN")
    assert list(parse(body, requested=["RB204718353RU"])) == ["RB204718353RU"]
    assert list(parse(body)) == ["4PX3999999999999CN"]


def test_gbk_encoded_body_is_decoded_not_crashed_on() -> None:
    text = json.dumps(
        {
            "result": "1",
            "data": {
                "deliveryOrderNo": NUMBER,
                "trackingList": [_event("FPX_C_SPLS", _day(0), content="已揽收")],
            },
        },
        ensure_ascii=False,
    )
    assert _only(_track(text.encode("gbk"))).description == "已揽收"
    assert decode_body("\ufeff{}".encode()) == "{}"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[]", id="list"),
        pytest.param(b'{"msg": "success"}', id="no-result"),
        pytest.param(b'{"result": "2"}', id="odd-result"),
        pytest.param(b'{"result": "1", "data": {"trackingList": {"a": 1}}}', id="list-shape"),
        pytest.param(b"\xff\xfe", id="not-json"),
    ],
)
def test_wrong_shape_is_bad_payload(body: bytes) -> None:
    with pytest.raises(BadPayloadError):
        parse(body, requested=[NUMBER])


# -- sandbox ---------------------------------------------------------------------------------


def _rendered(scenario: str) -> dict[str, Any]:
    number = number_for(make_number, scenario)
    shipment = World(now=WORLD_NOW).shipment("4px", number)
    request = SandboxRequest("POST", "/router/api/service", {}, {}, request_body(number).encode())
    reply = SANDBOX.render(request, [(number, shipment)], now=WORLD_NOW)
    assert reply.status == 200
    data: dict[str, Any] = json.loads(reply.body)
    return data


def test_sandbox_renders_newest_first_in_china_time_with_mixed_languages() -> None:
    data = _rendered("delivered")
    events = data["data"]["trackingList"]
    times = [e["occurDatetime"] for e in events]
    assert times == sorted(times, reverse=True)
    by_code = {e["businessLinkCode"]: e["trackingContent"] for e in events}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in by_code["FPX_C_SPLS"])
    assert by_code["FPX_S_OK" if "FPX_S_OK" in by_code else "FPX_S_OKSC"].isascii()
    assert data["data"]["destinationCountry"].isupper()


def test_sandbox_unknown_number_is_an_error_envelope() -> None:
    data = _rendered("not_found")
    assert data["result"] == "0"
    assert data["errors"][0]["errorCode"]


@pytest.mark.parametrize(
    ("query", "body"),
    [
        pytest.param({"method": "tr.order.tracking.get"}, b"{}", id="no-number"),
        pytest.param({"method": "tr.order.tracking.get"}, b"nope", id="not-json"),
        pytest.param({"method": "ds.xms.order.create"}, b'{"deliveryOrderNo":"X"}', id="method"),
    ],
)
def test_sandbox_rejects_bad_requests(query: dict[str, str], body: bytes) -> None:
    with pytest.raises(ValueError, match=r"deliveryOrderNo|JSON|method"):
        SANDBOX.numbers(SandboxRequest("POST", "/router/api/service", query, {}, body))


# -- numbers ---------------------------------------------------------------------------------


def test_sandbox_numbers_are_4px_numbers_that_do_not_look_sequential() -> None:
    numbers = [make_number(i) for i in range(3)]
    assert all(NUMBER_PATTERNS[0].fullmatch(n) for n in numbers)
    assert len(set(numbers)) == 3
    assert numbers[1][-6:-2] != numbers[0][-6:-2]


@pytest.mark.parametrize("number", ["4PX3017265408813CN", "998217405316", "H01LFA0002326684"])
def test_number_patterns_recognise_4px_shapes(number: str) -> None:
    assert any(p.fullmatch(number) for p in NUMBER_PATTERNS)


def test_tracking_page_url() -> None:
    assert CARRIER.public_url(NUMBER) == f"https://track.4px.com/#/result/0/{NUMBER}"


# -- the public tracking page (credential-free, marked as such) -----------------------------


async def _fourpx_through_sandbox(overrides: dict[str, Any], numbers: list[str]) -> list[Any]:
    from carriers.registry import all_carriers
    from tracking.sandbox.server import SandboxOptions, SandboxServer

    server = SandboxServer(all_carriers(), SandboxOptions(now=WORLD_NOW, enforce_limits=False))
    settings = FourPXSettings(_env_file=None, **overrides)  # type: ignore[call-arg]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as client:
        http = CarrierHttp(
            client=client,
            carrier="4px",
            adapter_version=CARRIER.adapter_version,
            rate_limit=RateLimit(1000.0),
            secrets=settings.secret_values(),
            max_attempts=1,
        )
        adapter = create_adapter(CARRIER, settings, http=http)
        return [r for n in numbers for r in await adapter.track([n])]


async def test_public_page_without_credentials_agrees_and_says_where_it_came_from() -> None:
    from carriers.fourpx.public import PUBLIC_SOURCE
    from tracking.sandbox.server import SANDBOX_ROOT

    numbers = [make_number(n) for n in range(1, 25)]
    official = await _fourpx_through_sandbox(
        {"base_url": f"{SANDBOX_ROOT}/4px", **SANDBOX.credentials}, numbers
    )
    public = await _fourpx_through_sandbox(
        {"public_page": True, "public_url": f"{SANDBOX_ROOT}/4px"}, numbers
    )
    tracked = 0
    for old, new in zip(official, public, strict=True):
        assert type(old.outcome) is type(new.outcome)
        assert "track/v2/front/listTrackV3" in new.exchanges[0].url
        if isinstance(old.outcome, TrackResult):
            tracked += 1
            assert new.outcome.carrier_status.startswith(PUBLIC_SOURCE)
            assert milestone_times(new.outcome.events) == milestone_times(old.outcome.events)
    assert tracked > 5


async def test_without_credentials_and_without_public_page_nothing_is_sent() -> None:
    (result,) = await _fourpx_through_sandbox({}, [make_number(2)])
    assert isinstance(result.outcome, CarrierFailure)
    assert result.outcome.kind is ErrorKind.AUTH

"""YunExpress classic adapter: the carrier contract plus envelope, time and auth details."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.base import RateLimit, SandboxRequest
from carriers.http import CarrierHttp
from carriers.kit import create_adapter
from carriers.registry import ENTRY_POINT_GROUP
from carriers.textstage import classify
from carriers.yunexpress import CARRIER, NUMBER_PATTERNS, YunExpressSettings, make_number
from carriers.yunexpress.client import DEFAULT_BASE_URL, TRACK_PATH, basic_token
from carriers.yunexpress.parse import STAGE_MAP, parse
from carriers.yunexpress.sandbox import SANDBOX
from carriers.yunexpress.sandbox_texts import TEXTS_EN, TEXTS_ZH, event_text
from tests.carrier_contract import WORLD_NOW, CarrierContract
from tests.cassette import CASSETTES
from tracking.core.domain import (
    CarrierFailure,
    ErrorKind,
    NumberResult,
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
from tracking.sandbox.world import (
    DESTINATIONS,
    ORIGIN_CITIES,
    SCENARIOS,
    TRANSIT_HUBS,
    World,
    number_for,
)

NUMBER = "YT2610030000123456"
URL = f"{DEFAULT_BASE_URL}{TRACK_PATH}"


class TestYunExpress(CarrierContract):
    carrier = CARRIER
    credentials: ClassVar[dict[str, Any]] = {
        "customer_code": "TESTCODE01",
        "api_secret": "test-secret-not-real",
    }


# -- helpers ------------------------------------------------------------------------------


def detail(text: str, when: str = "2026-10-03T09:15:00", **extra: Any) -> dict[str, Any]:
    return {"ProcessContent": text, "ProcessLocation": "Shenzhen", "ProcessDate": when, **extra}


def body(
    details: list[dict[str, Any]] | None = None,
    *,
    code: str | int = "0000",
    state: int = 2,
    tracking: str = "",
    country: str = "DE",
    legacy: bool = False,
    item: bool = True,
) -> bytes:
    payload: dict[str, Any] | None = {
        "CountryCode": country,
        "WaybillNumber": NUMBER,
        "TrackingNumber": tracking,
        "CarrierName": "Deutsche Post DHL" if tracking else "",
        "CreatedBy": None,
        "PackageState": state,
        "TrackingStatus": 20,
        "IntervalDays": -1.0,
        "OrderTrackingDetails": details or [],
    }
    if not item:
        payload = None
    if legacy:
        return json.dumps({"ResultCode": code, "ResultDesc": "提交成功", "Item": payload}).encode()
    envelope = {
        "Item": payload,
        "Code": code,
        "Message": "提交成功",
        "RequestId": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "TimeStamp": "2026-10-03T02:00:00.1234567+00:00",
    }
    return json.dumps(envelope, ensure_ascii=False).encode()


def only(parsed: dict[str, TrackResult | CarrierFailure]) -> TrackResult:
    outcome = parsed[NUMBER]
    assert isinstance(outcome, TrackResult), outcome
    return outcome


def settings_for(**values: Any) -> YunExpressSettings:
    return YunExpressSettings(**{**TestYunExpress.credentials, **values})


# -- time ---------------------------------------------------------------------------------


def test_naive_process_date_is_china_time() -> None:
    result = only(parse(body([detail("Shipment information received")]), requested=[NUMBER]))
    event = result.events[0]
    assert event.occurred_at == datetime(2026, 10, 3, 1, 15, tzinfo=UTC)
    assert event.local_offset == 480
    assert event.time_source is TimeSource.CARRIER_CONVENTION
    assert event.raw_time == "2026-10-03T09:15:00"


@pytest.mark.parametrize(
    ("raw", "expected", "offset"),
    [
        pytest.param(
            "2026-10-03 09:15:00", datetime(2026, 10, 3, 1, 15, tzinfo=UTC), 480, id="space"
        ),
        pytest.param(
            "2026-10-03T09:15:00.25",
            datetime(2026, 10, 3, 1, 15, 0, 250000, tzinfo=UTC),
            480,
            id="fraction",
        ),
        pytest.param(
            "2026-10-03T09:15:00+03:00", datetime(2026, 10, 3, 6, 15, tzinfo=UTC), 180, id="offset"
        ),
    ],
)
def test_process_date_forms(raw: str, expected: datetime, offset: int) -> None:
    event = only(parse(body([detail("Delivered", raw)]), requested=[NUMBER])).events[0]
    assert event.occurred_at == expected
    assert event.local_offset == offset
    assert event.raw_time == raw


def test_process_date_with_offset_is_explicit() -> None:
    event = only(parse(body([detail("Delivered", "2026-10-03T09:15:00Z")]), requested=[NUMBER]))
    assert event.events[0].time_source is TimeSource.EXPLICIT


def test_unreadable_process_date_is_bad_payload() -> None:
    with pytest.raises(BadPayloadError):
        parse(body([detail("Delivered", "03/10/2026 9:15")]), requested=[NUMBER])


# -- envelopes and error codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param(body(code="1002", item=False), AuthError, id="1002-wrong-credentials"),
        pytest.param(body(code="401", item=False), AuthError, id="401-token"),
        pytest.param(body(code=1003, item=False, legacy=True), AuthError, id="1003-legacy-int"),
        pytest.param(body(code="10000", item=False), RateLimitedError, id="10000-too-many"),
        pytest.param(body(code="9999", item=False), CarrierServerError, id="9999-platform"),
        pytest.param(body(code="1001", item=False), CarrierServerError, id="1001-failed"),
        pytest.param(
            json.dumps({"Message": "找不到与请求的 HTTP 资源。", "MessageDetail": "x"}).encode(),
            CarrierServerError,
            id="aspnet-routing",
        ),
        pytest.param(b"[]", BadPayloadError, id="json-list"),
        pytest.param(b"{}", BadPayloadError, id="no-code"),
        pytest.param(b"\xff\xfe", BadPayloadError, id="not-utf8"),
        pytest.param(
            json.dumps({"Code": "0000", "Item": {"OrderTrackingDetails": {"a": 1}}}).encode(),
            BadPayloadError,
            id="wrong-shape",
        ),
    ],
)
def test_error_envelopes_raise(raw: bytes, error: type[CarrierError]) -> None:
    with pytest.raises(error) as info:
        parse(raw, requested=[NUMBER])
    assert type(info.value) is error


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        pytest.param(body(code="1006", item=False), ErrorKind.NOT_FOUND, id="1006"),
        pytest.param(body(code="0000", item=False), ErrorKind.NOT_FOUND, id="null-item"),
        pytest.param(body(code="1004", item=False), ErrorKind.INVALID_NUMBER, id="1004"),
        pytest.param(body(code="2011", item=False), ErrorKind.INVALID_NUMBER, id="2011"),
    ],
)
def test_number_failures(raw: bytes, kind: ErrorKind) -> None:
    outcome = parse(raw, requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, CarrierFailure)
    assert outcome.kind is kind


def test_legacy_envelope_and_bom() -> None:
    raw = b"\xef\xbb\xbf" + body([detail("Delivered")], legacy=True, state=3)
    result = only(parse(raw, requested=[NUMBER]))
    assert result.final
    assert [e.stage for e in result.events] == [Stage.DELIVERED]


# -- stages, countries, legs, finality ----------------------------------------------------


def test_track_node_code_wins_and_unmapped_code_falls_back_to_text() -> None:
    result = only(
        parse(
            body(
                [
                    detail("Order created", TrackNodeCode="ORDER_CREATION"),
                    detail("Clearance processing completed", TrackNodeCode="CUSTOMS_RELEASE"),
                    detail("Flight departed from origin airport", TrackNodeCode="SOME_NEW_CODE"),
                    detail("包裹状态更新", TrackNodeCode="ANOTHER_CODE"),
                ]
            ),
            requested=[NUMBER],
        )
    )
    stages = [e.stage for e in result.events]
    assert stages == [
        Stage.INFO_RECEIVED,
        Stage.IMPORT_CUSTOMS,
        Stage.DEPARTED_ORIGIN,
        Stage.UNKNOWN,
    ]
    assert [e.code for e in result.events] == [
        "ORDER_CREATION",
        "CUSTOMS_RELEASE",
        "SOME_NEW_CODE",
        "ANOTHER_CODE",
    ]
    assert set(STAGE_MAP.values()) <= set(Stage)


def test_event_countries() -> None:
    result = only(
        parse(
            body(
                [
                    detail("Export customs clearance completed"),
                    detail("Arrived at transit hub Dubai"),
                    detail("Out for delivery"),
                    detail("Arrived at transit hub", ProcessCountry="Belgium"),
                ],
                country="de",
            ),
            requested=[NUMBER],
        )
    )
    assert [e.country for e in result.events] == ["CN", None, "DE", "BE"]
    assert result.destination_country == "DE"
    assert result.origin_country == "CN"
    assert result.carrier_status == "PackageState=2"


@pytest.mark.parametrize(
    ("tracking", "legs"),
    [
        pytest.param("", [], id="none"),
        pytest.param(NUMBER, [], id="same-as-waybill"),
        pytest.param("RB403716294DE", ["RB403716294DE"], id="last-mile"),
    ],
)
def test_last_mile_leg(tracking: str, legs: list[str]) -> None:
    result = only(parse(body([detail("In transit")], tracking=tracking), requested=[NUMBER]))
    assert [leg.tracking_number for leg in result.legs] == legs
    if legs:
        assert result.legs[0].carrier_name == "Deutsche Post DHL"
        assert result.legs[0].role == "last_mile"


@pytest.mark.parametrize(
    ("state", "text", "final"),
    [
        pytest.param(3, "In transit", True, id="state-3"),
        pytest.param(7, "Returning to sender", True, id="state-7"),
        pytest.param(2, "Delivered", True, id="delivered-event"),
        pytest.param(2, "Returned to sender", True, id="returned-event"),
        pytest.param(2, "Arrived at pickup point", False, id="pickup-point"),
        pytest.param(6, "Delivery attempt failed", False, id="state-6"),
    ],
)
def test_final(state: int, text: str, final: bool) -> None:
    assert only(parse(body([detail(text)], state=state), requested=[NUMBER])).final is final


def test_result_is_keyed_by_the_requested_number() -> None:
    parsed = parse(body([detail("Delivered")]), requested=["order-778"])
    assert list(parsed) == ["order-778"]
    assert parse(body([detail("Delivered")]), requested=[])[NUMBER].tracking_number == NUMBER


_KEYS = st.sampled_from(
    ["Item", "Code", "ResultCode", "Message", "OrderTrackingDetails", "ProcessDate", "x"]
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | _JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_parse_raises_only_carrier_errors(raw: bytes) -> None:
    with contextlib.suppress(CarrierError):
        parse(raw, requested=[NUMBER])


# -- client: headers, credentials, concurrency --------------------------------------------


async def test_basic_auth_on_the_wire_but_not_in_the_exchange() -> None:
    expected = "Basic " + base64.b64encode(b"TESTCODE01&test-secret-not-real").decode()
    assert basic_token("TESTCODE01", "test-secret-not-real") == expected
    with respx.mock(assert_all_called=True) as router:
        route = router.get(URL).respond(200, content=body([detail("Delivered")], state=3))
        results = await TestYunExpress().track([NUMBER])
    request = route.calls.last.request
    assert request.headers["authorization"] == expected
    assert request.headers["accept-language"] == "en-us"
    assert request.headers["accept"] == "application/json"
    assert request.url.params["OrderNumber"] == NUMBER
    exchange = results[0].exchanges[0]
    stored = " ".join(
        [exchange.url, (exchange.request_body or b"").decode(), exchange.body.decode()]
        + [f"{k}: {v}" for k, v in exchange.headers]
    )
    for secret in ("TESTCODE01", "test-secret-not-real", expected.split()[1]):
        assert secret not in stored
    assert results[0].ok


async def test_chinese_language_setting() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.get(URL).respond(200, content=body([detail("已签收")], state=3))
        results = await TestYunExpress().track([NUMBER], language="zh-cn")
    assert route.calls.last.request.headers["accept-language"] == "zh-cn"
    assert isinstance(results[0].outcome, TrackResult)
    assert results[0].outcome.events[0].stage is Stage.DELIVERED


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"customer_code": None, "api_secret": None}, id="none"),
        pytest.param({"api_secret": None}, id="no-secret"),
        pytest.param({"customer_code": ""}, id="empty-code"),
    ],
)
async def test_missing_credentials_send_nothing(overrides: dict[str, Any]) -> None:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        route = router.route()
        results = await TestYunExpress().track([NUMBER, "YT0000000000000001"], **overrides)
    assert route.call_count == 0
    for result in results:
        assert result.exchanges == ()
        assert isinstance(result.outcome, CarrierFailure)
        assert result.outcome.kind is ErrorKind.AUTH
        assert "TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE" in result.outcome.message
        assert "TRACK_EVIDENCE_YUNEXPRESS__API_SECRET" in result.outcome.message


async def test_numbers_are_fetched_one_per_request_and_kept_in_order() -> None:
    numbers = [make_number(n) for n in (11, 12, 13)]

    def reply(request: httpx.Request) -> httpx.Response:
        number = request.url.params["OrderNumber"]
        if number == numbers[1]:
            return httpx.Response(200, content=body(code="1006", item=False))
        return httpx.Response(200, content=body([detail("Delivered")], state=3))

    with respx.mock(assert_all_called=True) as router:
        route = router.get(url__startswith=URL).mock(side_effect=reply)
        results = await TestYunExpress().track(numbers)
    assert route.call_count == 3
    assert [r.tracking_number for r in results] == numbers
    assert [r.ok for r in results] == [True, False, True]


async def test_auth_code_in_a_200_keeps_its_exchange() -> None:
    with respx.mock() as router:
        router.get(URL).respond(200, content=body(code="1002", item=False))
        results = await TestYunExpress().track([NUMBER])
    assert isinstance(results[0].outcome, CarrierFailure)
    assert results[0].outcome.kind is ErrorKind.AUTH
    assert len(results[0].exchanges) == 1


async def test_base_url_override() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.get("http://omsapi.uat.yunexpress.com/api/Tracking/GetTrackAllInfo").respond(
            200, content=body([detail("Delivered")], state=3)
        )
        await TestYunExpress().track([NUMBER], base_url="http://omsapi.uat.yunexpress.com/api/")
    assert route.called


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE", "ENVCODE7")
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__API_SECRET", "env-secret-value")
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__LANGUAGE", "zh-cn")
    loaded = YunExpressSettings()
    assert loaded.missing_credentials() == []
    assert sorted(loaded.secret_values()) == ["ENVCODE7", "env-secret-value"]
    assert loaded.language == "zh-cn"
    assert "env-secret-value" not in repr(loaded)


def test_create_rejects_foreign_settings() -> None:
    from tracking.core.config import CarrierSettings

    with pytest.raises(TypeError):
        create_adapter(CARRIER, CarrierSettings())


# -- metadata -----------------------------------------------------------------------------


def test_registered_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    points = {p.name: p for p in entry_points(group=ENTRY_POINT_GROUP)}
    assert points["yunexpress"].load() is CARRIER


def test_numbers_match_the_pattern() -> None:
    made = [make_number(serial) for serial in range(2000)]
    assert len(set(made)) == len(made)
    for number in made:
        assert any(p.fullmatch(number) for p in NUMBER_PATTERNS), number
    assert not any(p.fullmatch("YT123") for p in NUMBER_PATTERNS)
    assert CARRIER.public_url(NUMBER).endswith(f"id={NUMBER}")


# -- sandbox ------------------------------------------------------------------------------


def request_for(number: str | None = NUMBER, **headers: str) -> SandboxRequest:
    token = basic_token("SANDBOX01", "sandbox-secret-2026")
    return SandboxRequest(
        method="GET",
        path="/api/Tracking/GetTrackAllInfo",
        query={"OrderNumber": number} if number is not None else {},
        headers={"authorization": token, "accept-language": "en-us", **headers},
        body=b"",
    )


@pytest.mark.parametrize(
    ("authorization", "ok"),
    [
        pytest.param(basic_token("SANDBOX01", "sandbox-secret-2026"), True, id="valid"),
        pytest.param(
            "Basic " + base64.b64encode(b"SANDBOX01:sandbox-secret-2026").decode(),
            False,
            id="colon",
        ),
        pytest.param(basic_token("SANDBOX01", "wrong"), False, id="wrong-secret"),
        pytest.param("Bearer abc", False, id="bearer"),
        pytest.param("Basic %%%", False, id="not-base64"),
        pytest.param("", False, id="missing"),
    ],
)
def test_sandbox_authorization(authorization: str, ok: bool) -> None:
    assert SANDBOX.authorized(request_for(authorization=authorization)) is ok


def test_sandbox_numbers() -> None:
    assert SANDBOX.numbers(request_for()) == [NUMBER]
    lower = SandboxRequest("GET", "/api/Tracking/GetTrackAllInfo", {"ordernumber": NUMBER}, {}, b"")
    assert SANDBOX.numbers(lower) == [NUMBER]
    with pytest.raises(ValueError, match="OrderNumber"):
        SANDBOX.numbers(request_for(None))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sandbox_round_trip_in_chinese(scenario: str) -> None:
    world = World(now=WORLD_NOW)
    number = number_for(make_number, scenario, 1)
    shipment = world.shipment("yunexpress", number)
    reply = SANDBOX.render(
        request_for(number, **{"accept-language": "zh-cn"}), [(number, shipment)], now=WORLD_NOW
    )
    outcome = parse(reply.body, requested=[number])[number]
    if shipment is None:
        assert isinstance(outcome, CarrierFailure)
        assert outcome.kind is ErrorKind.NOT_FOUND
        return
    assert isinstance(outcome, TrackResult)
    assert [e.stage for e in chronological(outcome.events)] == list(shipment.stages)
    texts = [e.description for e in outcome.events]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in texts), texts


def test_sandbox_envelope_details() -> None:
    world = World(now=WORLD_NOW)
    number = number_for(make_number, "delivered")
    shipment = world.shipment("yunexpress", number)
    data = json.loads(SANDBOX.render(request_for(number), [(number, shipment)], now=WORLD_NOW).body)
    assert data["Code"] == "0000"
    assert data["Message"] == "提交成功"
    assert data["TimeStamp"] == "2026-11-20T12:00:00.0000000+00:00"
    assert len(data["RequestId"]) == 32
    item = data["Item"]
    assert item["PackageState"] == 3
    assert item["IntervalDays"] > 0
    dates = [d["ProcessDate"] for d in item["OrderTrackingDetails"]]
    assert dates == sorted(dates)
    assert all(len(d) == 19 and "+" not in d and "Z" not in d for d in dates)


def test_sandbox_unknown_number() -> None:
    reply = SANDBOX.render(request_for(), [(NUMBER, None)], now=WORLD_NOW)
    data = json.loads(reply.body)
    assert reply.status == 200
    assert data["Code"] == "1006"
    assert data["Item"] is None


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [
        pytest.param("auth", 401, AuthError, id="auth"),
        pytest.param("rate_limited", 429, RateLimitedError, id="rate-limited"),
        pytest.param("server_error", 500, CarrierServerError, id="server-error"),
    ],
)
def test_sandbox_errors_parse_back(kind: Any, status: int, error: type[CarrierError]) -> None:
    reply = SANDBOX.render_error(kind, retry_after=7)
    assert reply.status == status
    with pytest.raises(error):
        parse(reply.body, requested=[NUMBER])
    if kind == "rate_limited":
        assert ("Retry-After", "7") in reply.headers


def test_sandbox_bad_request_is_invalid_number() -> None:
    reply = SANDBOX.render_error("bad_request")
    assert reply.status == 400
    outcome = parse(reply.body, requested=[NUMBER])[NUMBER]
    assert isinstance(outcome, CarrierFailure)
    assert outcome.kind is ErrorKind.INVALID_NUMBER


def test_sandbox_texts_classify_back_for_every_city() -> None:
    from carriers.kit.simulated import SimEvent

    cities = [*ORIGIN_CITIES, *(hub for hub, _, _ in TRANSIT_HUBS)]
    cities += [city for dest in DESTINATIONS for city in dest.cities]
    assert set(TEXTS_EN) == set(TEXTS_ZH) == set(Stage) - {Stage.EXCEPTION, Stage.UNKNOWN}
    stages = [*TEXTS_EN, Stage.EXCEPTION]
    for stage in stages:
        for variant in range(10):
            for city in cities:
                for detail_ in ("", "lost", "customs_held"):
                    event = SimEvent(stage, WORLD_NOW, 0, None, city, variant, detail=detail_)
                    for chinese in (False, True):
                        text = event_text(event, chinese=chinese)
                        assert classify(text) is stage, text


# -- end to end through the sandbox server ------------------------------------------------


async def test_end_to_end_through_the_sandbox_server() -> None:
    from carriers.base import RateLimit
    from carriers.http import CarrierHttp
    from tracking.sandbox.server import SandboxOptions, SandboxServer

    server = SandboxServer(
        {"yunexpress": CARRIER}, SandboxOptions(now=WORLD_NOW, enforce_limits=False)
    )
    scenarios = ("delivered", "multi_leg", "not_found", "returned", "customs_hold")
    numbers = [number_for(make_number, scenario) for scenario in scenarios]
    world = World(now=WORLD_NOW)

    async def run(**credentials: str) -> list[Any]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as client:
            values: dict[str, Any] = {
                "_env_file": None,
                "base_url": server.base_url("yunexpress"),
                "language": "zh-cn",
                **server.credentials("yunexpress"),
                **credentials,
            }
            settings = YunExpressSettings(**values)
            http = CarrierHttp(
                client=client,
                carrier=CARRIER.code,
                adapter_version=CARRIER.adapter_version,
                rate_limit=RateLimit(1000.0, concurrency=5),
                secrets=settings.secret_values(),
                max_attempts=1,
            )
            return await create_adapter(CARRIER, settings, http=http).track(numbers)

    for number, result in zip(numbers, await run(), strict=True):
        shipment = world.shipment("yunexpress", number)
        if shipment is None:
            assert isinstance(result.outcome, CarrierFailure)
            assert result.outcome.kind is ErrorKind.NOT_FOUND
            continue
        assert isinstance(result.outcome, TrackResult), result.outcome
        assert [e.stage for e in chronological(result.outcome.events)] == list(shipment.stages)
        assert "sandbox-secret-2026" not in result.exchanges[0].url
    for result in await run(api_secret="not-the-sandbox-secret"):
        assert isinstance(result.outcome, CarrierFailure)
        assert result.outcome.kind is ErrorKind.AUTH


# -- cassettes ----------------------------------------------------------------------------


def test_cassettes_hold_no_credentials() -> None:
    paths = sorted((CASSETTES / "yunexpress").glob("*.yaml"))
    assert {p.stem for p in paths} >= {
        "delivered",
        "in_transit",
        "not_found",
        "returned",
        "customs_hold",
        "multi_leg",
        "auth_failure",
        "rate_limited",
        "malformed",
        "legacy_envelope",
    }
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "Authorization: '[REDACTED]'" in text, path.name
        assert "Basic " not in text, path.name
        for value in ("SANDBOX01", "sandbox-secret", "TESTCODE01", "test-secret-not-real"):
            assert value not in text, path.name


# -- the Open Platform, through the sandbox -------------------------------------------------


async def _through_sandbox(overrides: dict[str, Any], numbers: list[str]) -> list[NumberResult]:
    from carriers.registry import all_carriers
    from tracking.sandbox.server import SandboxOptions, SandboxServer

    server = SandboxServer(all_carriers(), SandboxOptions(now=WORLD_NOW, enforce_limits=False))
    settings = YunExpressSettings(_env_file=None, **overrides)  # type: ignore[call-arg]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app)) as client:
        http = CarrierHttp(
            client=client,
            carrier="yunexpress",
            adapter_version=CARRIER.adapter_version,
            rate_limit=RateLimit(1000.0),
            secrets=settings.secret_values(),
            max_attempts=1,
        )
        return await create_adapter(CARRIER, settings, http=http).track(numbers)


async def test_open_platform_credentials_choose_the_open_platform_and_agree_with_classic() -> None:
    from carriers.yunexpress.openapi_sandbox import OPENAPI_CREDENTIALS
    from tracking.sandbox.server import SANDBOX_ROOT

    numbers = [make_number(n) for n in range(1, 30)]
    classic = await _through_sandbox(
        {"base_url": f"{SANDBOX_ROOT}/yunexpress/api", **SANDBOX.credentials}, numbers
    )
    openapi = await _through_sandbox(
        {"openapi_base_url": f"{SANDBOX_ROOT}/yunexpress", **OPENAPI_CREDENTIALS}, numbers
    )
    tracked = 0
    for old, new in zip(classic, openapi, strict=True):
        assert "/v1/track-service/info/get?order_number=" in new.exchanges[-1].url
        assert type(old.outcome) is type(new.outcome)
        if isinstance(old.outcome, TrackResult):
            assert isinstance(new.outcome, TrackResult)
            tracked += 1
            assert milestone_times(new.outcome.events) == milestone_times(old.outcome.events)
    assert tracked > 5
    stored = " ".join(e.url + repr(e.request_body) for r in openapi for e in r.exchanges)
    assert OPENAPI_CREDENTIALS["app_secret"] not in stored


async def test_open_platform_refuses_a_wrong_secret_in_the_sandbox() -> None:
    from carriers.yunexpress.openapi_sandbox import OPENAPI_CREDENTIALS
    from tracking.sandbox.server import SANDBOX_ROOT

    wrong = {**OPENAPI_CREDENTIALS, "app_secret": "not-the-secret"}
    (result,) = await _through_sandbox(
        {"openapi_base_url": f"{SANDBOX_ROOT}/yunexpress", **wrong}, [make_number(3)]
    )
    assert isinstance(result.outcome, CarrierFailure)
    assert result.outcome.kind is ErrorKind.AUTH

"""Requests rebuilt from the carriers' own published examples, compared byte for byte.

Each test names its source. Literals were computed outside the project (`md5sum`,
`openssl dgst -sha256 -hmac`, `base64`) from the published inputs, so a change to our
signing or request building cannot move the expectation along with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from carriers.base import RateLimit
from carriers.cainiao import CARRIER as CAINIAO
from carriers.cainiao.client import CainiaoSettings
from carriers.fourpx import CARRIER as FOURPX
from carriers.fourpx.client import FourPXSettings, sign
from carriers.http import CarrierHttp
from carriers.kit import create_adapter
from carriers.yanwen import CARRIER as YANWEN
from carriers.yanwen.client import YanwenSettings
from carriers.yunexpress import CARRIER as YUNEXPRESS
from carriers.yunexpress.client import YunExpressSettings, basic_token
from carriers.yunexpress.openapi import openapi_sign, token_body


async def _sent(info: Any, settings: Any, numbers: list[str], **create: Any) -> list[httpx.Request]:
    """The requests the carrier's adapter sends for `numbers` (answered with 418)."""
    captured: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(418)

    async with httpx.AsyncClient(transport=httpx.MockTransport(capture)) as client:
        http = CarrierHttp(
            client=client,
            carrier=info.code,
            adapter_version=info.adapter_version,
            rate_limit=RateLimit(1000.0),
            max_attempts=1,
        )
        adapter: Any = create_adapter(info, settings, http=http)
        for name, value in create.items():
            setattr(adapter, name, value)
        await adapter.track(numbers)
    return captured


# -- 4PX --------------------------------------------------------------------------------------
# 4PX open platform developer docs, signature section ("签名", open.4px.com): the worked
# example signs app_key 16081f05-e8fc-4250-b9c4-0660d1ecbb28, format json, method
# ds.xms.order.create, timestamp 1532592413187, v 1.0, body {"aa":"bb"} with the secret
# 7eebf328-8e5a-4030-904d-ec6e89174fbc and expects ff4af77c062a9b97d98aa29777621c4a (the same
# inputs and sign are pinned by public 4PX integrations' tests).
FPX_KEY = "16081f05-e8fc-4250-b9c4-0660d1ecbb28"
FPX_SECRET = "7eebf328-8e5a-4030-904d-ec6e89174fbc"


def test_4px_sign_reproduces_the_worked_example_exactly() -> None:
    got = sign(
        app_key=FPX_KEY,
        app_secret=FPX_SECRET,
        method="ds.xms.order.create",
        timestamp="1532592413187",
        version="1.0",
        body='{"aa":"bb"}',
    )
    assert got == "ff4af77c062a9b97d98aa29777621c4a"  # lower case, as published


async def test_4px_tracking_call_is_byte_exact() -> None:
    """`tr.order.tracking.get` with the example's account: URL, body and sign, byte for byte."""
    settings = FourPXSettings(_env_file=None, app_key=FPX_KEY, app_secret=FPX_SECRET)  # type: ignore[call-arg]
    at = datetime.fromtimestamp(1532592413.187, tz=UTC)
    (request,) = await _sent(
        FOURPX,
        settings,
        ["4PX3001518625089CN"],
        clock=lambda: at,
    )
    assert request.method == "POST"
    assert str(request.url) == (
        "https://open.4px.com/router/api/service?method=tr.order.tracking.get&v=1.0.0"
        f"&app_key={FPX_KEY}&timestamp=1532592413187&format=json&access_token="
        "&sign=5b1f2ed645a37f16a901e4f0027a3a64&language=en"
    )
    assert request.content == b'{"deliveryOrderNo":"4PX3001518625089CN"}'
    assert request.headers["content-type"] == "application/json;charset=UTF-8"


# -- YunExpress classic ----------------------------------------------------------------------
# YunExpress OMS API docs: `Authorization: Basic base64(CustomerCode&ApiSecret)`, and the
# published test account C06901 / 3VniAsdO6mU= (test host omsapi.uat.yunexpress.com, used
# verbatim by many public integrations). Full trace: `GET Tracking/GetTrackAllInfo?OrderNumber=`.


def test_yunexpress_basic_header_for_the_official_test_account() -> None:
    assert basic_token("C06901", "3VniAsdO6mU=") == "Basic QzA2OTAxJjNWbmlBc2RPNm1VPQ=="


async def test_yunexpress_classic_call_is_the_full_trace_over_https() -> None:
    settings = YunExpressSettings(_env_file=None, customer_code="C06901", api_secret="3VniAsdO6mU=")  # type: ignore[call-arg]
    (request,) = await _sent(YUNEXPRESS, settings, ["YT2233621266010029"])
    assert request.method == "GET"
    assert str(request.url) == (
        "https://oms.api.yunexpress.com/api/Tracking/GetTrackAllInfo?OrderNumber=YT2233621266010029"
    )
    assert request.headers["authorization"] == "Basic QzA2OTAxJjNWbmlBc2RPNm1VPQ=="
    assert request.headers["accept-language"] == "en-us"


# -- YunExpress Open Platform ----------------------------------------------------------------
# No worked example with an expected sign is published. The signed text and encoding are the
# ones in evan-lc/yunexpress-sdk tests/auth/signing.test.ts (secret "my-secret", date
# 1711612800000, GET /v1/order/info/get; POST with `body=` first) and in independent
# integrations of `/v1/track-service/info/get`; the expected values come from openssl.


@pytest.mark.parametrize(
    ("secret", "method", "uri", "body", "expected"),
    [
        pytest.param(
            "my-secret",
            "GET",
            "/v1/order/info/get",
            "",
            "hH+efv/lcFj7ziN4y17FpMAJrwARGzDUzz1ILmFpv+w=",
            id="get-without-body",
        ),
        pytest.param(
            "secret-key",
            "POST",
            "/v1/order/package/create",
            '{"order":"123"}',
            "WB0FwwEoxD7eg3maZmRoG/gelAWgdVZsBfQJPrOcTJY=",
            id="post-with-body",
        ),
    ],
)
def test_yunexpress_openapi_sign(
    secret: str, method: str, uri: str, body: str, expected: str
) -> None:
    got = openapi_sign(app_secret=secret, date="1711612800000", method=method, uri=uri, body=body)
    assert got == expected


async def test_yunexpress_openapi_token_then_signed_tracking_call() -> None:
    settings = YunExpressSettings(_env_file=None, app_id="app-1", app_secret="my-secret")  # type: ignore[call-arg]
    captured: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        if request.url.path == "/openapi/oauth2/token":
            return httpx.Response(200, json={"accessToken": "tok-1", "expiresIn": 7200})
        return httpx.Response(418)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        http = CarrierHttp(
            client=client,
            carrier="yunexpress",
            adapter_version=YUNEXPRESS.adapter_version,
            rate_limit=RateLimit(1000.0),
            max_attempts=1,
        )
        adapter: Any = create_adapter(YUNEXPRESS, settings, http=http)
        adapter.clock = lambda: 1711612800000
        await adapter.track(["YT2233621266010029"])
    token, track = captured
    assert str(token.url) == "https://openapi.yunexpress.cn/openapi/oauth2/token"
    assert token.content == token_body("app-1", "my-secret").encode()
    assert token.content == (
        b'{"grantType":"client_credentials","appId":"app-1","appSecret":"my-secret"}'
    )
    assert str(track.url) == (
        "https://openapi.yunexpress.cn/v1/track-service/info/get?order_number=YT2233621266010029"
    )
    assert track.headers["token"] == "tok-1"
    assert track.headers["date"] == "1711612800000"
    # openssl: HMAC-SHA256 with "my-secret" of
    # "date=1711612800000&method=GET&uri=/v1/track-service/info/get", base64
    assert track.headers["sign"] == "VqEBESFVmRegiprHVyrogr9ySefETpj22uuZp3rewss="


# -- Yanwen ----------------------------------------------------------------------------------
# Yanwen tracking API (trackapi.yanwentech.com): `GET /api/tracking?nums=<n1,n2>` with the
# customer number, raw, as `Authorization`. Yanwen's published test account is 100000; the
# documented example number 6A16723741816 and this exact URL are pinned by karrio's Yanwen
# tests (karrioapi/karrio sdk/extensions/yanwen/tests/yanwen/test_tracking.py).


async def test_yanwen_tracking_call_is_byte_exact() -> None:
    settings = YanwenSettings(_env_file=None, customer_number="100000")  # type: ignore[call-arg]
    (request,) = await _sent(
        YANWEN,
        settings,
        ["6A16723741816"],
    )
    assert request.method == "GET"
    assert str(request.url) == "http://trackapi.yanwentech.com/api/tracking?nums=6A16723741816"
    assert request.headers["authorization"] == "100000"


# -- Cainiao ---------------------------------------------------------------------------------
# No official API: the public endpoint as its open-source clients call it (dir01/parcels,
# shlee322/delivery-tracker, itsvic-dev/parcel; carrier-apis §3.1).


async def test_cainiao_public_endpoint_call() -> None:
    settings = CainiaoSettings(_env_file=None)  # type: ignore[call-arg]
    (request,) = await _sent(CAINIAO, settings, ["RS0814398526Y"])
    assert request.method == "GET"
    assert str(request.url) == (
        "https://global.cainiao.com/global/detail.json?mailNos=RS0814398526Y&lang=en-US"
    )

"""The shared HTTP layer's retries: which statuses, how many attempts, how long between them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx

from carriers.base import RateLimit
from carriers.http import CarrierHttp
from tracking.core.exceptions import AuthError, CarrierServerError

URL = "https://carrier.example/track"


def make_http(client: httpx.AsyncClient, *, attempts: int = 5) -> CarrierHttp:
    return CarrierHttp(
        client=client,
        carrier="cainiao",
        adapter_version="test/1",
        rate_limit=RateLimit(1_000_000.0, concurrency=4),  # never the reason to wait
        max_attempts=attempts,
        backoff=0.01,
    )


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every backoff the layer waits, recorded instead of slept."""
    waited: list[float] = []
    real_sleep = asyncio.sleep

    async def record(delay: float, *args: Any) -> None:
        if delay > 0:
            waited.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", record)
    return waited


async def test_429_then_5xx_then_success(sleeps: list[float]) -> None:
    with respx.mock() as router:
        route = router.get(URL).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "2"}),
                httpx.Response(503),
                httpx.Response(200, json={"ok": True}),
            ]
        )
        async with httpx.AsyncClient() as client:
            http = make_http(client)
            exchange = await http.request("GET", URL)
    assert exchange.status == 200
    assert route.call_count == 3
    assert (http.requests_sent, http.retries) == (3, 2)
    # Retry-After is honoured; then exponential backoff (base 0.01 s, second attempt: x2).
    assert sleeps[0] == 2.0
    assert 0.02 <= sleeps[1] < 0.03


async def test_attempts_run_out_with_the_last_exchange(sleeps: list[float]) -> None:
    with respx.mock() as router:
        route = router.get(URL).mock(return_value=httpx.Response(502, text="bad gateway"))
        async with httpx.AsyncClient() as client:
            http = make_http(client, attempts=3)
            with pytest.raises(CarrierServerError) as caught:
                await http.request("GET", URL)
    assert route.call_count == 3
    assert caught.value.exchange is not None
    assert caught.value.exchange.body == b"bad gateway"
    # Waits after attempts 1 and 2: 0.01 and 0.02 s, each with up to 0.01 s of jitter.
    assert len(sleeps) == 2
    assert 0.01 <= sleeps[0] < 0.02
    assert 0.02 <= sleeps[1] < 0.03


async def test_a_single_attempt_is_never_retried(sleeps: list[float]) -> None:
    with respx.mock() as router:
        route = router.get(URL).mock(return_value=httpx.Response(503))
        async with httpx.AsyncClient() as client:
            with pytest.raises(CarrierServerError):
                await make_http(client, attempts=1).request("GET", URL)
    assert route.call_count == 1
    assert sleeps == []


async def test_refused_credentials_are_not_retried(sleeps: list[float]) -> None:
    with respx.mock() as router:
        route = router.get(URL).mock(return_value=httpx.Response(401))
        async with httpx.AsyncClient() as client:
            with pytest.raises(AuthError):
                await make_http(client).request("GET", URL)
    assert route.call_count == 1
    assert sleeps == []

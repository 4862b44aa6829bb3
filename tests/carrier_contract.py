"""The contract every carrier adapter passes; each `test_<carrier>.py` subclasses it.

A subclass sets `carrier` (the `CarrierInfo`) and `credentials` (invented values for its
settings model). Cassette tests are generated from `cassettes/<code>/*.yaml` by conftest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import CarrierAdapter, CarrierInfo, RateLimit, SandboxRequest
from carriers.http import CarrierHttp
from carriers.kit import create_adapter
from tests.cassette import Cassette
from tracking.core.domain import CarrierFailure, ErrorKind, NumberResult, Stage, TrackResult
from tracking.judge.milestones import chronological, milestone_times
from tracking.sandbox.world import SCENARIOS, World, number_for

WORLD_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


class CarrierContract:
    """Shared tests: cassettes, sandbox round trip, errors, redaction."""

    carrier: ClassVar[CarrierInfo]
    credentials: ClassVar[dict[str, Any]] = {}
    refusal_kind: ClassVar[ErrorKind] = ErrorKind.AUTH
    """What the sandbox's "auth" refusal becomes (Cainiao's is its anti-bot page: blocked)."""

    # -- helpers -------------------------------------------------------------------------

    def make_settings(self, **overrides: Any) -> Any:
        # No environment or .env: tests see only the values they pass.
        return self.carrier.settings_model(_env_file=None, **{**self.credentials, **overrides})

    def make_adapter(
        self, client: httpx.AsyncClient, *, base_url: str | None = None, **overrides: Any
    ) -> tuple[CarrierAdapter, CarrierHttp]:
        settings = self.make_settings(base_url=base_url, **overrides)
        http = CarrierHttp(
            client=client,
            carrier=self.carrier.code,
            adapter_version=self.carrier.adapter_version,
            rate_limit=RateLimit(1000.0, concurrency=8),
            secrets=settings.secret_values(),
            max_attempts=3,
            backoff=0.0,
            name=self.carrier.name,
        )
        return create_adapter(self.carrier, settings, http=http), http

    async def track(self, numbers: Sequence[str], **kwargs: Any) -> list[NumberResult]:
        async with httpx.AsyncClient(timeout=5.0) as client:
            adapter, _ = self.make_adapter(client, **kwargs)
            return await adapter.track(numbers)

    async def captured_request(self, numbers: Sequence[str], **overrides: Any) -> SandboxRequest:
        """The request the adapter really sends for `numbers`, as the sandbox would see it."""
        captured: list[httpx.Request] = []

        def capture(request: httpx.Request) -> httpx.Response:
            captured.append(request)
            return httpx.Response(418)

        async with httpx.AsyncClient(transport=httpx.MockTransport(capture)) as client:
            adapter, _ = self.make_adapter(client, max_attempts=1, **overrides)
            await adapter.track(numbers)
        assert captured, "the adapter sent no request"
        request = captured[0]
        return SandboxRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.url.params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.content,
        )

    # -- cassettes -----------------------------------------------------------------------

    async def test_cassette(self, cassette: Cassette) -> None:
        with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
            cassette.mount(router)
            results = await self.track(cassette.numbers)
        by_number = {r.tracking_number: r for r in results}
        for exp in cassette.expect:
            result = by_number[exp.number]
            assert result.exchanges, "every result keeps its raw exchange"
            if exp.error is not None:
                assert isinstance(result.outcome, CarrierFailure), result.outcome
                assert result.outcome.kind == ErrorKind(exp.error)
                continue
            assert isinstance(result.outcome, TrackResult), result.outcome
            events = chronological(result.outcome.events)
            assert [e.stage.value for e in events] == exp.stages
            times = {k: iso(v) for k, v in milestone_times(events).items()}
            for name, when in exp.milestones.items():
                assert times[name] == when, f"milestone {name}"
            assert result.outcome.final is exp.final
            unknown = {e.code for e in events if e.stage is Stage.UNKNOWN}
            assert unknown <= set(exp.unknown_codes), f"unmapped codes: {unknown}"
            assert [leg.tracking_number for leg in result.outcome.legs] == exp.legs

    async def test_cassette_requests_carry_no_secret_in_exchange(self, cassette: Cassette) -> None:
        with respx.mock(assert_all_called=False) as router:
            cassette.mount(router)
            results = await self.track(cassette.numbers)
        secrets = self.make_settings().secret_values()
        for result in results:
            for exchange in result.exchanges:
                stored = " ".join(
                    [exchange.url, (exchange.request_body or b"").decode("utf-8", "replace")]
                    + [f"{k}: {v}" for k, v in exchange.headers]
                )
                for secret in secrets:
                    assert secret not in stored

    # -- sandbox round trip --------------------------------------------------------------

    @pytest.mark.parametrize("scenario", SCENARIOS)
    async def test_round_trip(self, scenario: str) -> None:
        """parse(render(shipment)) gives back the shipment's stages, times and finality."""
        sandbox, make = self.carrier.sandbox, self.carrier.make_number
        assert sandbox is not None
        assert make is not None
        world = World(now=WORLD_NOW)
        for index in range(4):
            number = number_for(make, scenario, index)
            shipment = world.shipment(self.carrier.code, number)
            request = await self.captured_request([number], **sandbox.credentials)
            reply = sandbox.render(request, [(number, shipment)], now=WORLD_NOW)
            assert reply.status == 200
            parsed = self.carrier.parse(reply.body, requested=[number])
            outcome = parsed[number]
            if shipment is None:
                assert isinstance(outcome, CarrierFailure)
                assert outcome.kind is ErrorKind.NOT_FOUND
                continue
            assert isinstance(outcome, TrackResult), outcome
            events = chronological(outcome.events)
            expected = self.visible_events(shipment)
            assert [e.stage for e in events] == [e.stage for e in expected]
            for got, want in zip(events, expected, strict=True):
                assert abs(got.occurred_at - want.at) < timedelta(seconds=1)
            assert outcome.final is shipment.final
            if shipment.last_mile is not None and self.reveals_last_mile:
                assert shipment.last_mile.tracking_number in [
                    leg.tracking_number for leg in outcome.legs
                ]

    @settings(
        max_examples=60,
        deadline=None,
        # One inherited test runs under each carrier subclass: that is the point.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    @given(serial=st.integers(min_value=0, max_value=10**9))
    def test_round_trip_property(self, serial: int) -> None:
        """Any number of the carrier's format: parse(render(world)) is the world's story."""
        sandbox, make = self.carrier.sandbox, self.carrier.make_number
        assert sandbox is not None
        assert make is not None
        number = make(serial)
        shipment = World(now=WORLD_NOW).shipment(self.carrier.code, number)
        request = self._property_request(number)
        reply = sandbox.render(request, [(number, shipment)], now=WORLD_NOW)
        outcome = self.carrier.parse(reply.body, requested=[number])[number]
        if shipment is None:
            assert isinstance(outcome, CarrierFailure)
            assert outcome.kind is ErrorKind.NOT_FOUND
            return
        assert isinstance(outcome, TrackResult), outcome
        events = chronological(outcome.events)
        expected = self.visible_events(shipment)
        assert [e.stage for e in events] == [e.stage for e in expected]
        for got, want in zip(events, expected, strict=True):
            assert abs(got.occurred_at - want.at) < timedelta(seconds=1)
        assert outcome.final is shipment.final

    def _property_request(self, number: str) -> SandboxRequest:
        """The adapter's real request for `number` (captured once per number)."""
        import asyncio

        sandbox = self.carrier.sandbox
        assert sandbox is not None
        return asyncio.run(self.captured_request([number], **sandbox.credentials))

    reveals_last_mile: ClassVar[bool] = True

    def visible_events(self, shipment: Any) -> list[Any]:
        """The simulated events this carrier reports (all of them unless overridden)."""
        return list(shipment.events)

    async def test_sandbox_accepts_the_adapters_request(self) -> None:
        sandbox, make = self.carrier.sandbox, self.carrier.make_number
        assert sandbox is not None
        assert make is not None
        numbers = [make(i) for i in range(1, 1 + min(3, self.carrier.batch_size))]
        request = await self.captured_request(numbers, **sandbox.credentials)
        assert sandbox.authorized(request)
        assert sandbox.numbers(request) == numbers

    # -- errors --------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("kind", "expected"),
        [
            pytest.param("auth", None, id="auth"),
            pytest.param("rate_limited", ErrorKind.RATE_LIMITED, id="rate-limited"),
            pytest.param("server_error", ErrorKind.CARRIER_ERROR, id="server-error"),
        ],
    )
    async def test_sandbox_error_becomes_typed_failure(
        self, kind: Any, expected: ErrorKind | None
    ) -> None:
        expected = expected or self.refusal_kind
        sandbox, make = self.carrier.sandbox, self.carrier.make_number
        assert sandbox is not None
        assert make is not None
        reply = sandbox.render_error(kind, retry_after=0)
        numbers = [make(7), make(8)][: self.carrier.batch_size]
        with respx.mock(assert_all_called=False) as router:
            router.route().respond(
                reply.status,
                content=reply.body,
                headers={"content-type": reply.content_type, **dict(reply.headers)},
            )
            results = await self.track(numbers)
        assert [r.tracking_number for r in results] == numbers
        for result in results:
            assert isinstance(result.outcome, CarrierFailure)
            assert result.outcome.kind is expected

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b"", id="empty"),
            pytest.param(b'{"truncated": ', id="truncated"),
        ],
    )
    async def test_malformed_body_is_bad_payload(self, body: bytes) -> None:
        make = self.carrier.make_number
        assert make is not None
        with respx.mock(assert_all_called=False) as router:
            router.route().respond(200, content=body, headers={"content-type": "application/json"})
            results = await self.track([make(3)])
        assert isinstance(results[0].outcome, CarrierFailure)
        assert results[0].outcome.kind is ErrorKind.BAD_PAYLOAD
        assert results[0].exchanges[0].body == body

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b"<html>502 Bad Gateway</html>", id="html"),
            pytest.param(
                b'{"ret":["FAIL_SYS_USER_VALIDATE","RGV587_ERROR::SM::busy"],'
                b'"data":{"url":"https://example.invalid/_____tmd_____/punish?x5secdata=x"}}',
                id="alibaba-captcha-json",
            ),
        ],
    )
    async def test_challenge_or_html_for_json_is_blocked_with_its_body_kept(
        self, body: bytes
    ) -> None:
        make = self.carrier.make_number
        assert make is not None
        with respx.mock(assert_all_called=False) as router:
            route = router.route().respond(
                200, content=body, headers={"content-type": "application/json"}
            )
            results = await self.track([make(3)])
        failure = results[0].outcome
        assert isinstance(failure, CarrierFailure)
        assert failure.kind is ErrorKind.BLOCKED
        assert f"{self.carrier.name} is refusing automated requests; retrying at" in failure.message
        assert failure.retry_at is not None
        assert results[0].exchanges[0].body == body  # the evidence of what happened
        assert route.call_count == 1  # a block is not retried at once

    async def test_transport_error_after_retries(self) -> None:
        make = self.carrier.make_number
        assert make is not None
        with respx.mock(assert_all_called=False) as router:
            route = router.route().mock(side_effect=httpx.ConnectError("refused"))
            results = await self.track([make(4)])
        assert route.call_count == 3
        assert isinstance(results[0].outcome, CarrierFailure)
        assert results[0].outcome.kind is ErrorKind.CARRIER_ERROR

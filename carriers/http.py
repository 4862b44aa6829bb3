"""The shared HTTP layer: one AsyncClient, bounded retries, rate limit, redaction."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from carriers.base import RateLimit
from carriers.blocking import BlockGate, LocalBlockGate, blocked_message, detect_block
from tracking.core.domain import Exchange
from tracking.core.exceptions import (
    AuthError,
    BlockedError,
    CarrierError,
    CarrierServerError,
    RateLimitedError,
    TransportError,
)
from tracking.core.redaction import bytes_pattern, redact_bytes, register_secrets, secret_forms

__all__ = [
    "ALLOWED_RESPONSE_HEADERS",
    "REDACTED",
    "SENSITIVE_HEADERS",
    "SENSITIVE_PARAMS",
    "CarrierHttp",
    "RequestLimiter",
    "default_timeout",
    "redact_text",
]

log = logging.getLogger(__name__)

REDACTED = "[REDACTED]"

SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {"authorization", "17token", "token", "sign", "cookie", "x-api-key", "as-api-key"}
)
"""Request headers whose values never reach storage, logs or cassettes."""

SENSITIVE_PARAMS: frozenset[str] = frozenset(
    {"app_key", "access_token", "sign", "token", "apikey", "api_key", "secret", "key"}
)
"""Query-string and form parameters whose values are always redacted."""

ALLOWED_RESPONSE_HEADERS: frozenset[str] = frozenset(
    {"content-type", "content-length", "date", "retry-after", "x-request-id", "etag"}
)
"""Response headers kept with a stored exchange; everything else is dropped."""

_MAX_RETRY_AFTER = 120.0


def default_timeout(seconds: float = 20.0) -> httpx.Timeout:
    """The explicit timeout every carrier client uses."""
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret value in `text`."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _redact_url(url: httpx.URL, secrets: Sequence[str]) -> str:
    parts = urlsplit(str(url))
    query = [
        (k, REDACTED if k.lower() in SENSITIVE_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    rebuilt = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return redact_text(rebuilt, secrets)


def _redact_body(body: bytes, content_type: str, secrets: Sequence[str]) -> bytes:
    if not body:
        return body
    text = body.decode("utf-8", errors="replace")
    if "x-www-form-urlencoded" in content_type:
        pairs = [
            (k, REDACTED if k.lower() in SENSITIVE_PARAMS else v)
            for k, v in parse_qsl(text, keep_blank_values=True)
        ]
        text = urlencode(pairs)
    return redact_text(text, secrets).encode("utf-8")


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, min(float(value), _MAX_RETRY_AFTER))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), _MAX_RETRY_AFTER))


class RequestLimiter(Protocol):
    """Waits until one more request to a carrier fits its rate.

    The default is in-process (a leaky bucket per carrier); a shared one (Redis or
    PostgreSQL) keeps a carrier's limit across many worker processes.
    """

    async def acquire(self) -> None: ...


class _Retryable(Exception):
    """Internal: an attempt that may be retried (429, 5xx, transport)."""

    def __init__(
        self,
        error: CarrierError,
        *,
        retry_after: float | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.exchange = exchange

    def given_up(self) -> CarrierError:
        """The error to raise once no attempt is left, carrying the last exchange."""
        self.error.exchange = self.exchange
        return self.error


class CarrierHttp:
    """Sends one carrier's requests: rate limit, concurrency cap, retries, redaction.

    **Parameters:**

    * **client** - the shared `httpx.AsyncClient` (built once, with an explicit timeout).
    * **carrier** - the carrier's code, recorded on every exchange.
    * **adapter_version** - recorded on every exchange.
    * **rate_limit** - requests per period and requests in flight.
    * **secrets** - values that must never be stored (credential values).
    * **max_attempts** - attempts per request, the first included.
    * **backoff** - base of the exponential backoff, in seconds.
    * **deadline** - total seconds one attempt may take, whatever the transport (a
      safety net over httpx's own timeouts, which in-process transports do not apply).
    * **limiter** - paces requests to the carrier's rate; in-process when not given.
    * **name** - the carrier's display name, for the messages a user reads.
    * **block_gate** - the carrier's anti-bot back-off (`carriers.blocking`); shared by the
      workers when given, in-process otherwise. While it is closed no request is sent:
      every call fails at once with `BlockedError` naming when requests resume.
    """

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        carrier: str,
        adapter_version: str,
        rate_limit: RateLimit,
        secrets: Sequence[str] = (),
        max_attempts: int = 5,
        backoff: float = 0.5,
        deadline: float = 60.0,
        limiter: RequestLimiter | None = None,
        name: str = "",
        block_gate: BlockGate | None = None,
    ) -> None:
        self.client = client
        self.carrier = carrier
        self.name = name or carrier
        # A shared limiter (`tracking.fetch.limits`) brings the carrier's shared gate along.
        self.block_gate: BlockGate = (
            block_gate or getattr(limiter, "block_gate", None) or LocalBlockGate()
        )
        self._saw_block = False
        self.adapter_version = adapter_version
        self.rate_limit = rate_limit
        # Every encoding of each value (URL-encoded, base64, Basic pairs), known process-wide
        # too, so that logs and the database never hold them (`tracking.core.redaction`).
        self.secrets = tuple(dict.fromkeys([*secret_forms(secrets), *(s for s in secrets if s)]))
        register_secrets(secrets)
        self._echo = bytes_pattern(secrets)  # this account's values, in a body echoing them
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.deadline = deadline
        # A bucket of one request per slot: no bursts beyond the carrier's rate.
        self._limiter: RequestLimiter = limiter or AsyncLimiter(1, 1.0 / rate_limit.per_second)
        self._in_flight = asyncio.Semaphore(rate_limit.concurrency)
        self.requests_sent = 0
        self.retries = 0

    def _delay(self, failure: BaseException | None, *, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 = the first)."""
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            return failure.retry_after
        exp = self.backoff * (2 ** (attempt - 1))
        return float(min(exp, 30.0) + random.uniform(0, self.backoff))

    def _wait(self, state: RetryCallState) -> float:
        # Tenacity counts from the second attempt (the first runs bare, see `request`).
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        return self._delay(failure, attempt=state.attempt_number + 1)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Exchange:
        """Send a request with retries; return the final exchange.

        Statuses other than 401/403/429/5xx (e.g. 400, 404) come back as an exchange: the
        adapter decides what they mean for its carrier.

        Raises `BlockedError` for an anti-bot challenge (never retried: the carrier's back-off
        starts, and no request goes out until it ends), `AuthError` on 401/403, and
        `RateLimitedError`, `CarrierServerError` or `TransportError` when the attempts run
        out; each carries the last exchange, if any.
        """
        await self._refuse_if_blocked()
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {**(headers or {}), "Content-Type": "application/json"}
        elif form is not None:
            content = urlencode(form).encode()
            headers = {**(headers or {}), "Content-Type": "application/x-www-form-urlencoded"}
        request = self.client.build_request(
            method, url, params=params, headers=headers, content=content
        )
        try:
            # The first attempt runs bare: nearly every request succeeds at once, and setting
            # up the retry machinery for each cost as much as parsing a small answer.
            return await self._attempt(request)
        except _Retryable as exc:
            first = exc
        if self.max_attempts <= 1:
            raise first.given_up() from None
        self.retries += 1
        await asyncio.sleep(self._delay(first, attempt=1))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts - 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.retries += 1
                    return await self._attempt(request)
        except _Retryable as exc:
            raise exc.given_up() from None
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _refuse_if_blocked(self) -> None:
        """`BlockedError` (nothing sent) while the carrier's back-off runs."""
        until = await self.block_gate.blocked_until()
        if until is not None:
            self._saw_block = True
            raise BlockedError(
                blocked_message(self.name, until), carrier=self.carrier, retry_at=until
            )

    async def _attempt(self, request: httpx.Request) -> Exchange:
        async with self._in_flight:
            await self._limiter.acquire()
            # Again after waiting for a slot: a block may have begun meanwhile. Without I/O,
            # so that nothing stands between a reserved slot and its request.
            if (until := self.block_gate.peek()) is not None:
                self._saw_block = True
                raise BlockedError(
                    blocked_message(self.name, until), carrier=self.carrier, retry_at=until
                )
            self.requests_sent += 1
            try:
                async with asyncio.timeout(self.deadline):
                    response = await self.client.send(request)
                    body = await response.aread()
            except (httpx.TimeoutException, TimeoutError) as exc:
                raise _Retryable(
                    TransportError(f"{self.carrier}: timed out", carrier=self.carrier)
                ) from exc
            except httpx.TransportError as exc:
                detail = redact_text(str(exc), self.secrets)
                raise _Retryable(
                    TransportError(
                        f"{self.carrier}: {type(exc).__name__}: {detail}", carrier=self.carrier
                    )
                ) from exc
        exchange = self._exchange(request, response, body)
        status = response.status_code
        evidence = detect_block(status, response.headers.get("content-type", ""), body)
        if evidence is not None:
            self._saw_block = True
            until = await self.block_gate.record_block()
            raise BlockedError(
                f"{blocked_message(self.name, until)} (the answer was {evidence})",
                carrier=self.carrier,
                status=status,
                exchange=exchange,
                evidence=evidence,
                retry_at=until,
            )
        if self._saw_block and status < 400:
            self._saw_block = False
            await self.block_gate.clear()
        if status in (401, 403):
            raise AuthError(
                f"{self.carrier}: access refused (HTTP {status}): "
                + ("credentials rejected" if status == 401 else "forbidden or blocked"),
                carrier=self.carrier,
                status=status,
                exchange=exchange,
            )
        if status == 429:
            raise _Retryable(
                RateLimitedError(
                    f"{self.carrier}: rate limited (HTTP 429)", carrier=self.carrier, status=429
                ),
                retry_after=_retry_after_seconds(response.headers.get("retry-after")),
                exchange=exchange,
            )
        if status >= 500:
            raise _Retryable(
                CarrierServerError(
                    f"{self.carrier}: server error (HTTP {status})",
                    carrier=self.carrier,
                    status=status,
                ),
                retry_after=_retry_after_seconds(response.headers.get("retry-after")),
                exchange=exchange,
            )
        return exchange

    def _exchange(self, request: httpx.Request, response: httpx.Response, body: bytes) -> Exchange:
        headers = tuple(
            (name.lower(), value)
            for name, value in response.headers.items()
            if name.lower() in ALLOWED_RESPONSE_HEADERS
        )
        request_body = request.content or None
        if request_body is not None:
            request_body = _redact_body(
                request_body, request.headers.get("content-type", ""), self.secrets
            )
        return Exchange(
            carrier=self.carrier,
            adapter_version=self.adapter_version,
            method=request.method,
            url=_redact_url(request.url, self.secrets),
            request_body=request_body,
            status=response.status_code,
            headers=headers,
            # A carrier echoing a credential back (an error page quoting the key) has it
            # replaced before the body is hashed, parsed or stored.
            body=redact_bytes(body, self._echo),
            fetched_at=datetime.now(UTC),
        )

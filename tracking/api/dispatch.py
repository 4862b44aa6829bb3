"""The webhook dispatcher: sends due deliveries, each on its own, each within a deadline.

* Every delivery is claimed and sent as its own task: a slow receiver holds only the slots of
  its own deliveries (at most `per_webhook` at a time), never a batch of other tenants'
  deliveries, and the dispatcher claims more as soon as any slot frees up.
* Every attempt has a total deadline (`timeout_seconds`, connect to last byte read): a receiver
  trickling its answer a byte at a time is cut off at the deadline like one that never answers.
* Requests go through `GuardedTransport` (public addresses only, pinned at connect, see
  `tracking.api.outbound`), never follow redirects and ignore proxy variables.
* The delivery log keeps the status, a fixed one-line error and at most `EXCERPT_CHARS`
  printable characters of the receiver's answer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine

from tracking import __version__
from tracking.api.context import RETRY_SCHEDULE, ApiContext
from tracking.api.outbound import REFUSED, GuardedTransport, TargetRefused
from tracking.api.wakeup import Wakeable
from tracking.api.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from tracking.core.exceptions import StorageError
from tracking.store.webhook_events import emit_verdict_changes
from tracking.store.webhooks import (
    AttemptOutcome,
    DueDelivery,
    claim_due_deliveries,
    record_attempt,
)

__all__ = ["EXCERPT_CHARS", "WebhookDispatcher"]

EXCERPT_CHARS = 256
"""The most of a receiver's answer the delivery log shows."""

_log = logging.getLogger(__name__)


def _excerpt(data: bytes) -> str:
    """At most `EXCERPT_CHARS` printable characters of an answer (controls become spaces)."""
    text = data.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    return "".join(c if c.isprintable() else " " for c in text)


def _error(exc: BaseException, timeout: float) -> str:
    """One fixed line per kind of failure: nothing of the exception's own text."""
    if isinstance(exc, TargetRefused):
        return REFUSED
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timed out: no complete answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect to the receiver"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "the connection to the receiver failed"
    return "the request could not be sent"


class WebhookDispatcher(Wakeable):
    """Sends due deliveries and turns verdict changes into events, until cancelled.

    **Parameters:**

    * **engine** - the database.
    * **schedule** - waits between attempts (the first attempt is immediate).
    * **timeout_seconds** - the total time one attempt may take, connect to last byte.
    * **poll_seconds** - how often to look for due deliveries and verdict changes.
    * **transport** - the HTTP transport (tests inject `httpx.MockTransport`); the guarded
      public-addresses-only transport by default.
    * **concurrency** - deliveries in flight at once, over all webhooks.
    * **per_webhook** - deliveries in flight at once to one webhook.
    * **allow_internal** - let the default transport reach internal addresses (self-hosting).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        schedule: Sequence[timedelta] = RETRY_SCHEDULE,
        timeout_seconds: float = 10.0,
        poll_seconds: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 8,
        per_webhook: int = 1,
        allow_internal: bool = False,
    ) -> None:
        super().__init__()
        self._engine = engine
        self._schedule = tuple(schedule)
        self._timeout = timeout_seconds
        self._poll = poll_seconds
        self._transport = transport
        self._concurrency = max(1, concurrency)
        self._per_webhook = max(1, per_webhook)
        self._allow_internal = allow_internal
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: dict[str, int] = {}

    @classmethod
    def for_api(cls, context: ApiContext) -> WebhookDispatcher:
        """The dispatcher of an app: its webhook options, its settings' `allow_internal`."""
        opts = context.options
        return cls(
            context.engine,
            schedule=opts.webhook_schedule,
            timeout_seconds=opts.webhook_timeout_seconds,
            poll_seconds=opts.webhook_poll_seconds,
            transport=opts.webhook_transport,
            allow_internal=context.settings.allow_internal_webhooks,
        )

    def client(self) -> httpx.AsyncClient:
        """The HTTP client of deliveries: the guarded transport unless one was given, the total
        deadline, no redirects, no proxy variables."""
        return httpx.AsyncClient(
            transport=self._transport or GuardedTransport(allow_internal=self._allow_internal),
            timeout=httpx.Timeout(self._timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": f"track-evidence/{__version__} (webhooks)"},
        )

    async def run(self) -> None:
        """Deliver and scan until cancelled."""
        with self._running():
            async with self.client() as client:
                try:
                    while True:
                        try:
                            await asyncio.to_thread(emit_verdict_changes, self._engine)
                            await self._start_due(client)
                        except StorageError as exc:
                            _log.warning("webhook dispatcher: %s", exc)
                        await self._rest(self._poll)
                finally:
                    for task in list(self._tasks):
                        task.cancel()
                    await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _start_due(self, client: httpx.AsyncClient) -> int:
        """Start a task for each due delivery a free slot can take; how many were started."""
        free = self._concurrency - len(self._tasks)
        if free <= 0:
            return 0
        now = datetime.now(UTC)
        batch = await asyncio.to_thread(
            claim_due_deliveries,
            self._engine,
            now=now,
            lease=timedelta(seconds=self._timeout + 60),
            limit=free,
            in_flight=dict(self._in_flight),
            per_webhook=self._per_webhook,
        )
        for due in batch:
            self._in_flight[due.webhook_id] = self._in_flight.get(due.webhook_id, 0) + 1
            task = asyncio.create_task(self._deliver(client, due), name=f"delivery-{due.id}")
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._done, webhook_id=due.webhook_id))
        return len(batch)

    def _done(self, task: asyncio.Task[None], webhook_id: str) -> None:
        self._tasks.discard(task)
        left = self._in_flight.get(webhook_id, 1) - 1
        if left > 0:
            self._in_flight[webhook_id] = left
        else:
            self._in_flight.pop(webhook_id, None)
        self._event.set()  # a slot is free: claim the next due delivery now

    async def _deliver(self, client: httpx.AsyncClient, due: DueDelivery) -> None:
        try:
            await self.attempt(client, due)
        except StorageError as exc:  # the lease runs out and the delivery is tried again
            _log.warning("webhook delivery %s not recorded: %s", due.id, exc)

    async def attempt(self, client: httpx.AsyncClient, due: DueDelivery) -> AttemptOutcome:
        """Send one attempt (`send`) and record it: the delivery log, the delivery's state."""
        outcome = await self.send(client, due)
        await asyncio.to_thread(
            record_attempt,
            self._engine,
            due=due,
            outcome=outcome,
            now=datetime.now(UTC),
            schedule=self._schedule,
        )
        return outcome

    async def send(self, client: httpx.AsyncClient, due: DueDelivery) -> AttemptOutcome:
        """One attempt, bounded by the total deadline."""
        body = due.payload.encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: due.event_type,
            DELIVERY_HEADER: due.id,
            SIGNATURE_HEADER: sign(due.secret, body, timestamp=int(time.time())),
        }
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                async with client.stream(
                    "POST", due.url, content=body, headers=headers
                ) as response:
                    answer = b""
                    async for chunk in response.aiter_bytes():
                        answer += chunk
                        if len(answer) >= EXCERPT_CHARS * 4:
                            break
                    code = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, TimeoutError) as exc:
            return AttemptOutcome(
                status_code=None,
                error=_error(exc, self._timeout),
                duration_ms=int((time.monotonic() - started) * 1000),
                excerpt="",
            )
        ok = 200 <= code < 300
        return AttemptOutcome(
            status_code=code,
            error=None if ok else f"receiver answered HTTP {code}",
            duration_ms=int((time.monotonic() - started) * 1000),
            excerpt=_excerpt(answer),
        )

"""Webhooks, their deliveries and the delivery log (`api_webhooks`, `..._deliveries`,
`..._attempts`).

A delivery is one event for one webhook, stored with its exact body before anything is sent
(`tracking.store.webhook_events` queues them). The dispatcher leases due deliveries
(`claim_due_deliveries`: a conditional update, so two dispatchers never send one twice) and
records each attempt (`record_attempt`), which also schedules the next one. Signing and
sending are `tracking.api.webhooks` and `tracking.api.dispatch`.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from tracking.core.fields import from_fields
from tracking.store.engine import transaction
from tracking.store.tables import WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, WEBHOOKS

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "Delivery",
    "DueDelivery",
    "Webhook",
    "claim_due_deliveries",
    "create_webhook",
    "delete_webhook",
    "due_deliveries",
    "get_delivery",
    "get_webhook",
    "list_deliveries",
    "list_webhooks",
    "new_id",
    "pending_deliveries",
    "record_attempt",
    "replay_delivery",
    "still_due",
]


def _secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def new_id(prefix: str) -> str:
    """A random id with a readable prefix (`wh_`, `dlv_`, `evt_`)."""
    return prefix + secrets.token_hex(10)


@dataclass(frozen=True, slots=True)
class Webhook:
    """A registered endpoint (its secret stays in the database)."""

    id: str
    tenant: str
    url: str
    events: tuple[str, ...]
    description: str
    created_at: datetime


def _webhook(row: Row[Any]) -> Webhook:
    return from_fields(Webhook, row, events=tuple(json.loads(row.events)))


def create_webhook(
    engine: Engine, *, tenant: str, url: str, events: Sequence[str], description: str = ""
) -> tuple[Webhook, str]:
    """Register a webhook; returns it and its signing secret (shown only this once)."""
    secret = _secret()
    hook = Webhook(
        id=new_id("wh_"),
        tenant=tenant,
        url=url,
        events=tuple(sorted(set(events))),
        description=description,
        created_at=datetime.now(UTC),
    )
    with transaction(engine) as connection:
        connection.execute(
            sa.insert(WEBHOOKS),
            {
                "id": hook.id,
                "tenant": tenant,
                "url": url,
                "events": json.dumps(list(hook.events)),
                "description": description,
                "secret": secret,
                "created_at": hook.created_at,
            },
        )
    return hook, secret


def list_webhooks(engine: Engine, *, tenant: str) -> list[Webhook]:
    """The tenant's webhooks, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(WEBHOOKS)
            .where(WEBHOOKS.c.tenant == tenant, WEBHOOKS.c.deleted_at.is_(None))
            .order_by(WEBHOOKS.c.created_at, WEBHOOKS.c.id)
        )
        return [_webhook(r) for r in rows]


def get_webhook(engine: Engine, *, tenant: str, webhook_id: str) -> Webhook | None:
    """One of the tenant's webhooks, or None."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(WEBHOOKS).where(
                WEBHOOKS.c.id == webhook_id,
                WEBHOOKS.c.tenant == tenant,
                WEBHOOKS.c.deleted_at.is_(None),
            )
        ).first()
    return _webhook(row) if row is not None else None


def delete_webhook(engine: Engine, *, tenant: str, webhook_id: str) -> bool:
    """Stop notifying a webhook (its pending deliveries are cancelled); False if unknown."""
    now = datetime.now(UTC)
    with transaction(engine) as connection:
        done = connection.execute(
            sa.update(WEBHOOKS)
            .where(
                WEBHOOKS.c.id == webhook_id,
                WEBHOOKS.c.tenant == tenant,
                WEBHOOKS.c.deleted_at.is_(None),
            )
            .values(deleted_at=now)
        )
        if done.rowcount != 1:
            return False
        connection.execute(
            sa.update(WEBHOOK_DELIVERIES)
            .where(
                WEBHOOK_DELIVERIES.c.webhook_id == webhook_id,
                WEBHOOK_DELIVERIES.c.status == "pending",
            )
            .values(status="cancelled", next_attempt_at=None)
        )
    return True


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one webhook, with its state."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    payload: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One line of a delivery log."""

    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str
    manual: bool


def _owned(tenant: str, webhook_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        WEBHOOK_DELIVERIES.c.webhook_id == webhook_id,
        WEBHOOK_DELIVERIES.c.tenant == tenant,
        WEBHOOK_DELIVERIES.c.webhook_id.in_(
            sa.select(WEBHOOKS.c.id).where(
                WEBHOOKS.c.id == webhook_id,
                WEBHOOKS.c.tenant == tenant,
                WEBHOOKS.c.deleted_at.is_(None),
            )
        ),
    )


def list_deliveries(
    engine: Engine,
    *,
    tenant: str,
    webhook_id: str,
    before: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> tuple[list[Delivery], tuple[datetime, str] | None]:
    """A page of a webhook's deliveries, newest first, and the key of the next page."""
    query = (
        sa.select(WEBHOOK_DELIVERIES)
        .where(_owned(tenant, webhook_id))
        .order_by(WEBHOOK_DELIVERIES.c.created_at.desc(), WEBHOOK_DELIVERIES.c.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(
            sa.or_(
                WEBHOOK_DELIVERIES.c.created_at < before[0],
                sa.and_(
                    WEBHOOK_DELIVERIES.c.created_at == before[0],
                    WEBHOOK_DELIVERIES.c.id < before[1],
                ),
            )
        )
    with engine.connect() as connection:
        rows = [from_fields(Delivery, r) for r in connection.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].created_at, rows[-1].id) if more and rows else None)


def get_delivery(
    engine: Engine, *, tenant: str, webhook_id: str, delivery_id: str
) -> tuple[Delivery, list[Attempt]] | None:
    """A delivery with its log, oldest attempt first; None when not the tenant's."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(WEBHOOK_DELIVERIES).where(
                _owned(tenant, webhook_id), WEBHOOK_DELIVERIES.c.id == delivery_id
            )
        ).first()
        if row is None:
            return None
        attempts = [
            from_fields(Attempt, a, manual=bool(a.manual))
            for a in connection.execute(
                sa.select(WEBHOOK_ATTEMPTS)
                .where(WEBHOOK_ATTEMPTS.c.delivery_id == delivery_id)
                .order_by(WEBHOOK_ATTEMPTS.c.id)
            )
        ]
    return from_fields(Delivery, row), attempts


def replay_delivery(
    engine: Engine, *, tenant: str, webhook_id: str, delivery_id: str
) -> Delivery | None:
    """Send a delivery again now, whatever its state, with a fresh retry schedule."""
    now = datetime.now(UTC)
    with transaction(engine) as connection:
        done = connection.execute(
            sa.update(WEBHOOK_DELIVERIES)
            .where(_owned(tenant, webhook_id), WEBHOOK_DELIVERIES.c.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=now, replay_requested_at=now)
        )
        if done.rowcount != 1:
            return None
        row = connection.execute(
            sa.select(WEBHOOK_DELIVERIES).where(WEBHOOK_DELIVERIES.c.id == delivery_id)
        ).one()
    return from_fields(Delivery, row)


@dataclass(frozen=True, slots=True)
class DueDelivery:
    id: str
    webhook_id: str
    url: str
    secret: str
    event_type: str
    payload: str
    manual: bool
    """Sent again on request (a replay), as the delivery log records."""


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """How one attempt ended: the receiver's status (None when it never answered), a fixed
    one-line error, how long it took, the start of the receiver's answer."""

    status_code: int | None
    error: str | None
    duration_ms: int
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


_DUE_COLUMNS = (
    WEBHOOK_DELIVERIES.c.id,
    WEBHOOK_DELIVERIES.c.webhook_id,
    WEBHOOK_DELIVERIES.c.event_type,
    WEBHOOK_DELIVERIES.c.payload,
    WEBHOOKS.c.url,
    WEBHOOKS.c.secret,
)
"""What sending a delivery reads (`DueDelivery` but for `manual`)."""


def pending_deliveries(*columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """`columns` of the pending deliveries whose webhook is not deleted (joined to it)."""
    return (
        sa.select(*columns)
        .join(WEBHOOKS, WEBHOOKS.c.id == WEBHOOK_DELIVERIES.c.webhook_id)
        .where(WEBHOOK_DELIVERIES.c.status == "pending", WEBHOOKS.c.deleted_at.is_(None))
    )


def due_deliveries(now: datetime, *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """`pending_deliveries` due by `now`, the longest due first."""
    return (
        pending_deliveries(*columns)
        .where(WEBHOOK_DELIVERIES.c.next_attempt_at <= now)
        .order_by(WEBHOOK_DELIVERIES.c.next_attempt_at, WEBHOOK_DELIVERIES.c.id)
    )


def claim_due_deliveries(
    engine: Engine,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    in_flight: dict[str, int],
    per_webhook: int,
) -> list[DueDelivery]:
    """Lease up to `limit` due deliveries, oldest first, at most `per_webhook` in flight each."""
    claimed: list[DueDelivery] = []
    if limit <= 0:
        return claimed
    full = sorted(w for w, n in in_flight.items() if n >= per_webhook)
    counts = dict(in_flight)
    with transaction(engine) as connection:
        query = due_deliveries(
            now,
            *_DUE_COLUMNS,
            WEBHOOK_DELIVERIES.c.next_attempt_at,
            WEBHOOK_DELIVERIES.c.replay_requested_at,
        ).limit(limit * 8)
        if full:
            query = query.where(WEBHOOK_DELIVERIES.c.webhook_id.not_in(full))
        for row in connection.execute(query).all():
            if counts.get(row.webhook_id, 0) >= per_webhook:
                continue
            done = connection.execute(
                sa.update(WEBHOOK_DELIVERIES)
                .where(
                    WEBHOOK_DELIVERIES.c.id == row.id,
                    WEBHOOK_DELIVERIES.c.status == "pending",
                    WEBHOOK_DELIVERIES.c.next_attempt_at == row.next_attempt_at,
                )
                .values(next_attempt_at=now + lease, replay_requested_at=None)
            )
            if done.rowcount != 1:
                continue
            counts[row.webhook_id] = counts.get(row.webhook_id, 0) + 1
            claimed.append(
                from_fields(DueDelivery, row, manual=row.replay_requested_at is not None)
            )
            if len(claimed) >= limit:
                break
    return claimed


def record_attempt(
    engine: Engine,
    *,
    due: DueDelivery,
    outcome: AttemptOutcome,
    now: datetime,
    schedule: Sequence[timedelta],
) -> None:
    """Log an attempt and move its delivery on: delivered, retried after `schedule`'s next
    wait (up to 10 % longer at random), or failed once the schedule is spent."""
    with transaction(engine) as connection:
        connection.execute(
            sa.insert(WEBHOOK_ATTEMPTS),
            {
                "delivery_id": due.id,
                "attempted_at": now,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "duration_ms": outcome.duration_ms,
                "response_excerpt": outcome.excerpt,
                "manual": due.manual,
            },
        )
        current = connection.execute(
            sa.select(WEBHOOK_DELIVERIES.c.attempts, WEBHOOK_DELIVERIES.c.status).where(
                WEBHOOK_DELIVERIES.c.id == due.id
            )
        ).one()
        attempts = current.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": now,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
        }
        if current.status != "pending":
            pass  # cancelled meanwhile (webhook deleted): keep that state
        elif outcome.ok:
            values.update(status="delivered", delivered_at=now, next_attempt_at=None)
        elif attempts > len(schedule):
            values.update(status="failed", next_attempt_at=None)
        else:
            wait = schedule[attempts - 1] * (1 + random.random() / 10)
            values.update(next_attempt_at=now + wait)
        connection.execute(
            sa.update(WEBHOOK_DELIVERIES).where(WEBHOOK_DELIVERIES.c.id == due.id).values(**values)
        )


def still_due(engine: Engine, *, delivery_id: str, token: str, manual: bool) -> DueDelivery | None:
    """The delivery, if it is still pending for the attempt `token` and its webhook exists."""
    with engine.connect() as connection:
        row = connection.execute(
            pending_deliveries(*_DUE_COLUMNS).where(
                WEBHOOK_DELIVERIES.c.id == delivery_id,
                WEBHOOK_DELIVERIES.c.next_attempt_at == datetime.fromisoformat(token),
            )
        ).first()
    if row is None:
        return None
    return from_fields(DueDelivery, row, manual=manual)

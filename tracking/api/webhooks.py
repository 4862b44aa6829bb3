"""Webhooks: signed event notifications to the appeal builder, retried, logged, replayable.

Events are `verdict.changed` (orders whose verdict changed, up to 100 per event) and
`bundle.ready` (a bundle job ended). Each event becomes one delivery per subscribed
webhook, stored with its exact body before anything is sent, so deliveries survive a
restart. The dispatcher sends due deliveries; a failed attempt is retried after 1 min,
5 min, 30 min, 2 h, 6 h, 12 h and 24 h (8 attempts over 44 h 36 min, each wait up to 10 %
longer at random); then the delivery is `failed` until someone replays it. Every attempt
is logged. The dispatcher that sends them is `tracking.api.dispatch.WebhookDispatcher`.

Signature: each request carries
`X-TrackEvidence-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`;
receivers recompute it over the raw body and reject a `t` older than 5 minutes
(`verify_signature`).

Verdict changes are found by reading `verdict_history` past a stored cursor, so changes
made by any pull or refresh (API, command line, schedule) are notified.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from tracking.api.jobs import Job
from tracking.store.engine import transaction
from tracking.store.handles import table_of
from tracking.store.tables import (
    ApiStateRecord,
    OrderRecord,
    VerdictHistory,
    WebhookAttemptRecord,
    WebhookDeliveryRecord,
    WebhookRecord,
)
from tracking.store.writes import insert_ignore

__all__ = [
    "DELIVERY_HEADER",
    "EVENTS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TOLERANCE_SECONDS",
    "Attempt",
    "Delivery",
    "Webhook",
    "create_webhook",
    "decode_cursor",
    "delete_webhook",
    "emit_bundle_ready",
    "emit_event",
    "emit_verdict_changes",
    "encode_cursor",
    "get_delivery",
    "get_webhook",
    "init_verdict_cursor",
    "list_deliveries",
    "list_webhooks",
    "replay_delivery",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-TrackEvidence-Signature"
EVENT_HEADER = "X-TrackEvidence-Event"
DELIVERY_HEADER = "X-TrackEvidence-Delivery"
TOLERANCE_SECONDS = 300
"""How old a signature's timestamp may be before a receiver rejects it (replay window)."""

EVENTS = ("verdict.changed", "bundle.ready")

W = table_of(WebhookRecord)
D = table_of(WebhookDeliveryRecord)
A = table_of(WebhookAttemptRecord)
ST = table_of(ApiStateRecord)
OT = table_of(OrderRecord)
VH = table_of(VerdictHistory)

_CURSOR = "verdict_history_cursor"
_ORDERS_PER_EVENT = 100
_SCAN_BATCH = 2000
_EXCERPT = 1024
_log = logging.getLogger(__name__)


# -- signatures ------------------------------------------------------------------------------


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The signature header value of `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether `header` signs `body` with `secret`, within `tolerance` seconds of `now`.

    This is what a receiver runs on the raw request body, before parsing it.
    """
    parts: dict[str, list[str]] = defaultdict(list)
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts[key].append(value)
    try:
        timestamp = int(parts["t"][0])
    except (IndexError, ValueError):
        return False
    moment = time.time() if now is None else now
    if abs(moment - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp=timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, given) for given in parts["v1"])


def _secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _short_id(prefix: str) -> str:
    return prefix + secrets.token_hex(10)


def encode_cursor(*parts: str) -> str:
    """An opaque pagination cursor."""
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, count: int) -> list[str] | None:
    """The parts of `encode_cursor` output; None for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    parts = text.split("\x1f")
    return parts if len(parts) == count else None


# -- webhooks --------------------------------------------------------------------------------


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
    return Webhook(
        id=row.id,
        tenant=row.tenant,
        url=row.url,
        events=tuple(json.loads(row.events)),
        description=row.description,
        created_at=row.created_at,
    )


def create_webhook(
    engine: Engine, *, tenant: str, url: str, events: Sequence[str], description: str = ""
) -> tuple[Webhook, str]:
    """Register a webhook; returns it and its signing secret (shown only this once)."""
    secret = _secret()
    hook = Webhook(
        id=_short_id("wh_"),
        tenant=tenant,
        url=url,
        events=tuple(sorted(set(events))),
        description=description,
        created_at=datetime.now(UTC),
    )
    with transaction(engine) as connection:
        connection.execute(
            sa.insert(W),
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
            sa.select(W)
            .where(W.c.tenant == tenant, W.c.deleted_at.is_(None))
            .order_by(W.c.created_at, W.c.id)
        )
        return [_webhook(r) for r in rows]


def get_webhook(engine: Engine, *, tenant: str, webhook_id: str) -> Webhook | None:
    """One of the tenant's webhooks, or None."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(W).where(W.c.id == webhook_id, W.c.tenant == tenant, W.c.deleted_at.is_(None))
        ).first()
    return _webhook(row) if row is not None else None


def delete_webhook(engine: Engine, *, tenant: str, webhook_id: str) -> bool:
    """Stop notifying a webhook (its pending deliveries are cancelled); False if unknown."""
    now = datetime.now(UTC)
    with transaction(engine) as connection:
        done = connection.execute(
            sa.update(W)
            .where(W.c.id == webhook_id, W.c.tenant == tenant, W.c.deleted_at.is_(None))
            .values(deleted_at=now)
        )
        if done.rowcount != 1:
            return False
        connection.execute(
            sa.update(D)
            .where(D.c.webhook_id == webhook_id, D.c.status == "pending")
            .values(status="cancelled", next_attempt_at=None)
        )
    return True


# -- deliveries ------------------------------------------------------------------------------


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


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        event_type=row.event_type,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def _owned(tenant: str, webhook_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        D.c.webhook_id == webhook_id,
        D.c.tenant == tenant,
        D.c.webhook_id.in_(
            sa.select(W.c.id).where(
                W.c.id == webhook_id, W.c.tenant == tenant, W.c.deleted_at.is_(None)
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
        sa.select(D)
        .where(_owned(tenant, webhook_id))
        .order_by(D.c.created_at.desc(), D.c.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(
            sa.or_(
                D.c.created_at < before[0],
                sa.and_(D.c.created_at == before[0], D.c.id < before[1]),
            )
        )
    with engine.connect() as connection:
        rows = [_delivery(r) for r in connection.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].created_at, rows[-1].id) if more and rows else None)


def get_delivery(
    engine: Engine, *, tenant: str, webhook_id: str, delivery_id: str
) -> tuple[Delivery, list[Attempt]] | None:
    """A delivery with its log, oldest attempt first; None when not the tenant's."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(D).where(_owned(tenant, webhook_id), D.c.id == delivery_id)
        ).first()
        if row is None:
            return None
        attempts = [
            Attempt(
                attempted_at=a.attempted_at,
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
                response_excerpt=a.response_excerpt,
                manual=bool(a.manual),
            )
            for a in connection.execute(
                sa.select(A).where(A.c.delivery_id == delivery_id).order_by(A.c.id)
            )
        ]
    return _delivery(row), attempts


def replay_delivery(
    engine: Engine, *, tenant: str, webhook_id: str, delivery_id: str
) -> Delivery | None:
    """Send a delivery again now, whatever its state, with a fresh retry schedule."""
    now = datetime.now(UTC)
    with transaction(engine) as connection:
        done = connection.execute(
            sa.update(D)
            .where(_owned(tenant, webhook_id), D.c.id == delivery_id)
            .values(status="pending", attempts=0, next_attempt_at=now, replay_requested_at=now)
        )
        if done.rowcount != 1:
            return None
        row = connection.execute(sa.select(D).where(D.c.id == delivery_id)).one()
    return _delivery(row)


# -- events ----------------------------------------------------------------------------------


def emit_event(
    connection: Connection,
    *,
    tenant: str,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime,
) -> int:
    """Queue one event for every webhook of `tenant` subscribed to it; how many deliveries."""
    hooks = [
        row.id
        for row in connection.execute(
            sa.select(W.c.id, W.c.events).where(W.c.tenant == tenant, W.c.deleted_at.is_(None))
        )
        if event_type in json.loads(row.events)
    ]
    if not hooks:
        return 0
    event_id = _short_id("evt_")
    payload = json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "tenant": tenant,
            "data": dict(data),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    connection.execute(
        sa.insert(D),
        [
            {
                "id": _short_id("dlv_"),
                "webhook_id": hook,
                "tenant": tenant,
                "event_id": event_id,
                "event_type": event_type,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for hook in hooks
        ],
    )
    return len(hooks)


def init_verdict_cursor(engine: Engine) -> None:
    """Start notifying verdict changes from now on, unless a cursor is already stored."""
    with transaction(engine) as connection:
        last = connection.execute(sa.select(sa.func.max(VH.c.id))).scalar_one()
        insert_ignore(
            connection, ST, [{"name": _CURSOR, "value": str(last or 0)}], conflict=("name",)
        )


class _Raced(Exception):
    """Another process moved the cursor first."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _scan_once(engine: Engine, now: datetime) -> tuple[int, int]:
    """(history rows read, deliveries queued) for one batch past the cursor."""
    with transaction(engine) as connection:
        stored = connection.execute(sa.select(ST.c.value).where(ST.c.name == _CURSOR)).first()
        if stored is None:
            raise _Raced  # not initialised: `init_verdict_cursor` runs at startup
        last = int(stored.value)
        rows = list(
            connection.execute(
                sa.select(
                    VH.c.id,
                    VH.c.order_pk,
                    VH.c.status,
                    VH.c.policy,
                    VH.c.digest,
                    VH.c.computed_at,
                    OT.c.tenant,
                    OT.c.order_id,
                )
                .join(OT, OT.c.id == VH.c.order_pk)
                .where(VH.c.id > last)
                .order_by(VH.c.id)
                .limit(_SCAN_BATCH)
            )
        )
        if not rows:
            return 0, 0
        subscribed = {
            row.tenant
            for row in connection.execute(
                sa.select(W.c.tenant, W.c.events).where(
                    W.c.deleted_at.is_(None),
                    W.c.tenant.in_(sorted({r.tenant for r in rows})),
                )
            )
            if "verdict.changed" in json.loads(row.events)
        }
        queued = 0
        wanted = [r for r in rows if r.tenant in subscribed]
        if wanted:
            previous: dict[int, str | None] = {}
            history: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for h in connection.execute(
                sa.select(VH.c.id, VH.c.order_pk, VH.c.status)
                .where(VH.c.order_pk.in_(sorted({r.order_pk for r in wanted})))
                .order_by(VH.c.id)
            ):
                history[h.order_pk].append((h.id, h.status))
            for r in wanted:
                earlier = [status for hid, status in history[r.order_pk] if hid < r.id]
                previous[r.id] = earlier[-1] if earlier else None
            by_tenant: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in wanted:
                by_tenant[r.tenant].append(
                    {
                        "order_id": r.order_id,
                        "previous_status": previous[r.id],
                        "status": r.status,
                        "policy": r.policy,
                        "digest": r.digest,
                        "computed_at": _iso(r.computed_at),
                    }
                )
            for tenant, changes in by_tenant.items():
                for start in range(0, len(changes), _ORDERS_PER_EVENT):
                    queued += emit_event(
                        connection,
                        tenant=tenant,
                        event_type="verdict.changed",
                        data={"orders": changes[start : start + _ORDERS_PER_EVENT]},
                        now=now,
                    )
        moved = connection.execute(
            sa.update(ST)
            .where(ST.c.name == _CURSOR, ST.c.value == stored.value)
            .values(value=str(rows[-1].id))
        )
        if moved.rowcount != 1:
            raise _Raced
        return len(rows), queued


def emit_verdict_changes(engine: Engine, *, now: datetime | None = None) -> int:
    """Queue `verdict.changed` events for every verdict change past the cursor.

    Returns how many deliveries were queued. Safe to run from several places at once:
    the cursor only moves by a conditional update, so a change is notified once.
    """
    moment = now or datetime.now(UTC)
    queued = 0
    while True:
        try:
            read, added = _scan_once(engine, moment)
        except _Raced:
            return queued
        queued += added
        if read < _SCAN_BATCH:
            return queued


def emit_bundle_ready(engine: Engine, *, job: Job) -> int:
    """Queue the `bundle.ready` event of a finished bundle job."""
    result = job.result or {}
    data = {
        "bundle_id": job.id,
        "reference_id": job.params.get("reference_id"),
        "status": job.status,
        "orders": result.get("orders"),
        "files": len(result.get("files", ())),
        "manifest_sha256": result.get("manifest_sha256"),
        "error": job.error,
        "href": f"/v1/bundles/{job.id}",
    }
    with transaction(engine) as connection:
        return emit_event(
            connection,
            tenant=job.tenant,
            event_type="bundle.ready",
            data=data,
            now=datetime.now(UTC),
        )

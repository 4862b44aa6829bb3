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
made by any pull or refresh (API, command line, schedule) are notified. The rows (webhooks,
deliveries, the delivery log, the cursor) are `tracking.store.webhooks` and
`tracking.store.webhook_events`; this module signs, and names events and headers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from tracking.api.context import ApiContext
from tracking.store.engine import transaction
from tracking.store.jobs import Job
from tracking.store.webhook_events import emit_event, emit_verdict_changes

__all__ = [
    "DELIVERY_HEADER",
    "EVENTS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TOLERANCE_SECONDS",
    "after_job",
    "decode_cursor",
    "emit_bundle_ready",
    "encode_cursor",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-TrackEvidence-Signature"
EVENT_HEADER = "X-TrackEvidence-Event"
DELIVERY_HEADER = "X-TrackEvidence-Delivery"
TOLERANCE_SECONDS = 300
"""How old a signature's timestamp may be before a receiver rejects it (replay window)."""

EVENTS = ("verdict.changed", "bundle.ready")

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


def after_job(context: ApiContext) -> Callable[[Job], Awaitable[None]]:
    """What follows a finished job, whichever runner ran it: a bundle job emits
    `bundle.ready`, a pull the verdict changes it made; the dispatcher is woken."""

    async def after(job: Job) -> None:
        if job.kind == "bundle":
            await asyncio.to_thread(emit_bundle_ready, context.engine, job=job)
        elif job.kind == "pull":
            await asyncio.to_thread(emit_verdict_changes, context.engine)
        context.webhooks_changed()

    return after

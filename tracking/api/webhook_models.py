"""Request and response bodies of the webhook routes (pydantic models; the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tracking.api.models import RequestBody

__all__ = [
    "AttemptPublic",
    "DeliveryDetail",
    "DeliveryPage",
    "DeliveryPublic",
    "DeliveryStatus",
    "EventName",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookList",
    "WebhookPublic",
]

DeliveryStatus = Literal["pending", "delivered", "failed", "cancelled"]
EventName = Literal["verdict.changed", "bundle.ready"]


def _all_events() -> list[EventName]:
    return ["verdict.changed", "bundle.ready"]


class WebhookCreate(RequestBody):
    """An endpoint of the appeal builder to notify."""

    url: str = Field(
        min_length=8,
        max_length=2048,
        pattern=r"^https?://[^\s/?#]+[^\s]*$",
        description="http(s) URL that receives POSTed events.",
    )
    events: list[EventName] = Field(default_factory=_all_events, min_length=1, max_length=2)
    description: str = Field(default="", max_length=256)


class WebhookPublic(BaseModel):
    """A registered webhook (its secret is shown only when it is created)."""

    id: str
    url: str
    events: list[EventName]
    description: str
    created_at: datetime


class WebhookCreated(WebhookPublic):
    """A new webhook with its signing secret: store it now, it is never shown again."""

    secret: str


class WebhookList(BaseModel):
    """The tenant's webhooks."""

    items: list[WebhookPublic]


class DeliveryPublic(BaseModel):
    """One event sent (or to be sent) to one webhook."""

    id: str
    webhook_id: str
    event_id: str
    event_type: EventName
    status: DeliveryStatus
    attempts: int = Field(description="Attempts since the delivery was created or replayed.")
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptPublic(BaseModel):
    """One line of the delivery log."""

    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str
    manual: bool = Field(description="True for an attempt a replay asked for.")


class DeliveryDetail(DeliveryPublic):
    """A delivery with its exact body and its delivery log."""

    payload: dict[str, Any]
    log: list[AttemptPublic]


class DeliveryPage(BaseModel):
    """One page of deliveries, newest first."""

    items: list[DeliveryPublic]
    next_cursor: str | None

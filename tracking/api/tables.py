"""The HTTP API's tables: API keys, jobs, webhooks, their deliveries and delivery attempts.

They live on `SQLModel.metadata` next to the core tables; migration `0002` creates them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracking.store.storage import UTCDateTime

__all__ = [
    "ApiKeyRecord",
    "ApiStateRecord",
    "JobRecord",
    "WebhookAttemptRecord",
    "WebhookDeliveryRecord",
    "WebhookRecord",
]


def _utc(*, nullable: bool = False, index: bool = False) -> Any:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def _now() -> datetime:
    return datetime.now(UTC)


class ApiKeyRecord(SQLModel, table=True):
    """An API key of one tenant: only its sha256 is stored, with a visible prefix for lookup."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.UniqueConstraint("key_sha256", name="uq_api_keys_key_sha256"),)

    id: str = Field(primary_key=True, max_length=32)
    tenant: str = Field(max_length=128, index=True)
    name: str = Field(default="", max_length=128)
    prefix: str = Field(max_length=32, index=True)
    key_sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    last_used_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class JobRecord(SQLModel, table=True):
    """A long piece of work (a pull, a bundle) run outside any request."""

    __tablename__ = "api_jobs"
    __table_args__ = (sa.Index("ix_api_jobs_status_created", "status", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    tenant: str = Field(max_length=128, index=True)
    kind: str = Field(max_length=16)
    status: str = Field(default="queued", max_length=16)
    params: str = Field(default="{}")
    progress: str = Field(default="{}")
    result: str | None = None
    error: str | None = Field(default=None, max_length=2048)
    attempts: int = 0
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    started_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    heartbeat_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    """Refreshed by the process running the job; a stale one means that process died."""


class WebhookRecord(SQLModel, table=True):
    """An endpoint of the appeal builder that receives signed event notifications."""

    __tablename__ = "api_webhooks"

    id: str = Field(primary_key=True, max_length=32)
    tenant: str = Field(max_length=128, index=True)
    url: str = Field(max_length=2048)
    events: str = Field(default="[]")
    description: str = Field(default="", max_length=256)
    secret: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    deleted_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class WebhookDeliveryRecord(SQLModel, table=True):
    """One event to deliver to one webhook: its exact body, state and retry schedule."""

    __tablename__ = "api_webhook_deliveries"
    __table_args__ = (sa.Index("ix_api_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=32)
    webhook_id: str = Field(foreign_key="api_webhooks.id", max_length=32, index=True)
    tenant: str = Field(max_length=128)
    event_id: str = Field(max_length=40)
    event_type: str = Field(max_length=32)
    payload: str
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1024)
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    delivered_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    replay_requested_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class WebhookAttemptRecord(SQLModel, table=True):
    """The delivery log: one row per attempt to send a delivery."""

    __tablename__ = "api_webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="api_webhook_deliveries.id", max_length=32, index=True)
    attempted_at: datetime = Field(sa_column=_utc())
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=1024)
    duration_ms: int = 0
    response_excerpt: str = Field(default="", max_length=1024)
    manual: bool = False


class ApiStateRecord(SQLModel, table=True):
    """Small named values the API keeps between restarts (e.g. the verdict-change cursor)."""

    __tablename__ = "api_state"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="")

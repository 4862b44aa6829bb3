"""API keys as stored: a visible prefix for lookup and the sha256 of the whole key.

The key itself is never stored; `tracking.api.keys` issues keys, hashes them and compares
digests. These functions only read and write `api_keys` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracking.core.fields import from_fields
from tracking.store.engine import transaction
from tracking.store.tables import API_KEYS

__all__ = [
    "ApiKeyInfo",
    "KeyCandidate",
    "insert_key",
    "key_candidates",
    "key_infos",
    "revoke_key_row",
    "touch_key",
]


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What is known of a key after its creation (never the key itself)."""

    id: str
    tenant: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class KeyCandidate:
    """A stored key whose prefix matches the key presented: its digest decides."""

    id: str
    tenant: str
    key_sha256: str
    revoked_at: datetime | None
    last_used_at: datetime | None


def insert_key(
    engine: Engine,
    *,
    key_id: str,
    tenant: str,
    name: str,
    prefix: str,
    key_sha256: str,
    created_at: datetime,
) -> None:
    """Store a new key's row."""
    with transaction(engine) as connection:
        connection.execute(
            sa.insert(API_KEYS),
            {
                "id": key_id,
                "tenant": tenant,
                "name": name,
                "prefix": prefix,
                "key_sha256": key_sha256,
                "created_at": created_at,
            },
        )


def key_infos(engine: Engine, tenant: str | None = None) -> list[ApiKeyInfo]:
    """Every key (of `tenant`, when given), oldest first, revoked ones included."""
    query = sa.select(API_KEYS).order_by(API_KEYS.c.created_at, API_KEYS.c.id)
    if tenant is not None:
        query = query.where(API_KEYS.c.tenant == tenant)
    with engine.connect() as connection:
        return [from_fields(ApiKeyInfo, row) for row in connection.execute(query)]


def revoke_key_row(engine: Engine, key_id: str, *, now: datetime) -> bool:
    """Mark a key revoked at `now` unless it already is; False when no such key exists."""
    with transaction(engine) as connection:
        found = connection.execute(
            sa.select(API_KEYS.c.revoked_at).where(API_KEYS.c.id == key_id)
        ).first()
        if found is None:
            return False
        if found.revoked_at is None:
            connection.execute(
                sa.update(API_KEYS).where(API_KEYS.c.id == key_id).values(revoked_at=now)
            )
    return True


def key_candidates(engine: Engine, prefix: str, *, limit: int = 16) -> list[KeyCandidate]:
    """The stored keys starting with `prefix` (at most `limit`)."""
    query = (
        sa.select(
            API_KEYS.c.id,
            API_KEYS.c.tenant,
            API_KEYS.c.key_sha256,
            API_KEYS.c.revoked_at,
            API_KEYS.c.last_used_at,
        )
        .where(API_KEYS.c.prefix == prefix)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [KeyCandidate(*row) for row in connection.execute(query)]


def touch_key(engine: Engine, key_id: str, *, now: datetime) -> None:
    """Record that a key was used at `now`."""
    with transaction(engine) as connection:
        connection.execute(
            sa.update(API_KEYS).where(API_KEYS.c.id == key_id).values(last_used_at=now)
        )

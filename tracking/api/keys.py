"""API keys: created once and shown once, stored as a sha256 digest, looked up by prefix.

A key reads `te_live_` followed by 43 URL-safe characters (32 random bytes). The first
`PREFIX_CHARS` characters are stored in the clear to find the candidate rows; the whole key
is then compared by digest in constant time. A revoked key stops working at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from tracking.core.exceptions import InputError, StorageError
from tracking.store.api_keys import (
    ApiKeyInfo,
    insert_key,
    key_candidates,
    key_infos,
    revoke_key_row,
    touch_key,
)

__all__ = [
    "KEY_PREFIX",
    "PREFIX_CHARS",
    "ApiKeyInfo",
    "Principal",
    "authenticate",
    "create_key",
    "list_keys",
    "revoke_key",
]

KEY_PREFIX = "te_live_"
"""What every key starts with (so a leaked key is recognizable in logs and scanners)."""

PREFIX_CHARS = len(KEY_PREFIX) + 8
"""How many leading characters of a key are stored in the clear, for lookup and display."""

_TOUCH_EVERY = timedelta(minutes=1)  # `last_used_at` is written at most this often


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id and the tenant every query is scoped to."""

    key_id: str
    tenant: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _check_tenant(tenant: str) -> str:
    cleaned = tenant.strip()
    if not cleaned or len(cleaned) > 128:
        raise InputError("a tenant is 1 to 128 characters")
    if any(ord(c) < 32 for c in cleaned):
        raise InputError("a tenant cannot contain control characters")
    return cleaned


def create_key(engine: Engine, tenant: str, *, name: str = "") -> str:
    """Issue a key for `tenant` and return it: this is the only time it is ever visible.

    Raises `InputError` for an empty or overlong tenant.
    """
    tenant = _check_tenant(tenant)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    insert_key(
        engine,
        key_id="key_" + secrets.token_hex(8),
        tenant=tenant,
        name=name.strip()[:128],
        prefix=key[:PREFIX_CHARS],
        key_sha256=_digest(key),
        created_at=datetime.now(UTC),
    )
    return key


def list_keys(engine: Engine, tenant: str | None = None) -> list[ApiKeyInfo]:
    """Every key (of `tenant`, when given), oldest first, revoked ones included."""
    return key_infos(engine, tenant)


def revoke_key(engine: Engine, key_id: str) -> bool:
    """Revoke a key by its id; False when no such key exists. Revoking twice is harmless."""
    return revoke_key_row(engine, key_id, now=datetime.now(UTC))


def authenticate(engine: Engine, key: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None for anything else."""
    if not key.startswith(KEY_PREFIX) or len(key) > 256:
        return None
    digest = _digest(key)
    match = None
    for row in key_candidates(engine, key[:PREFIX_CHARS]):
        if hmac.compare_digest(row.key_sha256, digest):
            match = row
    if match is None or match.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if match.last_used_at is None or now - match.last_used_at >= _TOUCH_EVERY:
        # Best effort: a busy database never refuses a valid key.
        with contextlib.suppress(StorageError):
            touch_key(engine, match.id, now=now)
    return Principal(key_id=match.id, tenant=match.tenant)

"""The console's sign-in state: server-side sessions and one-time sign-in links.

Neither a session id nor a link token is stored: only its sha256 (a copy of the database
signs nobody in). A session carries its tenant, the API key it was opened with (none for a
one-time link), its CSRF token and an absolute expiry; a link is redeemed at most once, before
its short expiry, by a conditional update (two browsers racing for one link: one wins).
Migration 0009 creates both tables.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from tracking.store.handles import table_of
from tracking.store.storage import UTCDateTime, transaction

__all__ = [
    "LINK_TTL",
    "SESSION_TTL",
    "ConsoleLinkRecord",
    "ConsoleSession",
    "ConsoleSessionRecord",
    "create_link",
    "create_session",
    "end_session",
    "end_tenant_sessions",
    "get_session",
    "redeem_link",
]

SESSION_TTL = timedelta(hours=12)
"""A session ends this long after sign-in, used or not (sign in again then)."""

LINK_TTL = timedelta(minutes=10)
"""A one-time sign-in link works this long after it was printed."""


def _utc(*, nullable: bool = False, index: bool = False) -> Any:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def _now() -> datetime:
    return datetime.now(UTC)


class ConsoleSessionRecord(SQLModel, table=True):
    """A signed-in browser: the sha256 of its cookie's session id, tenant and CSRF token."""

    __tablename__ = "console_sessions"

    id_sha256: str = Field(primary_key=True, max_length=64)
    tenant: str = Field(max_length=128, index=True)
    key_id: str | None = Field(default=None, max_length=32)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    expires_at: datetime = Field(sa_column=_utc(index=True))


class ConsoleLinkRecord(SQLModel, table=True):
    """A one-time sign-in link (`track-evidence console`): the sha256 of its token."""

    __tablename__ = "console_links"

    token_sha256: str = Field(primary_key=True, max_length=64)
    tenant: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=_now, sa_column=_utc())
    expires_at: datetime = Field(sa_column=_utc())
    used_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


CS = table_of(ConsoleSessionRecord)
CL = table_of(ConsoleLinkRecord)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A live session: whose it is, its CSRF token, and when it ends."""

    tenant: str
    key_id: str | None
    csrf: str
    expires_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_session(
    engine: Engine,
    *,
    tenant: str,
    key_id: str | None,
    replaces: str | None = None,
    now: datetime | None = None,
    ttl: timedelta = SESSION_TTL,
) -> str:
    """Open a session for `tenant` and return its new random id (the cookie's value).

    `replaces` (the id the browser sent, if any) is ended in the same transaction: a sign-in
    always yields a fresh id, so an id planted before sign-in never becomes a session.
    Expired sessions are swept at the same time.
    """
    moment = now or _now()
    session_id = secrets.token_urlsafe(32)
    with transaction(engine) as connection:
        if replaces:
            connection.execute(sa.delete(CS).where(CS.c.id_sha256 == _digest(replaces)))
        connection.execute(sa.delete(CS).where(CS.c.expires_at < moment))
        connection.execute(
            sa.insert(CS),
            {
                "id_sha256": _digest(session_id),
                "tenant": tenant,
                "key_id": key_id,
                "csrf": secrets.token_urlsafe(32),
                "created_at": moment,
                "expires_at": moment + ttl,
            },
        )
    return session_id


def get_session(
    engine: Engine, session_id: str, *, now: datetime | None = None
) -> ConsoleSession | None:
    """The live session of a cookie's id; None when unknown, ended or expired."""
    if not session_id or len(session_id) > 128:
        return None
    with engine.connect() as connection:
        row = connection.execute(sa.select(CS).where(CS.c.id_sha256 == _digest(session_id))).first()
    if row is None or row.expires_at <= (now or _now()):
        return None
    return ConsoleSession(
        tenant=row.tenant, key_id=row.key_id, csrf=row.csrf, expires_at=row.expires_at
    )


def end_session(engine: Engine, session_id: str) -> None:
    """Sign out: the id stops working at once."""
    with transaction(engine) as connection:
        connection.execute(sa.delete(CS).where(CS.c.id_sha256 == _digest(session_id)))


def end_tenant_sessions(engine: Engine, *, tenant: str, key_id: str) -> int:
    """End every session of `tenant` opened with `key_id` (the key was revoked)."""
    with transaction(engine) as connection:
        result = connection.execute(
            sa.delete(CS).where(CS.c.tenant == tenant, CS.c.key_id == key_id)
        )
    return int(result.rowcount)


def create_link(
    engine: Engine, *, tenant: str, now: datetime | None = None, ttl: timedelta = LINK_TTL
) -> str:
    """A one-time sign-in token for `tenant` (printed as a link; works once, for `ttl`)."""
    moment = now or _now()
    token = secrets.token_urlsafe(32)
    with transaction(engine) as connection:
        connection.execute(sa.delete(CL).where(CL.c.expires_at < moment))
        connection.execute(
            sa.insert(CL),
            {
                "token_sha256": _digest(token),
                "tenant": tenant,
                "created_at": moment,
                "expires_at": moment + ttl,
            },
        )
    return token


def redeem_link(engine: Engine, token: str, *, now: datetime | None = None) -> str | None:
    """The tenant of an unused, unexpired link token, which is used up now; else None."""
    if not token or len(token) > 128:
        return None
    moment = now or _now()
    digest = _digest(token)
    with transaction(engine) as connection:
        done = connection.execute(
            sa.update(CL)
            .where(CL.c.token_sha256 == digest, CL.c.used_at.is_(None), CL.c.expires_at > moment)
            .values(used_at=moment)
        )
        if done.rowcount != 1:
            return None
        tenant: str = connection.execute(
            sa.select(CL.c.tenant).where(CL.c.token_sha256 == digest)
        ).scalar_one()
    return tenant

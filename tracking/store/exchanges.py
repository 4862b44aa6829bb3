"""Raw carrier exchanges: stored append-only, bodies content-addressed and compressed.

A body is stored once per sha256 of the bytes the carrier sent (`exchange_bodies`), zlib-
compressed above a few hundred bytes; each exchange records whose request it was
(`exchanges.tenant`, `tracking.store.isolation`) and which shipments it answered for
(`exchange_shipments`).
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.core.domain import Exchange
from tracking.core.exceptions import StorageError
from tracking.store.engine import transaction
from tracking.store.tables import EXCHANGE_BODIES, EXCHANGE_SHIPMENTS, EXCHANGES, SHIPMENTS
from tracking.store.writes import insert_ignore, insert_returning

__all__ = [
    "compress_body",
    "decompress_body",
    "link_exchanges",
    "raw_body",
    "sole_tenant",
    "store_exchange",
    "store_exchanges",
]

_COMPRESS_MIN = 256


def compress_body(body: bytes) -> tuple[str, bytes]:
    """(encoding, stored bytes): bodies above a few hundred bytes are zlib-compressed."""
    if len(body) >= _COMPRESS_MIN:
        packed = zlib.compress(body, 3)  # level 3: half the time of 6, a few % larger
        if len(packed) < len(body):
            return "zlib", packed
    return "identity", body


def decompress_body(encoding: str, data: bytes) -> bytes:
    """The original bytes of a stored body."""
    if encoding == "zlib":
        return zlib.decompress(data)
    if encoding == "identity":
        return data
    raise StorageError(f"unknown body encoding {encoding!r}")


def sole_tenant(tenants: set[str]) -> str | None:
    """The one tenant an exchange answered for; None when several (never served)."""
    return next(iter(tenants)) if len(tenants) == 1 else None


def store_exchanges(
    connection: Connection,
    exchanges: Sequence[Exchange],
    run_id: str | None,
    *,
    tenants: Sequence[str | None],
) -> list[int]:
    """Store raw exchanges (bodies content-addressed, once each); their new ids, in order.

    `tenants[i]` is the tenant whose numbers exchange i carried (`exchanges.tenant`).
    """
    bodies: dict[str, dict[str, Any]] = {}
    for exchange in exchanges:
        if exchange.sha256 not in bodies:
            encoding, data = compress_body(exchange.body)
            bodies[exchange.sha256] = {
                "sha256": exchange.sha256,
                "size": len(exchange.body),
                "encoding": encoding,
                "data": data,
            }
    # Every multi-row write goes in key order, so that concurrent writers on PostgreSQL take
    # row locks in the same order and never deadlock on shared rows (e.g. one error page).
    insert_ignore(
        connection, EXCHANGE_BODIES, [bodies[k] for k in sorted(bodies)], conflict=("sha256",)
    )
    rows = [
        {
            "carrier": x.carrier,
            "adapter_version": x.adapter_version,
            "method": x.method,
            "url": x.url,
            "request_body": x.request_body,
            "status": x.status,
            "headers": json.dumps(list(x.headers)),
            "body_sha256": x.sha256,
            "fetched_at": x.fetched_at,
            "run_id": run_id,
            "tenant": tenant,
        }
        for x, tenant in zip(exchanges, tenants, strict=True)
    ]
    return insert_returning(connection, EXCHANGES, rows)


def link_exchanges(connection: Connection, links: Sequence[tuple[int, int]]) -> None:
    """Record which shipments each exchange answered for ((exchange id, shipment id) pairs)."""
    insert_ignore(
        connection,
        EXCHANGE_SHIPMENTS,
        [{"exchange_id": x, "shipment_id": s} for x, s in sorted(links)],
        conflict=("exchange_id", "shipment_id"),
    )


def store_exchange(
    engine: Engine, exchange: Exchange, *, shipment_ids: Sequence[int], run_id: str | None
) -> int:
    """Store one raw exchange that changes no shipment's state (e.g. a "stopped" notice).

    It is linked to `shipment_ids` as evidence, like a fetched answer, once for each tenant
    that owns one of them (an exchange is served only to its tenant: `tracking.store.isolation`);
    with no shipment it is kept for nobody. Returns the id of the last row stored.
    """
    with transaction(engine) as connection:
        owners: dict[str | None, list[int]] = defaultdict(list)
        wanted = sorted(set(shipment_ids))
        for start in range(0, len(wanted), 900):
            for sid, tenant in connection.execute(
                sa.select(SHIPMENTS.c.id, SHIPMENTS.c.tenant).where(
                    SHIPMENTS.c.id.in_(wanted[start : start + 900])
                )
            ):
                owners[tenant].append(sid)
        exchange_id = 0
        for tenant, sids in sorted(owners.items(), key=lambda item: item[0] or "") or [(None, [])]:
            [exchange_id] = store_exchanges(connection, [exchange], run_id, tenants=[tenant])
            link_exchanges(connection, [(exchange_id, s) for s in sids])
    return exchange_id


def raw_body(engine: Engine, sha256: str) -> bytes:
    """The original bytes of a stored raw response."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(EXCHANGE_BODIES.c.encoding, EXCHANGE_BODIES.c.data).where(
                EXCHANGE_BODIES.c.sha256 == sha256
            )
        ).one_or_none()
    if row is None:
        raise KeyError(sha256)
    return decompress_body(row.encoding, row.data)

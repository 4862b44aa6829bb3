"""Runs (pulls, refreshes, worker jobs) and the orders a run fetches and judges.

The statements behind `tracking.fetch.pipeline` and the workers: a run's row in `runs`
(started, finished with its report as JSON), the tenant's stored orders a pull takes on, the
facts the judging step reads back (each order's carrier, its verdict's policy), and the job
queue's own schema (`ensure_job_schema`, Procrastinate's tables).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracking.store.engine import transaction
from tracking.store.scopes import dated_in
from tracking.store.tables import ORDERS as O
from tracking.store.tables import RUNS as R
from tracking.store.tables import VERDICTS as V

__all__ = [
    "claim_tenant_orders",
    "ensure_job_schema",
    "finish_run",
    "order_carriers",
    "record_run",
    "start_run",
    "verdict_policies",
]


def start_run(engine: Engine, *, run_id: str, kind: str, source: str) -> None:
    """Record a run as `running` (its report comes with `finish_run`)."""
    _insert_run(engine, run_id=run_id, kind=kind, source=source, started_at=datetime.now(UTC))


def finish_run(engine: Engine, *, run_id: str, status: str, stats: Mapping[str, Any]) -> None:
    """Close a run started by `start_run`: its status and its report (`stats`, as JSON)."""
    with transaction(engine) as connection:
        connection.execute(sa.update(R).where(R.c.id == run_id).values(**_ended(status, stats)))


def record_run(
    engine: Engine,
    *,
    run_id: str,
    kind: str,
    source: str,
    started: datetime,
    status: str,
    stats: Mapping[str, Any],
) -> None:
    """Record a run that already ended (a worker's batch job), in one statement."""
    _insert_run(
        engine, run_id=run_id, kind=kind, source=source, started_at=started, **_ended(status, stats)
    )


def _ended(status: str, stats: Mapping[str, Any]) -> dict[str, Any]:
    """How a run ends: now, with its status and its report as JSON."""
    return {
        "finished_at": datetime.now(UTC),
        "status": status,
        "stats": json.dumps(dict(stats), sort_keys=True),
    }


def _insert_run(
    engine: Engine,
    *,
    run_id: str,
    kind: str,
    source: str,
    started_at: datetime,
    finished_at: datetime | None = None,
    status: str = "running",
    stats: str = "{}",
) -> None:
    with transaction(engine) as connection:
        connection.execute(
            sa.insert(R),
            {
                "id": run_id,
                "kind": kind,
                "source": source[:1024],
                "started_at": started_at,
                "finished_at": finished_at,
                "status": status,
                "stats": stats,
            },
        )


def claim_tenant_orders(
    engine: Engine, *, tenant: str, run_id: str, window: tuple[datetime, datetime]
) -> None:
    """Mark a tenant's stored orders in the window as this run's (what a pull then fetches)."""
    with transaction(engine) as connection:
        connection.execute(
            sa.update(O).where(O.c.tenant == tenant, dated_in(window)).values(last_run_id=run_id)
        )


def order_carriers(engine: Engine, *, order_ids: Sequence[int]) -> dict[int, str | None]:
    """Each order's chosen carrier (None when no carrier recognized its number), by id."""
    with engine.connect() as connection:
        return {
            pk: carrier
            for pk, carrier in connection.execute(
                sa.select(O.c.id, O.c.carrier).where(O.c.id.in_(list(order_ids)))
            )
        }


def verdict_policies(engine: Engine, *, order_ids: Sequence[int]) -> dict[int, str]:
    """The policy each order's stored verdict was judged under, for the orders that have one."""
    with engine.connect() as connection:
        return {
            pk: name
            for pk, name in connection.execute(
                sa.select(V.c.order_pk, V.c.policy).where(V.c.order_pk.in_(list(order_ids)))
            )
        }


_SCHEMA_LOCK = 7_304_611
"""Advisory lock key held while the Procrastinate schema is applied."""


async def ensure_job_schema(app: Any, *, conninfo: str) -> None:
    """Apply Procrastinate's own schema once (its schema manager, not Alembic) to the database
    of `app` (a Procrastinate App; `conninfo`: the same database as a libpq string).

    Concurrent first starts serialize on an advisory lock; later starts only look.
    """
    import psycopg

    present = "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
    if (await app.connector.execute_query_one_async(present))["present"]:
        return
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
        await connection.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            if not (await app.connector.execute_query_one_async(present))["present"]:
                await app.schema_manager.apply_schema_async()
        finally:
            await connection.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))

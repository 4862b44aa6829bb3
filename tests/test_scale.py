"""Scale on real PostgreSQL: the due queries use their indexes; migrations go both ways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import fresh_postgres
from tracking.store.engine import open_engine

SEED_SQL = """
INSERT INTO shipments (carrier, tracking_number, role, carrier_name, state, carrier_status,
                       final, poll_count, created_at, next_poll_at)
SELECT (ARRAY['17track','4px','cainiao','yanwen','yunexpress'])[1 + i % 5],
       'N' || lpad(i::text, 12, '0'), 'origin', '',
       CASE WHEN i % 1000 = 0 THEN 'new' ELSE 'tracking' END, '', false,
       CASE WHEN i % 1000 = 0 THEN 0 ELSE 1 END, :now,
       CASE WHEN i % 1000 = 0 THEN NULL
            WHEN i % 7 = 0 THEN NULL
            ELSE :now + ((i % 500) - 5) * interval '1 hour' END
FROM generate_series(1, :count) AS i
"""


def seed_shipments(engine: sa.Engine, *, count: int, now: datetime) -> None:
    """`count` shipments: 0.1% never polled, 1% due, 1/7 final (never due), the rest later."""
    with engine.begin() as connection:
        connection.execute(sa.text(SEED_SQL), {"count": count, "now": now})
        connection.execute(sa.text("ANALYZE shipments"))


def explain(engine: sa.Engine, run: Any) -> tuple[str, list[Any]]:
    """(EXPLAIN ANALYZE of every SELECT `run(engine)` sends, what `run` returned)."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        result = run(engine)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    plans: list[str] = []
    with engine.connect() as connection:
        for statement, params in seen:
            plan = connection.exec_driver_sql("EXPLAIN ANALYZE " + statement, params).scalars()
            plans.append("\n".join(plan))
    return "\n\n".join(plans), result


@pytest.fixture
def pg_url(pg_skip_reason: str | None) -> Iterator[str]:
    with fresh_postgres(pg_skip_reason) as url:
        yield url


@pytest.mark.postgres
def test_due_query_uses_the_due_index(pg_url: str) -> None:
    from tracking.store.shipments import due_shipments

    engine = open_engine(pg_url)
    now = datetime.now(UTC)
    seed_shipments(engine, count=100_000, now=now)
    carriers = ["17track", "4px", "cainiao", "yanwen", "yunexpress"]
    plan, due = explain(engine, lambda e: due_shipments(e, now=now, carriers=carriers, limit=1000))
    print(plan)
    assert "ix_shipments_due" in plan, plan
    assert "ix_shipments_new" in plan, plan  # never-polled ones: the partial index (0003)
    assert "Seq Scan on shipments" not in plan, plan
    assert len(due) == 1000
    engine.dispose()


@pytest.mark.postgres
def test_worker_claim_uses_the_indexes(pg_url: str) -> None:
    from tracking.store.polls import claim_due

    engine = open_engine(pg_url)
    now = datetime.now(UTC)
    seed_shipments(engine, count=100_000, now=now)
    until = now + timedelta(hours=1)
    plan, claimed = explain(
        engine,
        lambda e: claim_due(e, carrier="17track", now=now, claimed_until=until, limit=300),
    )
    print(plan)
    assert "ix_shipments_new" in plan, plan  # never polled first
    assert "ix_shipments_due" in plan, plan  # then the most overdue
    assert "Seq Scan" not in plan, plan
    assert len(claimed) == 300
    engine.dispose()


def test_migrations_apply_and_revert(db_url: str) -> None:
    """Alembic: upgrade to head, down to base and up again, on SQLite and PostgreSQL."""
    from alembic.config import Config

    import tracking.store.tables

    engine = open_engine(db_url)
    try:
        with engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names())
            indexes = {i["name"] for i in sa.inspect(connection).get_indexes("shipments")}
        assert {"shipments", "rate_slots"} <= names
        assert {"ix_shipments_due", "ix_shipments_new"} <= indexes
        config = Config()
        config.set_main_option(
            "script_location", str(Path(tracking.store.tables.__file__).parent / "migrations")
        )
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        with engine.connect() as connection:
            assert "shipments" not in sa.inspect(connection).get_table_names()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()

"""`refresh`: polls what is due, and two refreshes at once never poll a shipment twice."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from carriers.registry import all_carriers
from tests.test_pull import AS_OF, run_pull, write_orders
from tracking.core.config import Settings
from tracking.fetch.pipeline import refresh
from tracking.judge.validator import POLICIES
from tracking.sandbox.server import SandboxOptions, SandboxServer


def _refresh(engine: sa.Engine, results: list[Any]) -> None:
    # The origin carriers and 17TRACK, which tracks the last-mile legs they reveal.
    carriers = {c: all_carriers()[c] for c in ("cainiao", "yanwen", "17track")}
    server = SandboxServer(carriers, SandboxOptions(now=AS_OF, latency_ms=(20, 40)))
    report = asyncio.run(
        refresh(
            engine=engine,
            settings=Settings(_env_file=None),  # type: ignore[call-arg]
            carriers=carriers,
            as_of=AS_OF,
            policy=POLICIES["default"],
            network=server.network(),
            fetcher_options={"rate_overrides": dict.fromkeys(carriers, 200.0)},
        )
    )
    results.append(report)


def polls(engine: sa.Engine) -> dict[int, int]:
    with engine.connect() as connection:
        return dict(connection.execute(sa.text("SELECT id, poll_count FROM shipments")).all())


def test_two_refreshes_at_once_poll_each_due_shipment_once(
    db_url: str, make_engine: Any, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao", "yanwen"], per_scenario=3)
    engine = make_engine(db_url)
    asyncio.run(run_pull(engine, orders))
    before = polls(engine)
    with engine.begin() as connection:  # everything becomes due now
        connection.execute(
            sa.text("UPDATE shipments SET next_poll_at = :past WHERE next_poll_at IS NOT NULL"),
            {"past": datetime.now(UTC) - timedelta(minutes=1)},
        )
        due = connection.execute(
            sa.text("SELECT count(*) FROM shipments WHERE next_poll_at IS NOT NULL")
        ).scalar_one()
    assert due > 20
    results: list[Any] = []
    threads = [threading.Thread(target=_refresh, args=(engine, results)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 2, "both refreshes finished"
    after = polls(engine)
    polled = {sid for sid in after if after[sid] > before.get(sid, 0)}
    assert len(polled) == due
    assert all(after[sid] - before.get(sid, 0) == 1 for sid in polled), "a shipment polled twice"
    assert sum(r.shipments_due for r in results) == due


def test_final_shipments_get_one_confirming_poll_then_none(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao"], per_scenario=2)
    engine = make_engine(sqlite_url)
    asyncio.run(run_pull(engine, orders))
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE shipments SET next_poll_at = :past WHERE final"),
            {"past": datetime.now(UTC) - timedelta(minutes=1)},
        )
    results: list[Any] = []
    _refresh(engine, results)
    with engine.connect() as connection:
        left = connection.execute(
            sa.text("SELECT count(*) FROM shipments WHERE final AND next_poll_at IS NOT NULL")
        ).scalar_one()
    assert results[0].shipments_due > 0
    assert left == 0, "after the confirming poll a final shipment is never polled again"

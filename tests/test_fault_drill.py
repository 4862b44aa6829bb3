"""Fault drill: a pull through a hostile sandbox completes, every shipment accounted for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from carriers.registry import all_carriers
from tests.test_pull import AS_OF, write_orders
from tracking.core.config import Settings
from tracking.fetch.pipeline import pull
from tracking.judge.validator import POLICIES
from tracking.sandbox.server import SandboxOptions, SandboxServer

TYPED = {"not_found", "auth", "rate_limited", "invalid_number", "carrier_error", "bad_payload"}


@pytest.mark.slow
async def test_pull_survives_5xx_429_timeouts_and_malformed_bodies(
    tmp_path: Path, make_engine: Any
) -> None:
    carriers = {c: i for c, i in all_carriers().items() if i.sandbox is not None}
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, list(carriers), per_scenario=3)
    rates = {code: 40.0 for code in carriers}
    server = SandboxServer(
        carriers,
        SandboxOptions(
            now=AS_OF,
            rate_limits=rates,
            fault_5xx=0.20,
            fault_429=0.10,
            fault_timeout=0.05,
            fault_malformed=0.02,
            hang_seconds=3.0,
            seed=7,
        ),
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'drill.db'}")
    report = await pull(
        engine=engine,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        orders_path=orders,
        carriers=carriers,
        as_of=AS_OF,
        window_days=90,
        policy=POLICIES["default"],
        network=server.network(),
        fetcher_options={
            "rate_overrides": rates,
            "timeout_seconds": 0.5,
            "backoff": 0.05,
            "max_attempts": 4,
        },
    )
    faults = sum(sum(s.faults.values()) for s in server.stats.values())
    assert faults > 20, "the drill must really inject faults"
    # Every origin shipment was fetched or carries a typed error; none is left untouched.
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT s.state, s.error_kind FROM shipments s "
                "JOIN orders o ON o.shipment_id = s.id"
            )
        ).all()
    assert len(rows) == len(expected)
    for state, kind in rows:
        assert state in {"tracking", "final", "not_found", "error"}, state
        if state in {"not_found", "error"}:
            assert kind in TYPED
    assert sum(report.verdicts.values()) == len(expected)
    # The carriers' limits held: the sandbox never saw more than its rate in any second
    # beyond the 429s our own retries provoked.
    for code, stats in server.stats.items():
        assert stats.max_per_second <= rates[code] + 1, code

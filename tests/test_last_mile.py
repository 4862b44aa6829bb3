"""One rule names the carrier of revealed last-mile legs, in a pull and in a worker's job.

A carrier's answer may reveal a last-mile number without naming its carrier; that leg goes to
the last-mile tracker (17TRACK) when the run can reach it. A pull reaches every carrier it
was given; a worker's batch job fetches one carrier but reaches them all. Both must store
the leg under the same carrier (`tracking.fetch.fetcher.last_mile_carrier`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench.common import sandbox_process
from carriers.registry import all_carriers
from tests.test_pull import run_pull, write_orders
from tracking.core.config import Settings
from tracking.fetch.fetcher import LAST_MILE_TRACKER, last_mile_carrier, open_fetcher
from tracking.fetch.orders import ingest_orders
from tracking.fetch.pipeline import poll
from tracking.fetch.report import PullReport
from tracking.judge.validator import POLICIES
from tracking.sandbox.server import sandbox_network
from tracking.store.polls import shipments_by_id

pytestmark = pytest.mark.slow


def _settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("reachable", "expected"),
    [
        pytest.param(["cainiao", "17track"], "17track", id="tracker-reachable"),
        pytest.param(["cainiao", "yanwen"], "", id="tracker-not-in-the-run"),
        pytest.param([], "", id="nothing-reachable"),
    ],
)
def test_the_rule(reachable: list[str], expected: str) -> None:
    assert LAST_MILE_TRACKER == "17track"
    assert last_mile_carrier(reachable) == expected


async def test_a_job_fetching_one_carrier_names_the_same_leg_carrier_as_a_pull() -> None:
    carriers = all_carriers()
    url = "http://127.0.0.1:9"  # never contacted: opening a fetcher sends nothing
    async with open_fetcher(
        settings=_settings(), carriers=carriers, network=sandbox_network(url, carriers)
    ) as run:
        assert LAST_MILE_TRACKER in run.codes
        assert run.leg_carrier == LAST_MILE_TRACKER
    async with open_fetcher(
        settings=_settings(),
        carriers=carriers,
        network=sandbox_network(url, carriers),
        only=("cainiao",),
    ) as job:
        assert job.codes == ["cainiao"]  # one carrier bound ...
        assert job.leg_carrier == run.leg_carrier  # ... the same rule for its legs
    alone = {"cainiao": carriers["cainiao"]}
    async with open_fetcher(
        settings=_settings(), carriers=alone, network=sandbox_network(url, alone)
    ) as narrow:
        assert narrow.leg_carrier == ""  # a run that cannot reach the tracker names none


def _legs(engine: sa.Engine) -> dict[str, str]:
    """Revealed last-mile legs: number -> carrier."""
    with engine.connect() as connection:
        return dict(
            connection.execute(
                sa.text(
                    "SELECT tracking_number, carrier FROM shipments "
                    "WHERE parent_id IS NOT NULL AND role <> 'probe'"
                )
            ).all()
        )


def test_worker_job_and_pull_store_revealed_legs_alike(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao"], per_scenario=1)
    carriers = all_carriers()

    pulled = make_engine(sqlite_url)
    asyncio.run(run_pull(pulled, orders))
    by_pull = _legs(pulled)
    assert by_pull, "the sandbox's Cainiao scenarios reveal last-mile numbers"
    assert set(by_pull.values()) == {LAST_MILE_TRACKER}

    polled = make_engine(f"sqlite:///{tmp_path / 'worker.db'}")
    ingest_orders(
        polled,
        path=orders,
        tenant="default",
        run_id="import",
        carriers=carriers,
        rejected=[],
        report=PullReport(run_id="import"),
    )
    with polled.connect() as connection:
        ids = list(connection.execute(sa.text("SELECT id FROM shipments")).scalars())
    due = shipments_by_id(polled, shipment_ids=ids)
    with sandbox_process("--no-limits") as url:
        report = asyncio.run(
            poll(
                engine=polled,
                settings=_settings(),
                carriers=carriers,
                carrier="cainiao",
                shipments=due,
                policy=POLICIES["default"],
                network=sandbox_network(url, carriers),
            )
        )
    assert report is not None
    assert report.shipments_fetched > 0
    assert _legs(polled) == by_pull

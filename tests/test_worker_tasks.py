"""The worker's Blueprint runs the same use cases as the CLI, in process (no subprocess).

The tasks run on Procrastinate's in-memory connector, so no PostgreSQL is needed here; the
PostgreSQL drills (claims, several workers, SIGKILL) are in `test_workers.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import procrastinate
import pytest
import sqlalchemy as sa
from procrastinate.testing import InMemoryConnector

from bench.common import sandbox_process
from carriers.registry import all_carriers
from tests.test_pull import AS_OF, run_pull, verdicts, write_orders
from tracking.core.config import Settings
from tracking.sandbox.server import sandbox_network
from tracking.workers.runtime import NAMESPACE, RUNTIME_KEY, Runtime, WorkerConfig
from tracking.workers.tasks import worker_blueprint

pytestmark = pytest.mark.slow


async def _run(app: procrastinate.App, runtime: Runtime) -> dict[str, list[str]]:
    """Run every queued job to the end; their statuses by task (but the periodic ones)."""
    await app.run_worker_async(
        wait=False, install_signal_handlers=False, additional_context={RUNTIME_KEY: runtime}
    )
    statuses: dict[str, list[str]] = {}
    for job in await app.job_manager.list_jobs_async():
        if job.task_name != f"{NAMESPACE}:retry_stalled":  # the worker's periodic check
            statuses.setdefault(job.task_name.split(":")[-1], []).append(job.status)
    return statuses


def _polls(engine: sa.Engine) -> dict[int, int]:
    with engine.connect() as connection:
        return dict(connection.execute(sa.text("SELECT id, poll_count FROM shipments")).all())


async def test_pull_and_refresh_shipment_tasks_are_the_cli_use_cases(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, ["cainiao", "yanwen"], per_scenario=1)
    by_cli = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    await run_pull(by_cli, orders)
    assert verdicts(by_cli) == expected

    engine = make_engine(sqlite_url)
    with sandbox_process("--no-limits") as url:
        config = WorkerConfig(
            database_url="postgresql://unused",
            network=sandbox_network(url, all_carriers()),
            refresh_cron=None,
        )
        app = procrastinate.App(connector=InMemoryConnector())
        app.add_tasks_from(worker_blueprint(config), namespace=NAMESPACE)
        runtime = Runtime(
            config=config,
            settings=Settings(_env_file=None),  # type: ignore[call-arg]
            engine=engine,
            carriers=all_carriers(),
            limits=None,
            app=app,
        )
        async with app.open_async():
            await app.configure_task(f"{NAMESPACE}:pull").defer_async(
                orders_path=str(orders), as_of=AS_OF.isoformat(), window_days=90
            )
            assert await _run(app, runtime) == {"pull": ["succeeded"]}
            assert verdicts(engine) == verdicts(by_cli)

            before = _polls(engine)
            one = min(before)
            await app.configure_task(f"{NAMESPACE}:refresh_shipment").defer_async(shipment_id=one)
            assert await _run(app, runtime) == {
                "pull": ["succeeded"],
                "refresh_shipment": ["succeeded"],
            }
    after = _polls(engine)
    assert after[one] == before[one] + 1  # polled now, whatever its next poll time
    assert {sid: n for sid, n in after.items() if sid != one} == {
        sid: n for sid, n in before.items() if sid != one
    }

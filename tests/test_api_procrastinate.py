"""On PostgreSQL, API jobs and webhook deliveries run on Procrastinate (issue 15, item 5).

Each test gets a fresh PostgreSQL database; skipped, with the reason, when none is running.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import procrastinate
import pytest
import sqlalchemy as sa
from procrastinate.testing import InMemoryConnector

import tracking.api.procrastinate_runner as runner_module
from tests.conftest import fresh_postgres
from tests.test_api import (
    AS_OF,
    Receiver,
    _type,
    client,
    create_key,
    eventually,
    finished,
    make_app,
    running,
    write_orders,
)
from tracking.api.jobs import JobRunner
from tracking.core.config import Settings
from tracking.store.jobs import get_job

pytestmark = [pytest.mark.postgres]

QUICK = {"heartbeat_seconds": 0.2, "stalled_after_seconds": 1.0}


@pytest.fixture
def pg_engine(pg_skip_reason: str | None, make_engine: Any) -> Iterator[sa.Engine]:
    with fresh_postgres(pg_skip_reason) as url:
        yield make_engine(url)


def queue_rows(engine: sa.Engine, task: str) -> list[Any]:
    """The Procrastinate jobs of one task, oldest first."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "SELECT id, queue_name, lock, priority, status, args, scheduled_at "
                    "FROM procrastinate_jobs WHERE task_name = :task ORDER BY id"
                ),
                {"task": f"track_evidence:{task}"},
            )
        )


async def test_pulls_and_bundles_run_as_procrastinate_jobs(
    pg_engine: sa.Engine, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, ["cainiao"], per_scenario=1)
    key = create_key(pg_engine, "shop-a")
    app = make_app(pg_engine, tmp_path)
    async with running(app), client(app, key) as http:
        await http.post("/v1/orders", content=orders.read_bytes(), headers=_type("text/csv"))
        started = await http.post("/v1/pulls", json={"as_of": AS_OF.isoformat()})
        pull = await finished(http, started.headers["location"])
        assert pull["status"] == "succeeded", pull
        assert pull["result"]["orders_in_window"] == len(expected)
        made = await http.post(
            "/v1/bundles", json={"reference_id": "EVR-PG-1", "as_of": AS_OF.isoformat()}
        )
        bundle = await finished(http, made.headers["location"])
        assert bundle["status"] == "succeeded", bundle
        # upload/ cites the passing orders (issue 13)
        assert bundle["orders"] == sum(v == "pass" for v in expected.values())
    ran = {r.args["job_id"]: r for r in queue_rows(pg_engine, "api_job")}
    assert set(ran) == {pull["id"], bundle["id"]}
    assert {r.status for r in ran.values()} == {"succeeded"}
    assert {r.queue_name for r in ran.values()} == {"api"}
    assert ran[pull["id"]].lock == "api:shop-a:pull"
    assert ran[bundle["id"]].lock == "api:shop-a:bundle"


async def test_a_tenant_with_many_jobs_does_not_starve_another(
    pg_engine: sa.Engine, tmp_path: Path
) -> None:
    big, small = create_key(pg_engine, "big-shop"), create_key(pg_engine, "small-shop")
    idle = make_app(pg_engine, tmp_path, run_jobs=False, deliver_webhooks=False)
    async with running(idle), client(idle, big) as b, client(idle, small) as s:
        big_jobs = [(await b.post("/v1/pulls", json={})).json()["id"] for _ in range(5)]
        small_job = (await s.post("/v1/pulls", json={})).json()["id"]
    app = make_app(pg_engine, tmp_path, job_concurrency=1)
    async with running(app), client(app, big) as b, client(app, small) as s:
        states = [await finished(b, f"/v1/pulls/{j}") for j in big_jobs]
        mine = await finished(s, f"/v1/pulls/{small_job}")
    assert {x["status"] for x in [*states, mine]} == {"succeeded"}
    order = sorted([*states, mine], key=lambda x: x["started_at"])
    # One slot: the big shop's first pull, then the small shop's, then the rest.
    assert [x["id"] for x in order] == [big_jobs[0], small_job, *big_jobs[1:]]
    for before, after in itertools.pairwise(order):
        assert before["finished_at"] <= after["started_at"]


class TwoReceivers(Receiver):
    """`fast.test` answers at once; `slow.test` never answers within the deadline."""

    hosts: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.hosts = []

    async def answer(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        if request.url.host == "slow.test":
            await asyncio.sleep(30)
        return httpx.Response(200, text="thanks")

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.answer)


async def test_webhook_attempts_are_procrastinate_jobs_with_deadline_and_retries(
    pg_engine: sa.Engine, tmp_path: Path
) -> None:
    receiver = TwoReceivers()
    got = receiver.hosts
    key = create_key(pg_engine, "shop-a")
    app = make_app(
        pg_engine,
        tmp_path,
        receiver=receiver,
        schedule=(timedelta(seconds=2),),
        webhook_timeout_seconds=0.5,
    )
    async with running(app), client(app, key) as http:
        slow = (await http.post("/v1/webhooks", json={"url": "https://slow.test/h"})).json()
        fast = (await http.post("/v1/webhooks", json={"url": "https://fast.test/h"})).json()
        for n in range(3):
            made = await http.post("/v1/bundles", json={"reference_id": f"EVR-{n}"})
            await finished(http, made.headers["location"])

        async def states(hook: dict[str, Any]) -> list[dict[str, Any]]:
            items = (await http.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
            return list(items)

        async def fast_done() -> bool:
            items = await states(fast)
            return len(items) == 3 and all(d["status"] == "delivered" for d in items)

        # The slow receiver holds only its own slot: the other webhook gets all three.
        await eventually(fast_done, seconds=20)
        first = await states(slow)

        async def slow_done() -> bool:
            return all(d["status"] == "failed" for d in await states(slow))

        await eventually(slow_done, seconds=60)
        detail = (await http.get(f"/v1/webhooks/{slow['id']}/deliveries/{first[0]['id']}")).json()
    assert got.count("fast.test") == 3
    assert got.count("slow.test") == 6  # three deliveries, each tried twice
    assert [a["error"].startswith("timed out") for a in detail["log"]] == [True, True]
    assert all(400 <= a["duration_ms"] < 2000 for a in detail["log"])
    attempts = queue_rows(pg_engine, "webhook_attempt")
    slow_attempts = [a for a in attempts if a.lock == f"webhook:{slow['id']}"]
    assert len(slow_attempts) == 6
    assert all(a.queue_name == "webhooks" for a in attempts)
    retries = queue_rows(pg_engine, "webhook_retry")
    assert len(retries) == 3
    assert all(r.lock is None for r in retries)
    # Each retry was scheduled for the time the failed attempt set (2 s after it, +10 %).
    ours = next(r for r in retries if r.args["delivery_id"] == first[0]["id"])
    tried = [datetime.fromisoformat(a["attempted_at"]) for a in detail["log"]]
    wait = ours.scheduled_at - tried[0]
    assert timedelta(seconds=2) <= wait <= timedelta(seconds=2.3)
    assert tried[1] >= ours.scheduled_at


CHILD = """
import asyncio, sys
from pathlib import Path
import tracking.api.app as api_app
from tracking.api import ApiOptions, create_app
from tracking.core.config import Settings
from tracking.store.engine import open_engine

async def hang(job, progress):
    await asyncio.sleep(3600)

api_app.pull_handler = lambda context: hang
app = create_app(
    Settings(_env_file=None),
    engine=open_engine(sys.argv[1]),
    options=ApiOptions(
        data_dir=Path(sys.argv[2]), deliver_webhooks=False, job_poll_seconds=0.05,
        heartbeat_seconds=0.2, stalled_after_seconds=1.0,
    ),
)

async def main():
    async with app.router.lifespan_context(app):
        await asyncio.sleep(3600)

asyncio.run(main())
"""


def serve_hanging(engine: sa.Engine, tmp_path: Path) -> subprocess.Popen[bytes]:
    """A serving process whose pulls never end (killed by the test)."""
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(tmp_path / "data")],
        cwd=Path(__file__).parent.parent,
    )


async def test_the_job_of_a_killed_process_is_run_again(
    pg_engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(pg_engine, "shop-a")
    idle = make_app(pg_engine, tmp_path, run_jobs=False, deliver_webhooks=False)
    async with running(idle), client(idle, key) as http:
        job_id = (await http.post("/v1/pulls", json={})).json()["id"]
    child = serve_hanging(pg_engine, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            job = get_job(pg_engine, tenant="shop-a", kind="pull", job_id=job_id)
            assert job is not None
            if job.status == "running":
                break
            assert child.poll() is None, "the serving process died on its own"
            assert time.monotonic() < deadline, "the job never started"
            await asyncio.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    app = make_app(pg_engine, tmp_path, **QUICK)
    async with running(app), client(app, key) as http:
        state = await finished(http, f"/v1/pulls/{job_id}")
    assert state["status"] == "succeeded", state
    job = get_job(pg_engine, tenant="shop-a", kind="pull", job_id=job_id)
    assert job is not None
    assert job.attempts == 2
    (row,) = queue_rows(pg_engine, "api_job")
    assert row.status == "succeeded"


WORKER_MAIN = "import tracking.cli.app as cli; cli.main()"


def start_worker(engine: sa.Engine, data_dir: Path) -> subprocess.Popen[bytes]:
    """`track-evidence worker --queues api` on the test's database and its own data folder."""
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [
            *(sys.executable, "-c", WORKER_MAIN, "--db", url, "worker", "--queues", "api"),
            *("--refresh-minutes", "0", "--heartbeat-seconds", "0.5"),
        ],
        cwd=Path(__file__).parent.parent,
        env={**os.environ, "TRACK_EVIDENCE_DATA_DIR": str(data_dir)},
    )


async def test_worker_processes_take_api_jobs(pg_engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(pg_engine, "shop-a")
    idle = make_app(pg_engine, tmp_path, run_jobs=False, deliver_webhooks=False)
    async with running(idle), client(idle, key) as http:
        pull_id = (await http.post("/v1/pulls", json={})).json()["id"]
        bundle_id = (await http.post("/v1/bundles", json={"reference_id": "EVR-W"})).json()["id"]
    worker = start_worker(pg_engine, tmp_path / "worker-data")
    try:
        deadline = time.monotonic() + 60
        while True:
            jobs = [
                get_job(pg_engine, tenant="shop-a", kind=kind, job_id=job_id)
                for kind, job_id in (("pull", pull_id), ("bundle", bundle_id))
            ]
            if all(j is not None and j.status in ("succeeded", "failed") for j in jobs):
                break
            assert worker.poll() is None, "the worker died"
            assert time.monotonic() < deadline, f"jobs not done: {jobs}"
            await asyncio.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait()
    assert [j.status if j else None for j in jobs] == ["succeeded", "succeeded"]
    manifest = tmp_path / "worker-data" / "bundles" / bundle_id / "bundle" / "manifest.json"
    assert manifest.is_file()


async def test_a_job_cut_short_by_a_shutdown_runs_again(
    pg_engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracking.api.app as api_app

    async def hang(job: Any, progress: Any) -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    key = create_key(pg_engine, "shop-a")
    with monkeypatch.context() as patch:
        patch.setattr(api_app, "pull_handler", lambda context: hang)
        first = make_app(pg_engine, tmp_path)
        async with running(first), client(first, key) as http:
            job_id = (await http.post("/v1/pulls", json={})).json()["id"]

            async def started() -> bool:
                return bool((await http.get(f"/v1/pulls/{job_id}")).json()["status"] == "running")

            await eventually(started)
    job = get_job(pg_engine, tenant="shop-a", kind="pull", job_id=job_id)
    assert job is not None
    assert job.status == "queued"  # handed back at shutdown, not left "running"
    app = make_app(pg_engine, tmp_path)
    async with running(app), client(app, key) as http:
        state = await finished(http, f"/v1/pulls/{job_id}")
    assert state["status"] == "succeeded", state
    job = get_job(pg_engine, tenant="shop-a", kind="pull", job_id=job_id)
    assert job is not None
    assert job.attempts == 2
    (task,) = queue_rows(pg_engine, "api_job")  # the same Procrastinate job, retried
    assert task.status == "succeeded"


async def test_worker_processes_run_api_jobs_with_the_configured_concurrency(
    pg_engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    class Recording(JobRunner):
        def __init__(self, *args: Any, concurrency: int, **kwargs: Any) -> None:
            seen.append(concurrency)
            super().__init__(*args, concurrency=concurrency, **kwargs)

    monkeypatch.setattr(runner_module, "JobRunner", Recording)
    settings = Settings(_env_file=None, data_dir=tmp_path, job_concurrency=7)  # type: ignore[call-arg]
    async with runner_module.worker_api_queues(
        procrastinate.App(connector=InMemoryConnector()),
        queues=("api", "webhooks"),
        engine=pg_engine,
        settings=settings,
        network=None,
        fetcher_options={},
    ):
        pass
    assert seen == [7]

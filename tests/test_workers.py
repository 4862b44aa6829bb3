"""Distributed workers on real PostgreSQL: shared rate limits, per-shipment claims, crashes.

Each test starts a sandbox process (it counts requests per second per carrier on the server
side) and `track-evidence worker` processes. Skipped, with the reason, when PostgreSQL (or,
for the Redis limiter, Redis) is not reachable.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench.common import sandbox_process, stats, write_orders
from carriers.registry import all_carriers
from tests.conftest import fresh_postgres
from tracking.store.engine import open_engine

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CARRIERS = ["17track", "4px", "cainiao", "yanwen", "yunexpress"]
WORKER_MAIN = "import tracking.cli.app as cli; cli.main()"
PLANNER_KILLED_ON_THIRD_SLICE = """
import os, signal
import tracking.cli.app as cli, tracking.workers.blueprint as workers
import tracking.workers.tasks as tasks
real, slices = tasks._defer_batch, []
def dying(*args, **kwargs):
    slices.append(1)
    if len(slices) == 3:  # third slice claimed in its transaction, its batch not queued yet
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
tasks._defer_batch = dying
cli.main()
"""
REDIS_URL = os.environ.get("TRACK_EVIDENCE_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _redis_reason() -> str | None:
    try:
        import redis
    except ImportError:
        return "redis is not installed"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis is not running at {REDIS_URL}: {exc}"
    return None


@pytest.fixture
def pg_url(pg_skip_reason: str | None) -> Iterator[str]:
    with fresh_postgres(pg_skip_reason) as url:
        yield url


def seed(url: str, tmp_path: Path, count: int, *, wave: int = 7) -> dict[str, int]:
    """Store `count` orders (and their never-polled shipments) spread over the carriers.

    Each `wave` has its own order ids and tracking numbers.
    """
    from tracking.fetch.orders import order_row
    from tracking.ingest import OrderRow, open_orders
    from tracking.store.engine import transaction
    from tracking.store.orders import upsert_orders

    path = tmp_path / f"orders-{wave}.csv"
    per = write_orders(path, count, CARRIERS, seed=wave)
    carriers = all_carriers()
    engine = open_engine(url)
    now = datetime.now(UTC)
    rows = [
        order_row(item, carriers=carriers, run_id="seed", now=now, source="seed")
        for item in open_orders(path, tenant="default")
        if isinstance(item, OrderRow)
    ]
    with transaction(engine) as connection:
        upsert_orders(
            connection,
            orders=rows,
            shipments=[r["_shipment_key"] for r in rows if r["_shipment_key"]],
        )
    engine.dispose()
    return per


def start_worker(
    url: str,
    sandbox: str,
    prefix: str,
    *,
    concurrency: int,
    main: str = WORKER_MAIN,
    extra: Sequence[str] = ("--refresh-minutes", "0"),
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRACK_EVIDENCE_LIMIT_PREFIX": prefix}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            main,
            "--db",
            url,
            "worker",
            "--concurrency",
            str(concurrency),
            *extra,
            "--sandbox-url",
            sandbox,
            "--batch",
            "5",
            "--heartbeat-seconds",
            "0.5",
            *(["--redis-url", REDIS_URL] if prefix.startswith("redis") else []),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=15)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()
        if w.stderr is not None:
            w.stderr.close()


def job_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        if connection.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            return {}
        rows = connection.execute(
            sa.text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status")
        )
        return {str(k): int(v) for k, v in rows}


def batches_running(engine: sa.Engine) -> int:
    """Refresh batch jobs in progress (not the planner)."""
    with engine.connect() as connection:
        if connection.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            return 0
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
                    " AND task_name LIKE :batch"
                ),
                {"batch": "%:refresh_batch"},
            ).scalar_one()
        )


def polled(engine: sa.Engine) -> tuple[int, int, int]:
    """(origin shipments, polled at least once, polled more than once)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT count(*), count(*) FILTER (WHERE poll_count >= 1),"
                " count(*) FILTER (WHERE poll_count > 1) FROM shipments WHERE role = 'origin'"
            )
        ).one()
        return int(row[0]), int(row[1]), int(row[2])


def duplicate_events(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM (SELECT shipment_id, dedup_key FROM events"
                    " GROUP BY shipment_id, dedup_key HAVING count(*) > 1) d"
                )
            ).scalar_one()
        )


def wait_done(engine: sa.Engine, workers: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = job_counts(engine)
        total, done, _ = polled(engine)
        busy = counts.get("todo", 0) + counts.get("doing", 0)
        if counts and busy == 0 and done == total:
            return
        for w in workers:
            if w.poll() not in (None, -signal.SIGKILL):
                detail = w.stderr.read().decode()[-2000:] if w.stderr else ""
                raise AssertionError(f"worker exited: {detail}")
        time.sleep(0.3)
    raise AssertionError(f"refresh did not finish in {timeout}s: jobs {job_counts(engine)}")


def defer_plan(url: str) -> None:
    from tracking.workers.blueprint import defer

    asyncio.run(defer(url, "plan_refresh"))


@pytest.mark.parametrize("backend", ["postgresql", "redis"])
def test_three_workers_share_each_carriers_rate_limit(
    pg_url: str, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "redis" and (reason := _redis_reason()):
        pytest.skip(reason)
    per = seed(pg_url, tmp_path, 150)
    engine = open_engine(pg_url)
    request.addfinalizer(engine.dispose)
    prefix = f"{backend}:{uuid.uuid4().hex}:"
    with sandbox_process() as sandbox:
        workers = [start_worker(pg_url, sandbox, prefix, concurrency=2) for _ in range(3)]
        try:
            defer_plan(pg_url)
            wait_done(engine, workers, timeout=50)
        finally:
            stop(workers)
        seen = stats(sandbox)
    limits = {code: info.rate_limit.per_second for code, info in all_carriers().items()}
    for code in CARRIERS:
        s = seen[code]
        # the sandbox counts arrivals in a sliding 1 s window: +1 for arrival jitter
        assert s["max_per_second"] <= limits[code] + 1, (code, s)
        assert s["limited"] == 0, (code, s)  # not one 429: the requests are evenly spaced
    # 4px and yunexpress take one number per request: each shipment was asked for exactly
    # once, and 30 requests at 5/s kept the shared limit busy
    for code in ("4px", "yunexpress"):
        assert seen[code]["requests"] == per[code], (code, seen[code])
        assert seen[code]["max_per_second"] >= 4, (code, seen[code])
    total, done, twice = polled(engine)
    assert (done, twice) == (total, 0)
    assert duplicate_events(engine) == 0
    engine.dispose()


def test_a_killed_worker_loses_nothing(
    pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    per = seed(pg_url, tmp_path, 150)
    engine = open_engine(pg_url)
    request.addfinalizer(engine.dispose)  # also on failure: no connection outlives the test
    prefix = f"postgresql:{uuid.uuid4().hex}:"
    with sandbox_process() as sandbox:
        victim = start_worker(pg_url, sandbox, prefix, concurrency=2)
        workers = [victim]
        try:
            defer_plan(pg_url)
            # Kill the victim in the middle of refresh batches (a planner killed while
            # claiming: test_a_planner_killed_between_claim_and_queueing_strands_nothing).
            deadline = time.monotonic() + 20
            while batches_running(engine) < 2:
                assert time.monotonic() < deadline, job_counts(engine)
                time.sleep(0.05)
            workers += [start_worker(pg_url, sandbox, prefix, concurrency=2) for _ in range(2)]
            time.sleep(0.3)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            wait_done(engine, workers, timeout=50)
        finally:
            stop(workers)
        seen = stats(sandbox)
    with engine.connect() as connection:
        retried = connection.execute(
            sa.text("SELECT count(*) FROM procrastinate_jobs WHERE attempts > 0")
        ).scalar_one()
        failed = connection.execute(
            sa.text("SELECT count(*) FROM procrastinate_jobs WHERE status <> 'succeeded'")
        ).scalar_one()
    assert retried >= 1  # the victim's jobs were retried by the others
    assert failed == 0
    total, done, twice = polled(engine)
    assert (done, twice) == (total, 0)  # every shipment stored, each once
    assert duplicate_events(engine) == 0
    # one number per request: at most the victim's requests in flight were asked again
    single = ("4px", "yunexpress")
    asked = sum(seen[c]["requests"] for c in single)
    assert sum(per[c] for c in single) <= asked <= sum(per[c] for c in single) + 2 * 5
    engine.dispose()


def leased(engine: sa.Engine) -> int:
    """Shipments claimed (leased) but not polled yet."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM shipments WHERE poll_count = 0 AND next_poll_at > :now"
                ),
                {"now": datetime.now(UTC)},
            ).scalar_one()
        )


def jobs_of(engine: sa.Engine, task: str) -> list[tuple[str, int]]:
    """(status, attempts) of each job of `task`."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT status::text, attempts FROM procrastinate_jobs WHERE task_name = :t"
                " ORDER BY id"
            ),
            {"t": f"track_evidence:{task}"},
        )
        return [(str(status), int(attempts)) for status, attempts in rows]


def test_a_planner_killed_between_claim_and_queueing_strands_nothing(
    pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SIGKILL inside the planner, after a slice is claimed and before its batch is queued.

    The claim and the job commit together or not at all: the slice the planner was on is
    not leased (no hour-long wait), the planner job is retried by a surviving worker, and
    every shipment is polled once.
    """
    seed(pg_url, tmp_path, 150)
    engine = open_engine(pg_url)
    request.addfinalizer(engine.dispose)
    prefix = f"postgresql:{uuid.uuid4().hex}:"
    with sandbox_process() as sandbox:
        victim = start_worker(
            pg_url, sandbox, prefix, concurrency=1, main=PLANNER_KILLED_ON_THIRD_SLICE
        )
        workers = [victim]
        try:
            defer_plan(pg_url)
            assert victim.wait(timeout=60) == -signal.SIGKILL
            # Two slices were claimed and queued; the third one's claim died with it.
            assert leased(engine) == 2 * 5
            assert [status for status, _ in jobs_of(engine, "refresh_batch")] == ["todo"] * 2
            workers += [start_worker(pg_url, sandbox, prefix, concurrency=2) for _ in range(2)]
            wait_done(engine, workers[1:], timeout=40)  # the lease is an hour
        finally:
            stop(workers)
    [(status, attempts)] = jobs_of(engine, "plan_refresh")
    assert status == "succeeded"
    assert attempts >= 1  # retried by a surviving worker
    assert job_counts(engine) == {"succeeded": sum(job_counts(engine).values())}
    total, done, twice = polled(engine)
    assert (done, twice) == (total, 0)  # every shipment stored, each once
    assert duplicate_events(engine) == 0


TICK_SECONDS = 5


def ticks(engine: sa.Engine) -> list[tuple[int, str]]:
    """(cron timestamp, status) of every `refresh_tick` job, in timestamp order."""
    with engine.connect() as connection:
        if connection.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            return []
        rows = connection.execute(
            sa.text(
                "SELECT (args->>'timestamp')::bigint, status::text FROM procrastinate_jobs"
                " WHERE task_name = 'track_evidence:refresh_tick' ORDER BY 1, id"
            )
        )
        return [(int(t), str(status)) for t, status in rows]


def polled_twice(engine: sa.Engine) -> int:
    """Shipments of any role (origins and the legs they revealed) polled more than once."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM shipments WHERE poll_count > 1")
            ).scalar_one()
        )


def wait_until(
    check: Any, workers: list[subprocess.Popen[bytes]], timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        for w in workers:
            if w.poll() is not None:
                detail = w.stderr.read().decode()[-2000:] if w.stderr else ""
                raise AssertionError(f"worker exited: {detail}")
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.3)


def test_three_workers_defer_each_periodic_refresh_exactly_once(
    pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """3 workers on a refresh cron of every few seconds: one `refresh_tick` job per tick.

    Procrastinate's periodic defers are unique per (task, periodic id, tick), so whichever
    workers see a tick, one job runs it. A second wave of orders, stored once the first is
    polled, is polled by a later tick; no shipment of either wave is polled twice.
    """
    seed(pg_url, tmp_path, 50, wave=1)
    engine = open_engine(pg_url)
    request.addfinalizer(engine.dispose)
    prefix = f"postgresql:{uuid.uuid4().hex}:"
    cron = ("--refresh-cron", f"* * * * * */{TICK_SECONDS}")
    with sandbox_process() as sandbox:
        workers = [
            start_worker(pg_url, sandbox, prefix, concurrency=2, extra=cron) for _ in range(3)
        ]
        try:
            wait_until(lambda: polled(engine)[1] == 50, workers, 30, "first wave polled")
            first_wave_ticks = {t for t, _ in ticks(engine)}
            seed(pg_url, tmp_path, 50, wave=2)
            wait_until(lambda: polled(engine)[1] == 100, workers, 30, "second wave polled")
            # and let two more ticks pass, seen by all three workers
            last = max(t for t, _ in ticks(engine))
            wait_until(
                lambda: max(t for t, _ in ticks(engine)) >= last + 2 * TICK_SECONDS,
                workers,
                30,
                "two more ticks",
            )
        finally:
            stop(workers)
    deferred = ticks(engine)
    stamps = [t for t, _ in deferred]
    assert len(stamps) == len(set(stamps)), f"a tick was deferred twice: {stamps}"
    # every tick between the first and the last, none lost and none doubled
    assert stamps == list(range(stamps[0], stamps[-1] + 1, TICK_SECONDS))
    assert len(stamps) >= 4
    assert max(stamps) > max(first_wave_ticks)  # the second wave came with a later tick
    assert "failed" not in {status for _, status in deferred}
    total, done, twice = polled(engine)
    assert (total, done, twice) == (100, 100, 0)
    assert polled_twice(engine) == 0
    assert duplicate_events(engine) == 0


def test_worker_refuses_sqlite(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WORKER_MAIN, "--db", f"sqlite:///{tmp_path}/x.db", "worker"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "workers need PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_refuses_a_bad_refresh_cron() -> None:
    # refused before any connection: the database need not exist
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = subprocess.run(
        [sys.executable, "-c", WORKER_MAIN, "--db", url, "worker", "--refresh-cron", "every 5 s"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--refresh-cron 'every 5 s' is not a valid cron schedule" in result.stderr
    assert "Traceback" not in result.stderr


def test_claims_are_exclusive(pg_url: str, tmp_path: Path) -> None:
    """Two claimers at once never take the same shipment; a claim is not due again."""
    from concurrent.futures import ThreadPoolExecutor

    from tracking.store.polls import claim_due

    per = seed(pg_url, tmp_path, 100)
    engine = open_engine(pg_url)
    now = datetime.now(UTC)
    until = now + timedelta(hours=1)

    def claim(_: int) -> list[int]:
        return [
            s.id for s in claim_due(engine, carrier="4px", now=now, claimed_until=until, limit=7)
        ]

    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(claim, range(6)))
    ids = [i for b in batches for i in b]
    assert len(ids) == len(set(ids)) == per["4px"]
    assert claim_due(engine, carrier="4px", now=now, claimed_until=until, limit=7) == []
    later = claim_due(
        engine, carrier="4px", now=until, claimed_until=until + timedelta(hours=1), limit=100
    )
    assert len(later) == per["4px"]  # an expired lease makes them due again
    engine.dispose()

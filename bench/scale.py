"""Scale benchmark on PostgreSQL: the due query over 1,000,000 shipments, and a refresh of the
due ones by 3 `worker` processes against the sandbox, compared with the rate-limit floor.

    python -m bench.scale --total 1000000 --due 100000 --rate 200 --workers 3

`--rate` sets every carrier's limit (requests/s) on both the sandbox and the workers
(`TRACK_EVIDENCE_<CODE>__RATE_PER_SECOND`). The floor is the slowest carrier's
requests / rate; the target is to finish within 1.10x of it. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.common import sandbox_process, stats
from carriers.registry import all_carriers
from tracking.store.engine import open_engine

CARRIERS = ["17track", "4px", "cainiao", "yanwen", "yunexpress"]
WORKER_MAIN = "import tracking.cli.app as cli; cli.main()"
ADMIN = os.environ.get(
    "TRACK_EVIDENCE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

FILLER_SQL = """
INSERT INTO shipments (carrier, tracking_number, role, carrier_name, state, carrier_status,
                       final, poll_count, created_at, next_poll_at)
SELECT (ARRAY['17track','4px','cainiao','yanwen','yunexpress'])[1 + i % 5],
       'F' || lpad(i::text, 12, '0'), 'origin', '', 'tracking', '', false, 1, :now,
       CASE WHEN i % 7 = 0 THEN NULL ELSE :now + (1 + i % 500) * interval '1 hour' END
FROM generate_series(1, :count) AS i
"""


def seed(engine: sa.Engine, *, total: int, due: int, now: datetime) -> dict[str, int]:
    """`due` real sandbox numbers due now, the rest not due for hours (or final)."""
    registry = all_carriers()
    per = dict.fromkeys(CARRIERS, 0)
    buffer = io.StringIO()
    for i in range(due):
        code = CARRIERS[i % len(CARRIERS)]
        make = registry[code].make_number
        assert make is not None
        per[code] += 1
        stamp = (now - timedelta(minutes=1 + i % 600)).isoformat()
        buffer.write(
            f"{code}\t{make(90_000_000 + i)}\torigin\t\ttracking\t\tf\t1\t{stamp}\t{stamp}\n"
        )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        columns = (
            "carrier, tracking_number, role, carrier_name, state, carrier_status, final,"
            " poll_count, created_at, next_poll_at"
        )
        with cursor.copy(f"COPY shipments ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        connection.execute(sa.text(FILLER_SQL), {"count": total - due, "now": now})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE shipments"))
    return per


def time_due_query(engine: sa.Engine, *, now: datetime, limit: int) -> dict[str, float]:
    from tracking.store.shipments import due_shipments

    samples = []
    for _ in range(20):
        started = time.perf_counter()
        rows = due_shipments(engine, now=now, carriers=CARRIERS, limit=limit)
        samples.append((time.perf_counter() - started) * 1000)
    assert len(rows) == limit
    return {
        "limit": limit,
        "median_ms": round(statistics.median(samples), 2),
        "max_ms": round(max(samples), 2),
    }


def count(engine: sa.Engine, rows: str) -> int:
    """`SELECT count(*) FROM <rows>`: `rows` is a table and its WHERE clause."""
    with engine.connect() as connection:
        found: int = connection.execute(sa.text(f"SELECT count(*) FROM {rows}")).scalar_one()
    return found


def floor_seconds(per: dict[str, int], *, rate: float, batch: int) -> tuple[float, dict[str, int]]:
    """The slowest carrier's requests / rate: jobs of `batch`, each split by the batch size."""
    registry = all_carriers()
    requests = {}
    for code, count in per.items():
        size = registry[code].batch_size
        full, rest = divmod(count, batch)
        requests[code] = full * math.ceil(batch / size) + math.ceil(rest / size)
    return max(r / rate for r in requests.values()), requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    name = f"te_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(ADMIN).set(database=name).render_as_string(hide_password=False)
    report: dict[str, object] = {"total": args.total, "due": args.due, "rate": args.rate}
    try:
        engine = open_engine(url)
        now = datetime.now(UTC)
        started = time.perf_counter()
        per = seed(engine, total=args.total, due=args.due, now=now)
        report["seed_seconds"] = round(time.perf_counter() - started, 1)
        report["due_query"] = time_due_query(engine, now=now, limit=1000)
        floor, requests = floor_seconds(per, rate=args.rate, batch=args.batch)
        report["floor_seconds"] = round(floor, 1)
        report["requests_needed"] = requests
        rates = {f"TRACK_EVIDENCE_{c.upper()}__RATE_PER_SECOND": str(args.rate) for c in CARRIERS}
        os.environ.update(rates)
        with sandbox_process() as sandbox:
            env = {**os.environ, "TRACK_EVIDENCE_LIMIT_PREFIX": f"bench:{name}:"}
            from tracking.workers.blueprint import defer

            asyncio.run(defer(url, "plan_refresh"))
            started = time.perf_counter()
            workers = [
                subprocess.Popen(
                    [
                        sys.executable, "-c", WORKER_MAIN, "--db", url, "worker",
                        "--concurrency", str(args.concurrency), "--refresh-minutes", "0",
                        "--sandbox-url", sandbox, "--batch", str(args.batch),
                    ],
                    env=env,
                )
                for _ in range(args.workers)
            ]  # fmt: skip
            try:
                while True:
                    busy = count(engine, "procrastinate_jobs WHERE status IN ('todo', 'doing')")
                    if busy == 0:
                        break
                    time.sleep(0.5)
                elapsed = time.perf_counter() - started
            finally:
                for w in workers:
                    w.terminate()
                for w in workers:
                    w.wait(timeout=30)
            seen = stats(sandbox)
        polled = count(
            engine, "shipments WHERE last_fetched_at IS NOT NULL AND tracking_number NOT LIKE 'F%'"
        )
        report["refresh_seconds"] = round(elapsed, 1)
        report["vs_floor"] = round(elapsed / floor, 3)
        report["polled"] = polled
        report["sandbox"] = {
            c: {k: seen[c][k] for k in ("requests", "max_per_second", "limited")} for c in CARRIERS
        }
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

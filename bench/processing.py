"""Processing cost: a pull with no latency and no limits, shipments/s end to end.

The sandbox runs in its own process (it plays the carriers); what is measured is this
process: HTTP client, parsing, normalizing, storing in SQLite and judging every order.
Bar (design §15): at least 1,000 shipments/s on one core.

    python bench/processing.py [--orders 10000] [--repeat 3] [--profile]

Each run pulls the same orders into a fresh database; the figure is the median run (this
machine's speed drifts by up to +-20 % from minute to minute).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import AS_OF, sandbox_process, write_orders
from carriers.registry import all_carriers
from tracking.core.config import Settings
from tracking.core.runtime import tune_gc
from tracking.fetch.pipeline import pull
from tracking.judge.validator import POLICIES
from tracking.sandbox.server import sandbox_network
from tracking.store.engine import open_engine

BAR = 1000.0


def run_once(orders: Path, tmp: str, codes: list[str], url: str, profile: bool) -> dict[str, Any]:
    """One pull of `orders` into a fresh database; its figures."""
    carriers = all_carriers()
    engine = open_engine(f"sqlite:///{tmp}/bench-{time.monotonic_ns()}.db")
    profiler = cProfile.Profile() if profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    report = asyncio.run(
        pull(
            engine=engine,
            settings=Settings(_env_file=None),  # type: ignore[call-arg]
            orders_path=orders,
            carriers={c: carriers[c] for c in codes},
            as_of=AS_OF,
            window_days=90,
            policy=POLICIES["default"],
            network=sandbox_network(url, carriers),
            fetcher_options={"rate_overrides": dict.fromkeys(codes, 100_000.0)},
        )
    )
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    engine.dispose()
    shipments = report.shipments_fetched + report.shipments_not_found
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    return {
        "shipments": shipments,
        "requests": report.requests,
        "wall": wall,
        "cpu": cpu,
        "rate": shipments / wall,
        "cpu_rate": shipments / cpu,
        "verdicts": report.verdicts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is the figure")
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    parser.add_argument(
        "--carriers", default="", help="comma-separated codes (default: every sandbox carrier)"
    )
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # one core for this process; the sandbox gets the other
    tune_gc()  # as `track-evidence` does
    carriers = all_carriers()
    codes = [c for c in args.carriers.split(",") if c] or [
        c for c, i in carriers.items() if i.sandbox is not None
    ]
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.csv"
        write_orders(orders, args.orders, codes)
        runs = []
        with sandbox_process("--no-limits", cpus={1}) as url:
            for i in range(max(1, args.repeat)):
                run = run_once(orders, tmp, codes, url, args.profile and i == 0)
                runs.append(run)
                print(
                    f"run {i + 1}: {run['shipments']:.0f} shipments"
                    f" ({run['requests']:.0f} requests)"
                    f" in {run['wall']:.2f} s wall, {run['cpu']:.2f} s CPU:"
                    f" {run['rate']:.0f}/s wall, {run['cpu_rate']:.0f} per CPU-second"
                )
        rate = statistics.median(r["rate"] for r in runs)
        cpu_rate = statistics.median(r["cpu_rate"] for r in runs)
        print(
            f"orders {args.orders} ({','.join(codes)}), client pinned to one core,"
            f" median of {len(runs)} runs"
        )
        print(f"shipments/s (wall)       {rate:8.0f}   ratio to bar {rate / BAR:.2f}")
        print(f"shipments/s per CPU-sec  {cpu_rate:8.0f}   ratio to bar {cpu_rate / BAR:.2f}")
        print(f"verdicts {runs[0]['verdicts']}")


if __name__ == "__main__":
    main()

"""Floor ratio: a pull against the sandbox with realistic latency and each carrier's limit.

The floor is set by the carriers: for each one, requests needed (numbers / batch size) divided
by its rate; the slowest carrier decides. Bar (design §15): wall time within 1.10x the floor,
and the sandbox never sees a carrier's rate exceeded.

    python bench/pull_floor.py [--orders 20000] [--latency 50-150]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import AS_OF, sandbox_process, stats, write_orders
from carriers.registry import all_carriers
from tracking.core.config import Settings
from tracking.fetch.pipeline import pull
from tracking.judge.validator import POLICIES
from tracking.sandbox.server import sandbox_network
from tracking.store.engine import open_engine

BAR = 1.10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--latency", default="50-150", help="sandbox latency range in ms")
    args = parser.parse_args()
    carriers = all_carriers()
    codes = [c for c, i in carriers.items() if i.sandbox is not None]
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.csv"
        write_orders(orders, args.orders, codes)
        engine = open_engine(f"sqlite:///{tmp}/bench.db")
        with sandbox_process("--latency-ms", args.latency) as url:
            started = time.perf_counter()
            report = asyncio.run(
                pull(
                    engine=engine,
                    settings=Settings(_env_file=None),  # type: ignore[call-arg]
                    orders_path=orders,
                    carriers=carriers,
                    as_of=AS_OF,
                    window_days=90,
                    policy=POLICIES["default"],
                    network=sandbox_network(url, carriers),
                )
            )
            wall = time.perf_counter() - started
            seen = stats(url)
    print(f"orders {args.orders}, latency {args.latency} ms, wall {wall:.1f} s")
    print(
        f"{'carrier':<11} {'numbers':>8} {'batch':>5} {'rate/s':>6} {'floor s':>8} "
        f"{'max seen/s':>10} {'429s':>5}"
    )
    floor = 0.0
    for code in codes:
        info = carriers[code]
        due = report.by_carrier.get(code, {}).get("due", 0)
        requests = math.ceil(due / info.batch_size)
        # 17TRACK: one gettrackinfo per batch; the sandbox knows every number as registered,
        # so no `register` (a live first pull adds one per batch of new numbers).
        carrier_floor = requests / info.rate_limit.per_second
        floor = max(floor, carrier_floor)
        s = seen.get(code, {})
        print(
            f"{code:<11} {due:>8} {info.batch_size:>5} {info.rate_limit.per_second:>6g} "
            f"{carrier_floor:>8.1f} {s.get('max_per_second', 0):>10} {s.get('limited', 0):>5}"
        )
    ratio = wall / floor if floor else float("nan")
    print(
        f"floor {floor:.1f} s (slowest carrier); wall/floor {ratio:.3f}  bar <= {BAR}  "
        f"ratio to bar {ratio / BAR:.3f}"
    )
    print(f"verdicts {report.verdicts}; requests {report.requests}")


if __name__ == "__main__":
    main()

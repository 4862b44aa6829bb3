"""Memory: peak RSS of a real `track-evidence pull` of a large orders file.

The pull runs as a child process (the command users run) against the in-process sandbox with
no latency and no limits, so it finishes quickly; memory must stay flat with input size.
Bar (design §15): a 200,000-row pull peaks below 300 MB RSS.

    python bench/memory.py [--orders 200000] [--carriers cainiao,17track] [--xlsx]

With --xlsx the same orders are pulled from an .xlsx workbook (date cells), as sellers
download them (issue 12's bar: a 200,000-row .xlsx pull peaks below 300 MB RSS).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import write_orders
from carriers.registry import all_carriers

BAR_MB = 300.0


def to_xlsx(path: Path) -> Path:
    """The orders CSV as an .xlsx workbook: order dates as date cells (openpyxl, dev only)."""
    import csv
    from datetime import datetime

    import openpyxl

    target = path.with_suffix(".xlsx")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("orders")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        sheet.append(header)
        date_at = header.index("order_date")
        for row in reader:
            cells: list[object] = list(row)
            cells[date_at] = datetime.strptime(row[date_at], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
            sheet.append(cells)
    book.save(target)
    path.unlink()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--xlsx", action="store_true", help="pull an .xlsx workbook instead")
    parser.add_argument(
        "--carriers",
        default="",
        help="comma-separated carrier codes (default: every carrier with a sandbox)",
    )
    args = parser.parse_args()
    registry = all_carriers()
    codes = [c for c in args.carriers.split(",") if c] or [
        c for c, i in registry.items() if i.sandbox is not None
    ]
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.csv"
        write_orders(orders, args.orders, codes, seed=3)
        if args.xlsx:
            orders = to_xlsx(orders)
        size_mb = orders.stat().st_size / 1_048_576
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACK_EVIDENCE_")}
        for code in registry:
            env[f"TRACK_EVIDENCE_{code.upper()}__RATE_PER_SECOND"] = "100000"
            env[f"TRACK_EVIDENCE_{code.upper()}__CONCURRENCY"] = "8"
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tracking",
                "--db",
                f"sqlite:///{tmp}/bench.db",
                "pull",
                str(orders),
                "--sandbox",
                "--as-of",
                "2026-11-20",
                "--json",
            ],
            env=env,
            capture_output=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr.decode()[-2000:])
            raise SystemExit(done.returncode)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    kind = "xlsx" if args.xlsx else "CSV"
    print(f"orders {args.orders} ({size_mb:.1f} MB {kind}), carriers {','.join(codes)}")
    print(f"pull wall {wall:.1f} s ({args.orders / wall:.0f} orders/s)")
    print(
        f"peak RSS {peak_mb:.0f} MB   bar < {BAR_MB:.0f} MB   ratio to bar {peak_mb / BAR_MB:.2f}"
    )


if __name__ == "__main__":
    main()

"""Reading orders workbooks: rows per second on one core, and peak RSS of the read.

Writes a Shopee-"Order.all"-shaped .xlsx (12 columns, one row per order, date cells, number ids)
and the same rows as CSV, then reads each in a fresh child process (`open_orders` and one full
pass, as `pull` does) and reports rows per CPU-second (the machine is shared: CPU time is what
one core spends; wall time is shown too) and the child's peak RSS side by side.
Bars (issue 12): ≥ 50,000 rows/s reading a 200,000-row .xlsx; a 200,000-row .xlsx pull peaks
below 300 MB RSS (the pull's own figure: `python bench/memory.py --xlsx`).

`--compare REF` also reads the same files with the ingest code of git ref REF (its `tracking/`
package extracted to a temporary folder), old and new alternating, `--repeat` times each (best
CPU time kept): the fair way to compare on a shared machine.

    python bench/ingest.py [--rows 200000] [--keep DIR] [--compare REF] [--repeat N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEADER = [
    "Order ID",
    "Order Status",
    "Order Creation Date",
    "Product Name",
    "Quantity",
    "Tracking Number*",
    "Shipping Option",
    "Country",
    "City",
    "Zip Code",
    "Grand Total",
    "Currency",
]
RATE_BAR = 50_000
RSS_BAR_MB = 300.0

_CHILD = """
import json, resource, sys, time
from pathlib import Path
import tracking
from tracking.ingest import RejectedRow, open_orders
started, cpu = time.perf_counter(), time.process_time()
orders = open_orders(Path(sys.argv[1]))
rejected = sum(1 for item in orders if isinstance(item, RejectedRow))
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": orders.rows_read,
    "orders": orders.orders_read,
    "rejected": rejected, "profile": orders.profile.key if orders.profile else "",
    "code": tracking.__file__,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def rows(count: int) -> list[list[object]]:
    base = datetime(2026, 9, 1, 8, 0)  # noqa: DTZ001 - a workbook's naive wall time
    return [
        [
            8_100_000_000_000_000 + i,
            "Shipped",
            base + timedelta(seconds=13 * i),
            "Phone case",
            1,
            f"LP{i:011d}CN",
            "AliExpress Standard Shipping",
            "RU",
            "Moscow",
            "101000",
            12.5,
            "USD",
        ]
        for i in range(count)
    ]


def write_xlsx(path: Path, data: list[list[object]]) -> None:
    import openpyxl  # a dev dependency: only the benchmark writes workbooks

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("orders")
    sheet.append(HEADER)
    for row in data:
        sheet.append(row)
    book.save(path)


def write_csv(path: Path, data: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in data:
            row = list(row)
            row[2] = f"{row[2]:%Y-%m-%d %H:%M}"
            writer.writerow(row)


ROOT = Path(__file__).resolve().parent.parent


def measure(path: Path, code: Path = ROOT) -> dict[str, float]:
    """One read in a fresh process importing `tracking` from the folder `code`."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=code,  # `python -c` puts the working folder first on sys.path
    )
    result: dict[str, float] = json.loads(done.stdout)
    if not Path(str(result.pop("code"))).is_relative_to(code):
        raise SystemExit(f"the child did not import the code in {code}")
    return result


def extract(ref: str, folder: Path) -> Path:
    """The `tracking/` package as of git `ref`, extracted under `folder`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "tracking"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def best(path: Path, code: Path, repeat: int) -> dict[str, float]:
    runs = [measure(path, code) for _ in range(repeat)]
    return min(runs, key=lambda got: got["cpu"])


def line(label: str, path: Path, got: dict[str, float]) -> str:
    rate = got["rows"] / got["cpu"]
    bar = f"   bar ≥ {RATE_BAR:,}/s" if path.suffix == ".xlsx" else ""
    return (
        f"{label}{path.suffix[1:]:5} {int(got['rows']):,} rows ({int(got['orders']):,} orders,"
        f" {int(got['rejected'])} rejected, profile {got['profile'] or '-'}):"
        f" {got['cpu']:.2f} s CPU ({got['seconds']:.2f} s wall), {rate:,.0f} rows/s"
        f" of CPU{bar}; peak RSS {got['peak_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the files in this folder")
    parser.add_argument("--compare", metavar="REF", help="also read with the code of this git ref")
    parser.add_argument("--repeat", type=int, default=1, help="runs per file (best CPU kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        xlsx = folder / f"orders-{args.rows}.xlsx"
        csv_path = folder / f"orders-{args.rows}.csv"
        if not (xlsx.exists() and csv_path.exists()):
            data = rows(args.rows)
            write_xlsx(xlsx, data)
            write_csv(csv_path, data)
            del data
        old = extract(args.compare, Path(tmp) / "old") if args.compare else None
        for path in (csv_path, xlsx):
            if old is None:
                print(line("", path, best(path, ROOT, args.repeat)))
                continue
            runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
            for _ in range(args.repeat):  # alternating, so both sides see the same load
                runs["old"].append(measure(path, old))
                runs["new"].append(measure(path, ROOT))
            for label, got in runs.items():
                fastest = min(got, key=lambda g: g["cpu"])
                print(
                    line(
                        f"{label} ({args.compare if label == 'old' else 'work tree'}) ",
                        path,
                        fastest,
                    )
                )


if __name__ == "__main__":
    main()

"""Write orders files from the sandbox's simulated world (deterministic).

Usage (after `make install`, from the repository's folder):

    .venv/bin/python examples/make_orders.py                  # rewrites examples/orders*.csv
    .venv/bin/python examples/make_orders.py --rows 1000 --out /tmp/orders.csv [--seed 7] [--clean]

then `track-evidence pull /tmp/orders.csv --sandbox --as-of 2026-11-20`.

Every order matches what the sandbox will answer for its tracking number, except the few
rows that deliberately carry a problem a reviewer would flag (a wrong destination, a reused
number, an undeclared carrier, rows that cannot be read).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from carriers.registry import all_carriers
from tracking.sandbox.world import World

AS_OF = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)
CHINA = timezone(timedelta(hours=8))
HERE = Path(__file__).resolve().parent
MARKETPLACES = ("Joom", "AliExpress", "Shopee", "Ozon")
CARRIER_NAMES = {"cainiao": "Cainiao", "yunexpress": "YunExpress"}


def orders(count: int, *, seed: int) -> list[dict[str, str]]:
    world = World(now=AS_OF)
    carriers = all_carriers()
    rng = random.Random(seed)
    codes = [c for c in ("cainiao", "yunexpress") if c in carriers]
    rows: list[dict[str, str]] = []
    for i in range(count):
        code = codes[0] if rng.random() < 0.55 or len(codes) == 1 else codes[1]
        make = carriers[code].make_number
        assert make is not None
        number = make(seed * 100_000 + i * 37 + 11)
        placed = world.order_date(number)
        if i % 40 == 39:  # a few old orders, outside the 90-day window
            placed -= timedelta(days=70)
        rows.append(
            {
                "order_id": f"{MARKETPLACES[i % 4][:2].upper()}-{seed}{i:05d}",
                "order_date": placed.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                "marketplace": MARKETPLACES[i % 4],
                "carrier": CARRIER_NAMES[code] if i % 23 != 5 else "",
                "tracking_number": number,
                "destination_country": world.destination(number),
                "order_value": f"{rng.uniform(1.5, 80):.2f}",
                "currency": "USD",
            }
        )
    return rows


def with_problems(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Problems a reviewer would flag, and rows the reader must reject (where rows reach)."""
    if len(rows) < 75:
        return rows
    rows[3]["destination_country"] = "DE" if rows[3]["destination_country"] != "DE" else "FR"
    rows[17]["destination_country"] = "BR" if rows[17]["destination_country"] != "BR" else "CL"
    rows[29]["tracking_number"] = rows[28]["tracking_number"]
    rows[29]["destination_country"] = rows[28]["destination_country"]
    rows[41]["carrier"] = "Joom Logistics"
    rows[52]["order_date"] = "2026-13-45 10:00"
    rows[63]["destination_country"] = "Atlantis"
    rows[74]["tracking_number"] = ""
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """`rows` as a UTF-8 orders CSV with a header line."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def examples() -> None:
    """Rewrite the example files of the repository."""
    write_csv(HERE / "orders.csv", with_problems(orders(320, seed=7)))

    # A Chinese ERP export: GB18030, Chinese headers and country names.
    zh_names = {
        "RU": "俄罗斯",
        "US": "美国",
        "IL": "以色列",
        "BR": "巴西",
        "FR": "法国",
        "DE": "德国",
        "ES": "西班牙",
        "PL": "波兰",
        "GB": "英国",
        "UA": "乌克兰",
        "KZ": "哈萨克斯坦",
        "CL": "智利",
    }
    zh_carriers = {"Cainiao": "菜鸟", "YunExpress": "云途", "": ""}
    zh = orders(40, seed=8)
    with (HERE / "orders-gb18030.csv").open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["订单号", "下单时间", "平台", "物流商", "运单号", "收货国家", "订单金额", "币种"]
        )
        for r in zh:
            writer.writerow(
                [
                    r["order_id"],
                    r["order_date"].replace("-", "/"),
                    r["marketplace"],
                    zh_carriers[r["carrier"]],
                    r["tracking_number"],
                    zh_names[r["destination_country"]],
                    r["order_value"],
                    r["currency"],
                ]
            )

    # An Excel export: UTF-8 with BOM, semicolons, Excel serial dates.
    excel = orders(40, seed=9)
    with (HERE / "orders-excel.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Order ID", "Order Date", "Carrier", "Tracking Number", "Country"])
        for r in excel:
            moment = datetime.strptime(r["order_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            serial = (moment - datetime(1899, 12, 30, tzinfo=UTC)).total_seconds() / 86400
            writer.writerow(
                [
                    r["order_id"],
                    f"{serial:.6f}",
                    r["carrier"],
                    r["tracking_number"],
                    r["destination_country"],
                ]
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make_orders.py",
        description="Write orders files from the sandbox's simulated world (pull them with "
        "--sandbox --as-of 2026-11-20). Without options: rewrite examples/orders*.csv.",
    )
    parser.add_argument("--rows", type=int, metavar="N", help="orders to write (with --out)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="the CSV file to write")
    parser.add_argument("--seed", type=int, default=7, help="another seed, other orders")
    parser.add_argument(
        "--clean", action="store_true", help="no deliberate problems (wrong countries, bad rows)"
    )
    args = parser.parse_args(argv)
    if args.rows is None and args.out is None:
        examples()
        return 0
    if args.rows is None or args.out is None:
        parser.error("--rows and --out go together")
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    rows = orders(args.rows, seed=args.seed)
    try:
        write_csv(args.out, rows if args.clean else with_problems(rows))
    except OSError as exc:
        parser.exit(1, f"make_orders.py: error: {args.out}: {exc.strerror or exc}\n")
    print(f"{args.out}: {args.rows} orders (pull with --sandbox --as-of 2026-11-20)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

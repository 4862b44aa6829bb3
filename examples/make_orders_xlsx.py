"""Write examples/orders-erp.xlsx: an ERP-style Excel export, as sellers download it.

Usage: python examples/make_orders_xlsx.py   (needs openpyxl, a dev dependency)

Invented values from the sandbox's simulated world (deterministic), laid out the way Chinese
ERP exports are: a title row above the header, a "说明" (notes) sheet before the orders sheet,
one row per item (an order of two products has two rows), typed cells (order dates are date
cells, order ids are numbers Excel would show as 1.23E+15 if read as text), and carrier and
number in one cell ("AliExpress Standard Shipping:LP00...CN"), as AliExpress's
实际发货物流:运单号 column writes them.
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import openpyxl
from make_orders import orders  # the script's own folder is on sys.path

HERE = Path(__file__).resolve().parent
CARRIER_CELL = {"Cainiao": "AliExpress Standard Shipping", "YunExpress": "YunExpress", "": ""}
PRODUCTS = ("Phone case", "USB-C cable", "Screen protector", "Watch strap", "Earbuds")


def main() -> None:
    rows = orders(60, seed=11)
    rng = random.Random(11)
    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "说明"
    notes.append(["导出说明 / Export notes"])
    notes.append(["时间为北京时间 (UTC+8)"])
    sheet = book.create_sheet("订单")
    sheet.append(["订单导出 2026-11-20 (Order export)"])
    sheet.append([])
    sheet.append(
        [
            "订单号",
            "店铺",
            "下单时间",
            "商品名称",
            "数量",
            "实际发货物流:运单号",
            "收货人国家",
            "订单金额",
            "币种",
        ]
    )
    for i, r in enumerate(rows):
        carrier = CARRIER_CELL[r["carrier"]]
        cell = f"{carrier}:{r['tracking_number']}" if carrier else r["tracking_number"]
        # a naive China wall time: workbooks have no time zones
        placed = datetime.strptime(r["order_date"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
        items = 2 if i % 5 == 0 else 1
        for item in range(items):
            sheet.append(
                [
                    8_100_000_000_000_000 + 1_000_000 * 11 + i,  # a 16-digit order id
                    "Demo Store",
                    placed,
                    PRODUCTS[(i + item) % len(PRODUCTS)],
                    1 + rng.randrange(2),
                    cell,
                    r["destination_country"],
                    float(r["order_value"]),
                    "USD",
                ]
            )
    for column, width in zip("ABCDEFGHI", (20, 12, 18, 18, 6, 48, 10, 10, 6), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=4, min_col=3, max_col=3):
        for date_cell in row:
            date_cell.number_format = "yyyy-mm-dd hh:mm:ss"
    book.save(HERE / "orders-erp.xlsx")


if __name__ == "__main__":
    main()

"""Date cells of a workbook: read as the dates they are, quoted as ISO text when refused.

The reader takes a typed date cell as it is instead of writing it as text and parsing that
back (a speed-up, issue 12's bar): these check it reads and refuses exactly what the text
would, in a fixed offset and in a named zone with summer time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl

from tracking.ingest import OrderRow, RejectedRow, open_orders

HEADER = ["Order ID", "Tracking Number", "Order Date", "Country", "Ship Date", "City"]


def workbook(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def read(path: Path, **options: str) -> tuple[list[OrderRow], list[RejectedRow]]:
    good: list[OrderRow] = []
    bad: list[RejectedRow] = []
    for item in open_orders(path, **options):
        if isinstance(item, RejectedRow):
            bad.append(item)
        elif isinstance(item, OrderRow):
            good.append(item)
    return good, bad


def wall(*parts: int) -> datetime:
    return datetime(*parts)  # noqa: DTZ001 - a workbook's naive wall time


def test_date_cells_are_read_in_the_exports_zone_and_refused_quoting_their_text(
    tmp_path: Path,
) -> None:
    future = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=40)
    path = workbook(
        tmp_path / "orders.xlsx",
        [
            [
                "A-1",
                "LP00123456789CN",
                wall(2026, 3, 1, 9, 30, 15),
                "RU",
                date(2026, 3, 2),
                "Moscow",
            ],
            ["A-2", "LP00123456790CN", wall(1999, 12, 31, 23, 0), "RU", None, "Kazan"],
            ["A-3", "LP00123456791CN", future.replace(microsecond=0), "RU", None, "Omsk"],
            ["A-4", "LP00123456792CN", wall(2026, 3, 1, 10, 0), "RU", wall(1998, 5, 4), "Tver"],
            # a date cell in another column is text like any other cell
            ["A-5", "LP00123456793CN", date(2026, 3, 3), "RU", None, wall(2026, 1, 2, 3, 4, 5)],
        ],
    )
    good, bad = read(path)
    assert [(r.order_id, r.order_date, r.ship_date, r.destination_city) for r in good] == [
        (
            "A-1",
            datetime(2026, 3, 1, 1, 30, 15, tzinfo=UTC),
            datetime(2026, 3, 1, 16, tzinfo=UTC),
            "Moscow",
        ),
        ("A-5", datetime(2026, 3, 2, 16, tzinfo=UTC), None, "2026-01-02 03:04:05"),
    ]
    assert [(r.row_number, r.column, r.value) for r in bad] == [
        (3, "Order Date", "1999-12-31 23:00:00"),
        (4, "Order Date", f"{future:%Y-%m-%d %H:%M:%S}"),
        (5, "Ship Date", "1998-05-04"),
    ]
    assert bad[0].reason == "order_date '1999-12-31 23:00:00' is before 2000; that cannot be right"
    assert bad[1].reason.startswith(f"order_date '{future:%Y-%m-%d %H:%M:%S}' is in the future")
    assert bad[2].reason == "ship_date '1998-05-04' is before 2000; that cannot be right"


def test_date_cells_in_a_zone_with_summer_time(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "orders.xlsx",
        [
            ["B-1", "LP00123456789CN", wall(2026, 1, 15, 12, 0), "GB", None, "Leeds"],
            [
                "B-2",
                "LP00123456790CN",
                wall(2026, 7, 15, 12, 0),
                "GB",
                wall(2026, 7, 16, 8, 0),
                "York",
            ],
        ],
    )
    good, bad = read(path, timezone="Europe/London")
    assert bad == []
    assert [(r.order_date, r.ship_date) for r in good] == [
        (datetime(2026, 1, 15, 12, tzinfo=UTC), None),
        (datetime(2026, 7, 15, 11, tzinfo=UTC), datetime(2026, 7, 16, 7, tzinfo=UTC)),
    ]

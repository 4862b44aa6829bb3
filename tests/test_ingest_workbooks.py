"""Orders as sellers have them: workbooks, profiles, item rows, --map, --timezone, month names."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlwt
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from tracking.cli.app import app
from tracking.core.exceptions import InputError
from tracking.ingest import (
    OrderRow,
    OrdersFile,
    RejectedRow,
    open_orders,
    read_orders_bytes,
    write_errors,
)

HEADER = ["Order ID", "Tracking Number", "Order Date", "Country"]


def xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def split(orders: OrdersFile) -> tuple[list[OrderRow], list[RejectedRow]]:
    good: list[OrderRow] = []
    bad: list[RejectedRow] = []
    for item in orders:
        (bad if isinstance(item, RejectedRow) else good).append(item)
    return good, bad


def test_xlsx_header_below_title_rows_on_the_second_sheet(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "export.xlsx",
        {
            "Notes": [["Exported 2026-11-20"], ["nothing to see"]],
            "Orders": [
                ["Order export"],
                [],
                HEADER,
                [8100000011000123, "LP00123456789CN", datetime(2026, 10, 14, 9, 12), "RU"],  # noqa: DTZ001
                ["A-2", "YT2412345678901234", date(2026, 10, 15), "Brazil"],
            ],
        },
    )
    orders = open_orders(path)
    assert orders.sheet == "Orders"
    assert orders.header_row == 3
    good, bad = split(orders)
    assert bad == []
    assert [(r.row_number, r.order_id, r.tracking_number) for r in good] == [
        (4, "8100000011000123", "LP00123456789CN"),  # a number cell: its exact digits
        (5, "A-2", "YT2412345678901234"),
    ]
    # a date cell is a date, read as China time by default
    assert good[0].order_date == datetime(2026, 10, 14, 1, 12, tzinfo=UTC)
    assert good[1].destination_country == "BR"


def test_an_id_too_large_for_a_float_is_rejected_naming_sheet_and_row(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "export.xlsx",
        {"Orders": [HEADER, [12345678901234567890.0, "LP00123456789CN", "2026-10-14", "RU"]]},
    )
    good, bad = split(open_orders(path))
    assert good == []
    assert [(r.sheet, r.row_number, r.column) for r in bad] == [("Orders", 2, "Order ID")]
    assert "last digits are lost" in bad[0].reason
    errors = tmp_path / "errors.csv"
    write_errors(errors, bad)
    assert errors.read_text(encoding="utf-8-sig").splitlines()[0] == "sheet,row,column,value,reason"


def test_legacy_xls(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Orders")
    for c, text in enumerate(HEADER):
        sheet.write(0, c, text)
    for c, value in enumerate([1234567890123456.0, "LP00123456789CN", "2026-10-14 09:12", "RU"]):
        sheet.write(1, c, value)
    path = tmp_path / "export.xls"
    book.save(str(path))
    good, bad = split(open_orders(path))
    assert bad == []
    assert [(r.order_id, r.tracking_number) for r in good] == [
        ("1234567890123456", "LP00123456789CN")
    ]


def _encrypted_xlsx() -> bytes:
    # An OLE2 container whose directory names the "EncryptedPackage" stream (MS-OFFCRYPTO).
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500) + "EncryptedPackage".encode("utf-16-le")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(_encrypted_xlsx(), "password-protected", id="password"),
        pytest.param(b"PK\x03\x04" + b"xl/" + bytes(300), "cannot be read", id="corrupt"),
    ],
)
def test_bad_workbooks_are_one_line(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(data)
    with pytest.raises(InputError) as raised:
        open_orders(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert words in message
    assert "\n" not in message


def test_empty_workbook_and_workbook_without_orders(tmp_path: Path) -> None:
    empty = xlsx(tmp_path / "empty.xlsx", {"Sheet1": []})
    with pytest.raises(InputError, match=r"empty.xlsx: the workbook is empty"):
        open_orders(empty)
    other = xlsx(tmp_path / "stock.xlsx", {"Stock": [["SKU", "Qty"], ["A", 1]]})
    with pytest.raises(
        InputError,
        match=r"stock.xlsx: this does not look like an orders export: no header row on any"
        r" sheet \('Stock'\)",
    ):
        open_orders(other)


def test_a_huge_workbook_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as handle:
        handle.write(b"PK\x03\x04xl/")
        handle.truncate(1024**3)  # 1 GB, sparse
    with pytest.raises(InputError, match=r"huge.xlsx: the workbook is 1,024 MB"):
        open_orders(path)


def _items(order_rows: list[list[str]]) -> str:
    return "order_id,tracking_number,order_date,country,product\n" + "".join(
        ",".join(r) + "\n" for r in order_rows
    )


ITEM_ROWS = [
    ["A", "LP00000000001CN", "2026-10-01 10:00", "RU", "case"],
    ["A", "LP00000000001CN", "2026-10-01 10:00", "RU", "cable"],
    ["B", "LP00000000002CN", "2026-10-02 10:00", "BR", "strap"],
    ["A", "LP00000000001CN", "2026-10-01 10:00", "RU", "film"],
    ["C", "LP00000000003CN", "2026-10-03 10:00", "US", "case"],
    ["B", "LP00000000002CN", "2026-10-02 10:00", "BR", "case"],
]


def test_item_rows_are_one_order_not_rejections(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(_items(ITEM_ROWS), encoding="utf-8")
    orders = open_orders(path)
    good, bad = split(orders)
    assert bad == []
    assert [r.order_id for r in good] == ["A", "B", "C"]
    assert (orders.rows_read, orders.orders_read, orders.item_rows) == (6, 3, 3)


@given(st.permutations(ITEM_ROWS))
def test_any_order_of_item_rows_gives_the_same_orders(rows: list[list[str]]) -> None:
    data = _items(rows).encode()
    good, bad = split(read_orders_bytes(data, source="orders.csv"))
    assert bad == []
    assert sorted(
        (r.order_id, r.tracking_number, r.order_date, r.destination_country) for r in good
    ) == [
        ("A", "LP00000000001CN", datetime(2026, 10, 1, 2, 0, tzinfo=UTC), "RU"),
        ("B", "LP00000000002CN", datetime(2026, 10, 2, 2, 0, tzinfo=UTC), "BR"),
        ("C", "LP00000000003CN", datetime(2026, 10, 3, 2, 0, tzinfo=UTC), "US"),
    ]


def test_two_destinations_on_one_order_is_one_error_naming_both_rows(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        _items([ITEM_ROWS[0], ["A", "LP00000000001CN", "2026-10-01 10:00", "BR", "cable"]]),
        encoding="utf-8",
    )
    good, bad = split(open_orders(path))
    assert [r.order_id for r in good] == ["A"]
    assert [(r.row_number, r.reason) for r in bad] == [
        (
            3,
            "order A has two destinations: row 2 says RU, row 3 says BR; one order goes to one"
            " country",
        )
    ]


def test_carrier_and_number_in_one_cell(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text(
        "订单号,下单时间,实际发货物流:运单号,收货人国家\n"
        "8100,2026-10-14 09:12,AliExpress Standard Shipping:LP00123456789CN,俄罗斯\n"
        "8101,2026-10-14 09:13,YunExpress YT2412345678901234,巴西\n",
        encoding="utf-8",
    )
    good, bad = split(open_orders(path))
    assert bad == []
    assert [(r.tracking_number, r.carrier, r.carrier_declared) for r in good] == [
        ("LP00123456789CN", "cainiao", "AliExpress Standard Shipping"),
        ("YT2412345678901234", "yunexpress", "YunExpress"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14 Oct 2026 09:12", datetime(2026, 10, 14, 6, 12, tzinfo=UTC)),
        ("14 окт. 2026", datetime(2026, 10, 13, 21, 0, tzinfo=UTC)),
        ("14 de octubre de 2026", datetime(2026, 10, 13, 21, 0, tzinfo=UTC)),
        ("14 out 2026 10:00", datetime(2026, 10, 14, 7, 0, tzinfo=UTC)),
    ],
)
def test_month_names_and_the_timezone_option(tmp_path: Path, text: str, expected: datetime) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        f'Номер заказа,Трек-номер,Дата заказа,Страна\nA1,LP00123456789CN,"{text}",Россия\n',
        encoding="utf-8",
    )
    good, bad = split(open_orders(path, timezone="Europe/Moscow"))
    assert bad == []
    assert good[0].order_date == expected


def test_summer_time_in_a_named_zone(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,tracking_number,order_date,country\n"
        "A,LP00123456789CN,2026-07-01 12:00,GB\n"
        "B,LP00123456780CN,2026-01-01 12:00,GB\n",
        encoding="utf-8",
    )
    good, _ = split(open_orders(path, timezone="Europe/London"))
    assert [r.order_date.hour for r in good] == [11, 12]
    with pytest.raises(InputError, match="'Mars/Olympus' is not a time zone"):
        open_orders(path, timezone="Mars/Olympus")


def test_first_mile_column_is_never_the_tracking_number(tmp_path: Path) -> None:
    path = tmp_path / "lazada.csv"
    path.write_text(
        "Order Number,Tracking Code (first mile),Created at,Country,Tracking Code\n"
        "1,FM0000000001,2026-10-14 09:12,Philippines,LZ0000000001PH\n",
        encoding="utf-8",
    )
    good, _ = split(open_orders(path))
    assert good[0].tracking_number == "LZ0000000001PH"


def test_missing_column_names_closest_headers_and_the_map_to_type(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "Order ID,Tracking Number,Creation Time,Country\nA,LP00123456789CN,2026-10-14 09:12,RU\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as raised:
        open_orders(path)
    assert "closest found: 'Creation Time'" in str(raised.value)
    assert '--map order_date="Creation Time"' in str(raised.value)
    good, _ = split(open_orders(path, columns={"order_date": "Creation Time"}))
    assert good[0].order_date == datetime(2026, 10, 14, 1, 12, tzinfo=UTC)


def test_pull_with_map_and_timezone_on_a_workbook(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "orders.xlsx",
        {
            "Orders": [
                ["Order ID", "Tracking Number", "Created Time", "Country", "Item"],
                ["A", "LP00123456789CN", "2026-10-14 09:12", "RU", "case"],
                ["A", "LP00123456789CN", "2026-10-14 09:12", "RU", "cable"],
            ]
        },
    )
    result = CliRunner().invoke(
        app,
        [
            "--db",
            f"sqlite:///{tmp_path}/db.sqlite",
            "pull",
            str(path),
            "--map",
            'order_date="Created Time"',
            "--timezone",
            "Europe/London",
            "--as-of",
            "2026-11-20",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert (report["rows_read"], report["orders_read"], report["item_rows"]) == (2, 1, 1)
    assert report["rows_rejected"] == 0
    assert report["source"]["sheet"] == "Orders"
    assert report["source"]["timezone"].startswith("Europe/London")


def test_zip_that_is_not_a_workbook_is_still_named(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("orders.csv", "a,b\n")
    path = tmp_path / "orders.zip"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(InputError, match="ZIP archive"):
        open_orders(path)

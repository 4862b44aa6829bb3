"""The orders-CSV reader: encodings, separators, headers, values, rejections, streaming."""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tracking.core.exceptions import InputError
from tracking.ingest import (
    CARRIER_ALIASES,
    OrderRow,
    OrdersFile,
    ParcelRow,
    RejectedRow,
    carrier_code,
    open_orders,
    read_orders_bytes,
    write_errors,
)


def at_china(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A China-time wall clock as the UTC instant the reader must return."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def rows(orders: OrdersFile) -> tuple[list[OrderRow], list[RejectedRow]]:
    good: list[OrderRow] = []
    bad: list[RejectedRow] = []
    for item in orders:
        if isinstance(item, OrderRow):
            good.append(item)
        else:
            bad.append(item)
    return good, bad


# ---------------------------------------------------------------------------------------------
# Formats that must be read
# ---------------------------------------------------------------------------------------------

UTF8_COMMA = (
    "order_id,tracking_number,carrier,order_date,destination_country,zip,city,amount,currency\n"
    "A-1,YT2412345678901,YunExpress,2024-03-01 12:00,RU,101000,Moscow,12.50,USD\n"
    'A-2,"LP 0012-3456 789",Joom Logistics,2024-03-02T10:00:00Z,Israel,,"Tel Aviv, IL",7,usd\n'
)

BOM_EXCEL_SERIAL = (
    "Order No,Tracking No,Order Time,Country,Shipping Method\n"
    "1001,UA123456789CN,45352.5,DE,Cainiao Super Economy\n"
    "1002,ua 223456789 cn,45353,Deutschland,4PX\n"
)

GB18030_CHINESE = (
    "订单号,运单号,物流渠道,下单时间,收货国家,城市,订单金额,店铺\n"
    "SO-1,YT2412345678901,云途全球专线挂号,2024/3/1 12:00,俄罗斯,莫斯科,￥88,深圳一号店\n"
    "SO-2,LP00123456789,菜鸟无忧标准,2024年3月2日 08:30,美国,纽约,,\n"
)

UTF16_TAB = (
    "order id\ttracking\tcarrier\tcreated\tship to country\tplatform\n"
    "U-1\tYT2412345678901\t燕文\t2024/03/01 12:00:00\tFrance\tJoom\n"
    "U-2\t4PX3000123456789\t递四方\t2024-03-02\tFRA\tShopee\n"
)

SEMICOLON_DOTTED = (
    "Order number;Tracking;Order date;Country;Total\n"
    "R-1;RU123456789CN;01.03.2024;Россия;1 234,50 ₽\n"
    "R-2;RU223456789CN;15.03.2024 14:30;KZ;12,5\n"
)


def _check_utf8_comma(orders: OrdersFile, good: list[OrderRow]) -> None:
    assert orders.delimiter == ","
    first, second = good
    assert first.order_id == "A-1"
    assert first.order_date == at_china(2024, 3, 1, 12)
    assert first.carrier == "yunexpress"
    assert first.carrier_declared == "YunExpress"
    assert (first.destination_postal_code, first.destination_city) == ("101000", "Moscow")
    assert (first.order_value, first.currency) == (Decimal("12.50"), "USD")
    assert second.tracking_number == "LP00123456789"
    assert second.order_date == datetime(2024, 3, 2, 10, tzinfo=UTC)
    assert (second.carrier, second.carrier_declared) == (None, "Joom Logistics")
    assert second.destination_country == "IL"
    assert second.destination_city == "Tel Aviv, IL"
    assert second.currency == "USD"


def _check_bom_serial(orders: OrdersFile, good: list[OrderRow]) -> None:
    assert orders.encoding == "utf-8-sig"
    assert orders.columns["order_id"] == "Order No"  # the BOM is not part of the header
    first, second = good
    assert first.order_date == at_china(2024, 3, 1, 12)
    assert second.order_date == at_china(2024, 3, 2)
    assert first.carrier == "cainiao"
    assert second.carrier == "4px"
    assert second.tracking_number == "UA223456789CN"
    assert second.destination_country == "DE"


def _check_gb18030(orders: OrdersFile, good: list[OrderRow]) -> None:
    assert orders.encoding == "gb18030"
    assert orders.columns["destination_country"] == "收货国家"
    first, second = good
    assert first.destination_country == "RU"
    assert first.destination_city == "莫斯科"
    assert first.carrier == "yunexpress"
    assert first.carrier_declared == "云途全球专线挂号"
    assert (first.order_value, first.currency) == (Decimal("88"), "CNY")
    assert first.tenant == "深圳一号店"  # the store column overrides the tenant argument
    assert second.tenant == "acme"  # ...unless it is empty
    assert second.order_date == at_china(2024, 3, 2, 8, 30)
    assert second.carrier == "cainiao"
    assert second.destination_country == "US"


def _check_utf16(orders: OrdersFile, good: list[OrderRow]) -> None:
    assert orders.encoding == "utf-16"
    assert orders.delimiter == "\t"
    first, second = good
    assert (first.carrier, first.destination_country, first.marketplace) == ("yanwen", "FR", "Joom")
    assert first.order_date == at_china(2024, 3, 1, 12)
    assert (second.carrier, second.destination_country) == ("4px", "FR")


def _check_semicolon(orders: OrdersFile, good: list[OrderRow]) -> None:
    assert orders.delimiter == ";"
    first, second = good
    assert first.order_date == at_china(2024, 3, 1)
    assert first.destination_country == "RU"
    assert (first.order_value, first.currency) == (Decimal("1234.50"), "RUB")
    assert second.order_date == at_china(2024, 3, 15, 14, 30)
    assert (second.order_value, second.currency) == (Decimal("12.5"), "")


@pytest.mark.parametrize(
    ("text", "encoding", "check"),
    [
        pytest.param(UTF8_COMMA, "utf-8", _check_utf8_comma, id="utf8-comma"),
        pytest.param(BOM_EXCEL_SERIAL, "utf-8-sig", _check_bom_serial, id="utf8-bom-excel-serial"),
        pytest.param(GB18030_CHINESE, "gb18030", _check_gb18030, id="gb18030-chinese-headers"),
        pytest.param(GB18030_CHINESE, "gbk", _check_gb18030, id="gbk-chinese-headers"),
        pytest.param(UTF16_TAB, "utf-16", _check_utf16, id="utf16-excel-unicode-text"),
        pytest.param(UTF16_TAB.replace("\n", "\r\n"), "utf-16", _check_utf16, id="utf16-crlf"),
        pytest.param(SEMICOLON_DOTTED, "utf-8", _check_semicolon, id="semicolon-dd.mm.yyyy"),
    ],
)
def test_reads_common_exports(
    tmp_path: Path, text: str, encoding: str, check: Callable[[OrdersFile, list[OrderRow]], None]
) -> None:
    orders = open_orders(write(tmp_path, text, encoding), tenant="acme")
    good, bad = rows(orders)
    assert bad == []
    assert [r.row_number for r in good] == [2, 3]
    for row in good:
        assert row.order_date.tzinfo is UTC
        assert row.tracking_number.isalnum()
        assert row.tracking_number.isupper()
    check(orders, good)


def test_utf16_be_and_crlf_with_excel_sep_line(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeff" + UTF16_TAB, "utf-16-be")
    assert [r.order_id for r in rows(open_orders(path))[0]] == ["U-1", "U-2"]

    text = "sep=;\r\n" + SEMICOLON_DOTTED.replace("\n", "\r\n")
    good, bad = rows(open_orders(write(tmp_path, text)))
    assert bad == []
    assert [r.row_number for r in good] == [2, 3]  # Excel hides the sep= line


@pytest.mark.parametrize(
    ("text", "encoding", "city"),
    [
        pytest.param(
            "訂單號,運單號,下單時間,目的國,城市\nH1,YT2412345678901,2024/3/1 12:00,香港,九龍旺角\n",
            "big5",
            "九龍旺角",
            id="big5-traditional-headers",
        ),
        pytest.param(
            "order_id;tracking_number;order_date;country;city\n"
            "R1;RU123456789CN;01.03.2024;Россия;Москва\n",
            "cp1251",
            "Москва",
            id="cp1251-russian-excel",
        ),
        pytest.param(
            "order_id,tracking_number,order_date,country,city\r"
            "M1,RU123456789CN,2024-03-01,DE,Köln\r",
            "utf-8",
            "Köln",
            id="old-mac-cr-newlines",
        ),
    ],
)
def test_regional_encodings_and_newlines(
    tmp_path: Path, text: str, encoding: str, city: str
) -> None:
    good, bad = rows(open_orders(write(tmp_path, text, encoding)))
    assert bad == []
    assert [(r.row_number, r.destination_city) for r in good] == [(2, city)]


def test_row_numbers_count_records_not_lines(tmp_path: Path) -> None:
    text = (
        "order_id,tracking_number,order_date,country,city\n"
        'A,AB12345,2024-03-01,RU,"two\nlines"\n'  # one spreadsheet row
        "B,AB12346,2024-03-01,RU,x\n"
    )
    good, _ = rows(open_orders(write(tmp_path, text)))
    assert [(r.row_number, r.destination_city) for r in good] == [(2, "two\nlines"), (3, "x")]


def test_bytes_upload_is_read_like_a_file() -> None:
    orders = read_orders_bytes(GB18030_CHINESE.encode("gbk"), source="upload.csv", tenant="t1")
    good, bad = rows(orders)
    assert bad == []
    assert [r.order_id for r in good] == ["SO-1", "SO-2"]
    assert orders.path == Path("upload.csv")
    assert list(orders) == good  # iterating again reads again, from the start


def test_gbk_text_after_an_ascii_start_is_still_read(tmp_path: Path) -> None:
    """The sample (64 KiB) is ASCII; GBK text only appears further down the file."""
    lines = ["order_id,tracking_number,order_date,country,carrier"]
    lines += [f"A{i},YT{i:013d},2024-03-01,RU,YunExpress" for i in range(2500)]
    lines.append("LAST,YT9999999999999,2024-03-01,俄罗斯,云途")
    path = write(tmp_path, "\n".join(lines) + "\n", "gbk")
    orders = open_orders(path)
    good, bad = rows(orders)
    assert bad == []
    assert orders.encoding == "gb18030"
    assert (good[-1].destination_country, good[-1].carrier_declared) == ("RU", "云途")


def test_a_damaged_byte_far_down_rejects_only_its_row(tmp_path: Path) -> None:
    head = "order_id,tracking_number,order_date,country,city\n"
    lines = [f"A{i},YT{i:013d},2024-03-01,RU,Köln" for i in range(2500)]  # UTF-8, not ASCII
    data = (head + "\n".join(lines) + "\n").encode()
    data += b"BROKEN\xff,YT9999999999999,2024-03-01,RU,x\nLAST,YT8888888888888,2024-03-01,RU,y\n"
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    orders = open_orders(path)
    good, bad = rows(orders)
    assert orders.encoding == "utf-8"
    assert len(good) == 2501
    assert good[0].destination_city == "Köln"
    assert good[-1].order_id == "LAST"
    (broken,) = bad
    assert broken.row_number == 2502
    assert broken.column == "order_id"
    assert "not valid text" in broken.reason


def test_header_aliases_and_title_row(tmp_path: Path) -> None:
    text = (
        "订单导出 2024-03-05\n"  # a title line above the header
        "  ORDER_NUMBER ,Tracking No.,Order Time,Ship To Country,Logistics,Zip,Notes\n"
        "X1,AB12345,2024-03-01,gb,Yun Express,SW1A 1AA,fragile\n"
    )
    orders = open_orders(write(tmp_path, text))
    assert orders.header_row == 2
    assert orders.columns == {
        "order_id": "ORDER_NUMBER",
        "tracking_number": "Tracking No.",
        "order_date": "Order Time",
        "destination_country": "Ship To Country",
        "carrier": "Logistics",
        "destination_postal_code": "Zip",
    }
    (row,) = rows(orders)[0]
    assert row.row_number == 3
    assert (row.destination_country, row.carrier, row.destination_postal_code) == (
        "GB",
        "yunexpress",
        "SW1A 1AA",
    )


def test_bilingual_headers_and_currency_in_header(tmp_path: Path) -> None:
    text = (
        "订单号/Order ID,Tracking Number(运单号),下单时间,目的国,订单金额(USD)\n"
        "B1,AB12345,2024-03-01,US,5\n"
    )
    (row,) = rows(open_orders(write(tmp_path, text)))[0]
    assert (row.order_id, row.order_value, row.currency) == ("B1", Decimal(5), "USD")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2024-03-01", at_china(2024, 3, 1), id="iso-date"),
        pytest.param(
            "2024-03-01T12:00:00+03:00", datetime(2024, 3, 1, 9, tzinfo=UTC), id="iso-off"
        ),
        pytest.param("2024-03-01T12:00:00Z", datetime(2024, 3, 1, 12, tzinfo=UTC), id="iso-z"),
        pytest.param("2024/3/1 12:00", at_china(2024, 3, 1, 12), id="slash-ymd"),
        pytest.param("2024/03/01 12:00:00", at_china(2024, 3, 1, 12), id="slash-ymd-seconds"),
        pytest.param("01.03.2024", at_china(2024, 3, 1), id="dotted-dmy"),
        pytest.param("2024年3月1日 12:00", at_china(2024, 3, 1, 12), id="chinese"),
        pytest.param("2024年3月1日", at_china(2024, 3, 1), id="chinese-date"),
        pytest.param("45352", at_china(2024, 3, 1), id="excel-serial"),
        pytest.param("45352.5", at_china(2024, 3, 1, 12), id="excel-serial-noon"),
        pytest.param("13/03/2024", at_china(2024, 3, 13), id="slash-day-over-12"),
        pytest.param("03/13/2024 1:05 PM", at_china(2024, 3, 13, 13, 5), id="slash-month-first"),
        pytest.param("05/05/2024", at_china(2024, 5, 5), id="slash-same-day-month"),
        pytest.param("２０２４-０３-０１", at_china(2024, 3, 1), id="fullwidth-digits"),
        pytest.param("01.03.24", at_china(2024, 3, 1), id="dotted-two-digit-year"),
        pytest.param("2024-3-1 9:05", at_china(2024, 3, 1, 9, 5), id="dash-unpadded"),
        pytest.param("1709265600", datetime(2024, 3, 1, 4, tzinfo=UTC), id="unix-seconds"),
    ],
)
def test_dates(tmp_path: Path, text: str, expected: datetime) -> None:
    path = write(tmp_path, f"order_id,tracking_number,order_date,country\nA,AB12345,{text},RU\n")
    (row,) = rows(open_orders(path))[0]
    assert row.order_date == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("2024-02-30", "is not a date (use 2024-03-01", id="no-such-day"),
        pytest.param("24-03-01", "is not a date", id="two-digit-year-first-or-last"),
        pytest.param("12345", "not an Excel date serial between 1990 and 2100", id="small-number"),
        pytest.param("1999-12-31", "before 2000", id="too-old"),
        pytest.param("2024/3/1 24:00", "is not a date", id="hour-24"),
        pytest.param("yesterday", "is not a date", id="words"),
    ],
)
def test_bad_dates(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, f"order_id,tracking_number,order_date,country\nA,AB12345,{text},RU\n")
    ((), (bad,)) = rows(open_orders(path))
    assert (bad.column, bad.value) == ("order_date", text)
    assert bad.reason.startswith(f"order_date '{text}' ")
    assert words in bad.reason


def test_a_column_mixing_formats_is_read(tmp_path: Path) -> None:
    """The format cache of a column never hides another valid format."""
    values = ["45352", "20240302", "2024/3/3 10:00", "45355.25", "2024-03-06", "2024年3月7日"]
    lines = ["order_id,tracking_number,order_date,country"]
    lines += [f"A{i},AB1234{i},{v},RU" for i, v in enumerate(values)]
    good, bad = rows(open_orders(write(tmp_path, "\n".join(lines))))
    assert bad == []
    assert [r.order_date for r in good] == [
        at_china(2024, 3, 1),
        at_china(2024, 3, 2),
        at_china(2024, 3, 3, 10),
        at_china(2024, 3, 4, 6),
        at_china(2024, 3, 6),
        at_china(2024, 3, 7),
    ]


def test_naive_dates_use_the_assumed_offset(tmp_path: Path) -> None:
    path = write(
        tmp_path, "order_id,tracking_number,order_date,country\nA,AB12345,2024/3/1 12:00,RU\n"
    )
    (row,) = rows(open_orders(path, assume_utc_offset_minutes=180))[0]
    assert row.order_date == datetime(2024, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="offset"):
        open_orders(path, assume_utc_offset_minutes=24 * 60)


def test_ambiguous_day_month_is_rejected_never_guessed(tmp_path: Path) -> None:
    text = "order_id,tracking_number,order_date,country\nA,AB12345,03/01/2024,RU\n"
    orders = open_orders(write(tmp_path, text))
    assert orders.day_first is None
    ((), (bad,)) = rows(orders)
    assert bad.column == "order_date"
    assert "ambiguous" in bad.reason
    assert "3 January 2024" in bad.reason
    assert "1 March 2024" in bad.reason


def test_day_month_order_is_learned_from_unambiguous_dates(tmp_path: Path) -> None:
    """13/01/2024 in the sample shows the file is day-first; a later 01/13/2024 contradicts."""
    lines = ["order_id,tracking_number,order_date,country", "A,AB12345,03/01/2024,RU"]
    lines += [f"B{i},AB{i:08d},13/01/2024,RU" for i in range(3000)]  # > 64 KiB
    lines.append("C,AB12347,01/13/2024,RU")
    orders = open_orders(write(tmp_path, "\n".join(lines)))
    assert orders.day_first is True
    good, bad = rows(orders)
    assert (good[0].order_id, good[0].order_date) == ("A", at_china(2024, 1, 3))
    assert good[1].order_date == at_china(2024, 1, 13)
    assert [r.row_number for r in bad] == [3003]
    assert "does not fit this file's day/month/year order" in bad[0].reason


def test_mixed_day_month_orders_teach_nothing(tmp_path: Path) -> None:
    text = (
        "order_id,tracking_number,order_date,country\n"
        "A,AB12345,03/01/2024,RU\n"
        "B,AB12346,13/01/2024,RU\n"
        "C,AB12347,01/13/2024,RU\n"
    )
    orders = open_orders(write(tmp_path, text))
    assert orders.day_first is None
    good, bad = rows(orders)
    assert [r.order_id for r in good] == ["B", "C"]
    assert [r.row_number for r in bad] == [2]


@pytest.mark.parametrize(
    ("value", "amount", "currency"),
    [
        pytest.param("12.50", Decimal("12.50"), "", id="plain"),
        pytest.param("$12.50", Decimal("12.50"), "USD", id="dollar"),
        pytest.param("12,50 €", Decimal("12.50"), "EUR", id="euro-decimal-comma"),
        pytest.param("¥88", Decimal("88"), "CNY", id="yuan"),
        pytest.param("￥88.8", Decimal("88.8"), "CNY", id="fullwidth-yuan"),
        pytest.param("1,234.50", Decimal("1234.50"), "", id="thousands-comma"),
        pytest.param("1.234,50", Decimal("1234.50"), "", id="thousands-dot"),
        pytest.param("USD 7", Decimal("7"), "USD", id="code-prefix"),
        pytest.param("7 RUB", Decimal("7"), "RUB", id="code-suffix"),
    ],
)
def test_order_values(tmp_path: Path, value: str, amount: Decimal, currency: str) -> None:
    text = (
        f'order_id,tracking_number,order_date,country,amount\nA,AB12345,2024-03-01,RU,"{value}"\n'
    )
    (row,) = rows(open_orders(write(tmp_path, text)))[0]
    assert (row.order_value, row.currency) == (amount, currency)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        pytest.param("twelve", "not an amount", id="garbage"),
        pytest.param("-5", "negative", id="negative"),
        pytest.param("1,234", "ambiguous", id="ambiguous-comma"),
        pytest.param("€12", "EUR but the currency column says USD", id="currency-conflict"),
    ],
)
def test_bad_order_values_reject_the_row(tmp_path: Path, value: str, words: str) -> None:
    text = (
        "order_id,tracking_number,order_date,country,amount,currency\n"
        f'A,AB12345,2024-03-01,RU,"{value}",USD\n'
    )
    ((), (bad,)) = rows(open_orders(write(tmp_path, text)))
    assert (bad.column, bad.value) == ("amount", value)
    assert words in bad.reason


def test_carrier_aliases() -> None:
    for name, code in CARRIER_ALIASES.items():
        assert carrier_code(name) == code
        assert carrier_code(f"  {name.upper()} ") == code
    assert carrier_code("AliExpress Premium Shipping") == "cainiao"
    assert carrier_code("菜鸟无忧标准") == "cainiao"
    assert carrier_code("燕文航空挂号小包") == "yanwen"
    assert carrier_code("Joom Logistics") is None
    assert carrier_code("China Post") is None
    assert carrier_code("") is None


# ---------------------------------------------------------------------------------------------
# Rows that cannot be used
# ---------------------------------------------------------------------------------------------


def test_broken_rows_are_reported_and_good_rows_flow(tmp_path: Path) -> None:
    text = (
        "Order ID,Tracking No,Order Date,Country,City\n"  # row 1
        "G1,YT0000000001,2024-03-01,RU,Moscow\n"  # 2 good
        "B1,YT0000000002,2024-13-45,RU,Moscow\n"  # 3 bad date
        "B2,YT0000000003,2024-03-01,Narnia,Cair\n"  # 4 unknown country
        "B3,,2024-03-01,RU,Moscow\n"  # 5 missing tracking
        "B4,YT0000000004,2024-03-01,RU,Moscow,extra\n"  # 6 too many fields
        "\n"  # 7 blank: skipped silently
        "G1,YT0000000005,2024-03-02,RU,Moscow\n"  # 8 same order, another order date
        "B5,YT0000000006,2024-03-01\n"  # 9 too few fields
        "B6,YT-0000000007,1999-12-31,RU,\n"  # 10 before 2000
        f"B7,YT0000000008,{(datetime.now(UTC) + timedelta(days=3)):%Y-%m-%d},RU,\n"  # 11 future
        "B8,YT00000008é,2024-03-01,RU,\n"  # 12 not letters/digits
        "B9,1234,2024-03-01,RU,\n"  # 13 too short
        ",YT0000000009,2024-03-01,RU,\n"  # 14 no order id
        ",,,,\n"  # 15 blank (Excel-cleared row): skipped
        "G2,yt 0000 0000 10,2024/3/5 9:30,俄罗斯,Kazan\n"  # 16 good
    )
    good, bad = rows(open_orders(write(tmp_path, text)))
    assert [(r.row_number, r.order_id, r.tracking_number) for r in good] == [
        (2, "G1", "YT0000000001"),
        (16, "G2", "YT0000000010"),
    ]
    got = {r.row_number: (r.column, r.value, r.reason) for r in bad}
    assert sorted(got) == [3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14]
    assert got[3] == (
        "Order Date",
        "2024-13-45",
        "order_date '2024-13-45' is not a date (use 2024-03-01, 2024/3/1 12:00, 14 Oct 2024"
        " or an Excel serial)",
    )
    assert got[4][:2] == ("Country", "Narnia")
    assert "'Narnia' is not a country" in got[4][2]
    assert got[5][:2] == ("Tracking No", "")
    assert "tracking_number is empty" in got[5][2]
    assert got[6][0] == ""
    assert "6 fields but the header has 5: too many fields" in got[6][2]
    assert got[8] == (
        "Order Date",
        "2024-03-01 16:00 UTC",
        "order G1 has two order dates: row 2 says 2024-02-29 16:00 UTC, row 8 says"
        " 2024-03-01 16:00 UTC; one order has one order date",
    )
    assert got[9][0] == ""
    assert "too few fields" in got[9][2]
    assert "before 2000" in got[10][2]
    assert "in the future" in got[11][2]
    assert "only letters and digits" in got[12][2]
    assert "expected 5 to 50" in got[13][2]
    assert got[14][0] == "Order ID"
    assert "order_id is empty" in got[14][2]


def test_duplicates_are_per_tenant(tmp_path: Path) -> None:
    text = (
        "store,order_id,tracking_number,order_date,country\n"
        "s1,A,AB12345,2024-03-01,RU\n"
        "s2,A,AB12346,2024-03-01,RU\n"
        "s1,A,AB12347,2024-03-01,RU\n"
    )
    items = list(open_orders(write(tmp_path, text)))
    assert [(type(r).__name__, r.row_number) for r in items] == [
        ("OrderRow", 2),
        ("OrderRow", 3),
        ("ParcelRow", 4),  # s1's order A has a second parcel; s2's A is another order
    ]
    parcel = items[2]
    assert isinstance(parcel, ParcelRow)
    assert (parcel.order.tenant, parcel.order.order_id, parcel.order.tracking_number) == (
        "s1",
        "A",
        "AB12347",
    )


def test_the_first_usable_row_of_an_id_is_kept(tmp_path: Path) -> None:
    text = (
        "order_id,tracking_number,order_date,country\n"
        "A,AB12345,not a date,RU\n"
        "A,AB12345,2024-03-01,RU\n"
    )
    good, bad = rows(open_orders(write(tmp_path, text)))
    assert [r.row_number for r in good] == [3]
    assert [r.row_number for r in bad] == [2]


def test_hostile_fields(tmp_path: Path) -> None:
    huge = "x" * 20_000
    giant = "y" * 200_000  # over csv's own field limit: that row is refused, the rest flows
    text = (
        "order_id,tracking_number,order_date,country,notes\n"
        '"=HYPERLINK(""http://evil.example"",""click"")",AB12345,2024-03-01,RU,ok\n'
        f"{huge},AB12346,2024-03-01,RU,\n"
        "N\x00UL,AB12347,2024-03-01,RU,\n"
        f'G,AB12348,2024-03-01,RU,"{giant}"\n'
        "OK,AB12349,2024-03-01,RU,\n"
        f"ignored,AB12350,2024-03-01,RU,{huge}\n"  # huge text in an unused column is fine
        "+1,4.2E+21,2024-03-01,RU,\n"  # Excel's scientific notation
    )
    good, bad = rows(open_orders(write(tmp_path, text)))
    assert [r.order_id for r in good] == [
        '=HYPERLINK("http://evil.example","click")',
        "OK",
        "ignored",
    ]
    reasons = {r.row_number: r for r in bad}
    assert "20,000 characters long" in reasons[3].reason
    assert len(reasons[3].value) == 200
    assert "NUL" in reasons[4].reason
    assert "cannot be read as CSV" in reasons[5].reason
    assert "scientific notation" in reasons[8].reason


def test_an_order_id_keeps_its_punctuation(tmp_path: Path) -> None:
    text = 'order_id,tracking_number,order_date,country\n"  2024/03/01-77 ",AB12345,2024-03-01,RU\n'
    (row,) = rows(open_orders(write(tmp_path, text)))[0]
    assert row.order_id == "2024/03/01-77"


# ---------------------------------------------------------------------------------------------
# Files that cannot be used at all
# ---------------------------------------------------------------------------------------------


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG image", id="png"),
        pytest.param(_xlsx_bytes(), "workbook cannot be read", id="xlsx"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document", id="pdf"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "damaged", id="xls"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"\xef\xbb\xbf\r\n\r\n", "empty", id="bom-and-blank-lines"),
        pytest.param(bytes(range(256)) * 8, "not a text file", id="binary"),
        pytest.param(b"<html><table><tr><td>1</td></tr></table></html>", "HTML", id="html"),
    ],
)
def test_unusable_files_raise_one_clear_error(tmp_path: Path, data: bytes, words: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as raised:
        open_orders(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    assert words in message
    with pytest.raises(InputError, match=f"^upload.bin: .*{words[:5]}"):
        read_orders_bytes(data, source="upload.bin")


def test_a_damaged_xlsx_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(_xlsx_bytes())
    with pytest.raises(InputError, match=r"orders.xlsx: the workbook cannot be read .*damaged"):
        open_orders(path)


def test_missing_required_column_names_it_and_the_headers_found(tmp_path: Path) -> None:
    path = write(tmp_path, "Order ID,Country,Order Date,Remark\n")
    with pytest.raises(InputError) as raised:
        open_orders(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    assert "missing tracking_number" in message
    assert "运单号" in message  # the hint shows a Chinese alias too
    assert "Headers found: 'Order ID', 'Country', 'Order Date', 'Remark'" in message
    assert "order_id (" not in message  # only what is missing is listed


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        open_orders(tmp_path / "nope.csv")


def test_header_only_file_yields_nothing(tmp_path: Path) -> None:
    assert list(open_orders(write(tmp_path, "订单号,运单号,下单时间,目的国\n"))) == []


# ---------------------------------------------------------------------------------------------
# The errors file
# ---------------------------------------------------------------------------------------------


def test_write_errors_is_excel_friendly(tmp_path: Path) -> None:
    rejected = [
        RejectedRow(2, "订单号", '=HYPERLINK("http://evil.example")', "duplicate order_id"),
        RejectedRow(3, "金额", "-5", "order_value '-5' is negative"),
        RejectedRow(4, "", "@SUM(A1)", "+row problem"),
        RejectedRow(5, "运单号", "a\x00b", "ok 中文"),
    ]
    out = tmp_path / "errors.csv"
    assert write_errors(out, iter(rejected)) == 4
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as stream:
        table = list(csv.reader(stream))
    assert table[0] == ["row", "column", "value", "reason"]
    assert table[1] == ["2", "订单号", '\'=HYPERLINK("http://evil.example")', "duplicate order_id"]
    assert table[2][2] == "'-5"
    assert table[3][2:] == ["'@SUM(A1)", "'+row problem"]
    assert table[4][1:] == ["运单号", "a\u2400b", "ok 中文"]


def test_errors_of_a_real_file_round_trip(tmp_path: Path) -> None:
    text = "order_id,tracking_number,order_date,country\n=1+1,AB,2024-03-01,RU\n"
    orders = open_orders(write(tmp_path, text))
    out = tmp_path / "errors.csv"
    count = write_errors(out, (r for r in orders if isinstance(r, RejectedRow)))
    assert count == 1
    with out.open(encoding="utf-8-sig", newline="") as stream:
        (_, line) = list(csv.reader(stream))
    assert line[:3] == ["2", "tracking_number", "AB"]


# ---------------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------------


def test_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    count = 50_000
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write("订单号,运单号,下单时间,目的国,物流渠道,订单金额,城市\n")
        for i in range(count):
            stream.write(
                f"SO{i:08d},YT{i:013d},2024/{1 + i % 12}/{1 + i % 28} {i % 24}:{i % 60:02d},"
                f"{('RU', '俄罗斯', 'Germany')[i % 3]},云途,{i % 97}.50,Moscow\n"
            )
    assert path.stat().st_size > 3_000_000
    tracemalloc.start()
    try:
        seen = 0
        for item in open_orders(path):
            assert isinstance(item, OrderRow)
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_damaged_utf8_is_never_read_as_a_legacy_code_page() -> None:
    rows = b"".join(
        f"A{i},2026-11-01,YT24111111111111{i:02d},DE,Zürich 苏州\n".encode() for i in range(20)
    )
    data = b"order_id,order_date,tracking_number,destination_country,city\n" + rows
    damaged = data.replace("Zürich".encode(), b"Z\xfcrich", 1)  # one Latin-1 byte in row 2
    read = list(read_orders_bytes(damaged, source="orders.csv"))
    assert isinstance(read[0], RejectedRow)
    assert (read[0].row_number, read[0].column) == (2, "city")
    assert "save the file as CSV UTF-8" in read[0].reason
    kept = [r for r in read if isinstance(r, OrderRow)]
    assert len(kept) == 19
    assert {r.destination_city for r in kept} == {"Zürich 苏州"}


def test_a_header_row_past_64_kib_is_read_whole(tmp_path: Path) -> None:
    extra = [f"extra_{i}_{'x' * 40}" for i in range(1600)]
    header = ",".join([*extra, "order_id", "order_date", "tracking_number", "destination_country"])
    assert len(header) > 64 * 1024
    row = ",".join([""] * len(extra) + ["A1", "2026-11-01", "YT2411111111111111", "DE"])
    data = f"{header}\n{row}\n".encode()
    for orders in (
        read_orders_bytes(data, source="wide.csv"),
        open_orders(write(tmp_path, data.decode())),
    ):
        assert [r.order_id for r in orders if isinstance(r, OrderRow)] == ["A1"]


def test_a_first_line_past_1_mib_is_one_clear_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x" * (1024 * 1024 + 10) + "\n")
    with pytest.raises(InputError, match=r"first line is longer than 1024 KiB"):
        open_orders(path)

"""Hostile and random CSV input never crashes the reader (design §15: no input file makes the
tool print a traceback); well-formed input in any supported shape always comes through."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing import examples
from tracking.core.exceptions import InputError
from tracking.ingest import (
    OrderRow,
    ParcelRow,
    RejectedRow,
    open_orders,
    read_orders_bytes,
    write_errors,
)

FUZZ = settings(
    max_examples=examples(150),  # many more, from fresh seeds, under `make fuzz`
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADERS = [
    "order_id",
    "Order No",
    "订单号",
    "tracking_number",
    "Tracking",
    "运单号",
    "order_date",
    "下单时间",
    "created",
    "destination_country",
    "Country",
    "目的国",
    "ship_date",
    "carrier",
    "物流渠道",
    "zip",
    "city",
    "amount",
    "currency",
    "store",
    "platform",
    "notes",
    "",
    "=cmd|' /C calc'!A0",
]

REQUIRED = [
    ["order_id", "Order No", "订单号", " ORDER-ID "],
    ["tracking_number", "Tracking", "运单号"],
    ["order_date", "下单时间", "created"],
    ["destination_country", "Country", "目的国"],
]

NASTY = [
    "",
    " ",
    '"',
    '""',
    '"a"b',
    "\x00",
    "a\x00b",
    "\r",
    "\n",
    "\ufeff",
    '=HYPERLINK("http://x","y")',
    "+1",
    "-1",
    "@SUM(A1)",
    "2024-03-01",
    "2024/3/1 12:00",
    "03/01/2024",
    "13/01/2024",
    "01/13/2024",
    "31.02.2024",
    "2024年3月1日 12:00",
    "45352.5",
    "1e400",
    "99999999999999999999",
    "0001-01-01",
    "9999-12-31T23:59:59+14:00",
    "1999-12-31",
    "2024-03-01T25:61:00",
    "1709280000",
    "-45352",
    "RU",
    "Russia",
    "俄罗斯",
    "Narnia",
    "YT2412345678901",
    "4.2E+21",
    "AB-12 345",
    "$12.50",
    "12,50 €",
    "1,234",
    "NaN",
    "Infinity",
    "¥-0",
    "€",
    "云途",
    "Joom Logistics",
    "sep=;",
]

ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "gb18030",
    "gbk",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "cp1251",
    "latin-1",
    "big5",
    "shift_jis",
]

GOOD = {
    "id": st.text("ABC0123456789-/", min_size=1, max_size=10),
    "tracking": st.text("ABCDEFXYZ0123456789 -", min_size=5, max_size=24),
    "date": st.sampled_from(
        ["2024-03-01", "2024/3/1 12:00", "01.03.2024", "45352.5", "2024年3月1日 12:00"]
    ),
    "country": st.sampled_from(["RU", "Russia", "俄罗斯", "DEU", "美国"]),
    "other": st.sampled_from(["", "Moscow", "101000", "12.50", "$3", "USD", "云途", "Joom"]),
}
KIND = {
    **dict.fromkeys(REQUIRED[0], "id"),
    **dict.fromkeys(REQUIRED[1], "tracking"),
    **dict.fromkeys([*REQUIRED[2], "ship_date"], "date"),
    **dict.fromkeys(REQUIRED[3], "country"),
}
nasty_cells = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.sampled_from([10_001, 140_000]).map(lambda n: "Z" * n),
)


@st.composite
def hostile_csv(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    separator = draw(st.sampled_from([",", ";", "\t", ",", ";", "\t", "|", " ", ",,"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = draw(st.lists(st.sampled_from(HEADERS), max_size=5))
    if draw(st.integers(0, 4)):  # mostly a usable header, so rows get read
        header += [draw(st.sampled_from(aliases)) for aliases in REQUIRED]
        header = draw(st.permutations(header))
    body: list[list[str]] = []
    for _ in range(draw(st.integers(0, 6))):
        row = [
            draw(GOOD[KIND.get(name, "other")] if draw(st.integers(0, 7)) else nasty_cells)
            for name in header
        ]
        if draw(st.integers(0, 5)) == 0:  # a missing or an extra cell
            drop = bool(row) and draw(st.booleans())
            row = row[:-1] if drop else [*row, draw(nasty_cells)]
        body.append(row)
    quote_all = draw(st.booleans())

    def line(values: list[str]) -> str:
        if quote_all:
            return separator.join('"' + v.replace('"', '""') + '"' for v in values)
        return separator.join(values)  # unquoted: separators and quotes inside break the row

    text = newline.join([line(header), *(line(r) for r in body)])
    if draw(st.booleans()):
        text += newline
    encoding = draw(st.sampled_from([*ENCODINGS[:5], *ENCODINGS]))
    data = text.encode(encoding, errors="replace")
    cut = draw(st.integers(0, 5))
    if cut == 1 and data:  # truncated mid-character
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif cut == 2:  # a splash of random bytes
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


def _check_stream(items: list[OrderRow | ParcelRow | RejectedRow]) -> None:
    numbers = [item.row_number for item in items]
    assert numbers == sorted(set(numbers)), numbers  # unique and increasing
    latest = datetime.now(UTC) + timedelta(days=1, minutes=1)
    for item in items:
        assert type(item) in (OrderRow, ParcelRow, RejectedRow)
        assert item.row_number >= 1
        if isinstance(item, RejectedRow):
            assert item.reason
            assert len(item.value) <= 200
            continue
        if isinstance(item, ParcelRow):  # another parcel of an order: checked the same way
            item = item.order
        assert item.order_id
        assert item.order_id == item.order_id.strip()
        assert "\x00" not in item.order_id
        assert item.order_date.tzinfo is UTC
        assert datetime(2000, 1, 1, tzinfo=UTC) <= item.order_date <= latest
        assert item.ship_date is None or item.ship_date.tzinfo is UTC
        number = item.tracking_number
        assert number.isascii()
        assert number.isalnum()
        assert number == number.upper()
        assert 5 <= len(number) <= 50
        assert len(item.destination_country) == 2
        assert item.destination_country.isupper()
        assert item.currency == "" or (len(item.currency) == 3 and item.currency.isupper())


@FUZZ
@given(data=hostile_csv())
def test_hostile_bytes_never_crash(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "orders.csv"
        path.write_bytes(data)
        try:
            orders = open_orders(path)
        except InputError as error:
            message = str(error)
        else:
            message = ""
        if message:
            assert message.startswith(str(path))
            with pytest.raises(InputError):  # the same bytes uploaded are judged alike
                read_orders_bytes(data, source="upload.csv")
            return
        items = list(orders)
        _check_stream(items)
        assert list(read_orders_bytes(data, source="upload.csv")) == items
        rejected = [item for item in items if isinstance(item, RejectedRow)]
        assert write_errors(Path(folder) / "errors.csv", rejected) == len(rejected)


# ---------------------------------------------------------------------------------------------
# Well-formed input always comes through, whatever its shape
# ---------------------------------------------------------------------------------------------

COUNTRIES = [("RU", "RU"), ("Russia", "RU"), ("俄罗斯", "RU"), ("DEU", "DE"), ("美国", "US")]
EARLIEST = datetime(2001, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # naive wall clocks
LATEST = datetime(2024, 12, 31, tzinfo=UTC).replace(tzinfo=None)
DATE_FORMATS = [
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y年%m月%d日 %H:%M",
]


@st.composite
def good_csv(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str, datetime, str]]]:
    names = draw(
        st.sampled_from(
            [
                ("order_id", "tracking_number", "order_date", "destination_country"),
                ("订单号", "运单号", "下单时间", "目的国"),
                ("Order No", "Tracking No", "Order Time", "Ship To Country"),
            ]
        )
    )
    separator = draw(st.sampled_from([",", ";", "\t"]))
    fmt = draw(st.sampled_from(DATE_FORMATS))
    ids = draw(
        st.lists(
            st.text("ABCXYZ0123456789-/_#", min_size=1, max_size=12).filter(
                lambda s: s[0] not in "-"
            ),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    expected: list[tuple[str, str, datetime, str]] = []
    lines = [separator.join(names)]
    for order_id in ids:
        number = draw(st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=5, max_size=30))
        wall = draw(st.datetimes(EARLIEST, LATEST))
        wall = wall.replace(second=0 if "%S" not in fmt else wall.second, microsecond=0)
        country, iso2 = draw(st.sampled_from(COUNTRIES))
        cells = [order_id, number, wall.strftime(fmt), country]
        lines.append(separator.join('"' + c + '"' if draw(st.booleans()) else c for c in cells))
        instant = wall.replace(tzinfo=UTC) - timedelta(hours=8)
        expected.append((order_id, number, instant, iso2))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    return (newline.join(lines) + newline).encode(encoding), expected


@FUZZ
@given(case=good_csv())
def test_well_formed_rows_always_come_through(
    case: tuple[bytes, list[tuple[str, str, datetime, str]]],
) -> None:
    data, expected = case
    items = list(read_orders_bytes(data, source="good.csv"))
    assert all(isinstance(item, OrderRow) for item in items), items
    got = [
        (r.order_id, r.tracking_number, r.order_date, r.destination_country)
        for r in items
        if isinstance(r, OrderRow)
    ]
    assert got == expected
    assert [r.row_number for r in items] == list(range(2, len(expected) + 2))

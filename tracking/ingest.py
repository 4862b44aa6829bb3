"""Read a marketplace or ERP orders export (CSV) into validated order rows (design §9).

`open_orders` sniffs a file once (encoding, separator, header row) and returns an
`OrdersFile`; iterating it streams the file and yields one `OrderRow` per usable row and
one `RejectedRow` (row number, column, value, plain-English reason) per unusable row, so good
rows always go through. A file that cannot be used at all (an image, a workbook, an empty file,
no header with the needed columns) raises `InputError` from `open_orders` before anything is
yielded.

Sniffing reads a bounded sample (64 KiB) and, for files without a byte-order mark, one
streaming pass that checks the whole file decodes; rows are then read with `csv.reader` over a
text stream, so memory stays flat whatever the file size (only the order ids already seen are
kept, to reject duplicates).

Row numbers are the row numbers a spreadsheet shows: the header is row 1 when it is on the first
line, the first data row is row 2, blank lines count as rows.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import IO, Final

import charset_normalizer
import pycountry

from tracking.countries import to_iso2
from tracking.exceptions import InputError

__all__ = [
    "CARRIER_ALIASES",
    "MAX_FIELD_CHARS",
    "SAMPLE_BYTES",
    "OrderRow",
    "OrdersFile",
    "RejectedRow",
    "carrier_code",
    "open_orders",
    "read_orders_bytes",
    "write_errors",
]

SAMPLE_BYTES: Final = 64 * 1024
"""How much of a file is read to sniff its encoding, separator and header row."""

MAX_FIELD_CHARS: Final = 10_000
"""A used field longer than this rejects its row (no real order id or city is that long)."""

_VALUE_CHARS: Final = 200  # RejectedRow.value is truncated to this
_SHOW_CHARS: Final = 60  # values quoted inside a reason are truncated to this
_HEADER_SCAN_RECORDS: Final = 10  # the header row must be among the first non-blank records
_LEARN_RECORDS: Final = 5_000  # sample records used to learn day/month order and decimal comma
_VERIFY_CHUNK: Final = 1 << 20
_DELIMITERS: Final = (",", ";", "\t")
_DELIMITER_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab"}

# ---------------------------------------------------------------------------------------------
# Domain rows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One usable order row, validated and normalized."""

    row_number: int
    tenant: str
    order_id: str
    marketplace: str
    order_date: datetime
    ship_date: datetime | None
    tracking_number: str
    carrier: str | None
    carrier_declared: str
    destination_country: str
    destination_postal_code: str
    destination_city: str
    order_value: Decimal | None
    currency: str


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that cannot be used, and why (in words a seller understands)."""

    row_number: int
    column: str
    value: str
    reason: str


# ---------------------------------------------------------------------------------------------
# Carriers
# ---------------------------------------------------------------------------------------------

CARRIER_ALIASES: Final[dict[str, str]] = {
    # Cainiao (AliExpress logistics)
    "Cainiao": "cainiao",
    "Cainiao Logistics": "cainiao",
    "Cainiao Network": "cainiao",
    "Cainiao Standard": "cainiao",
    "Cainiao Super Economy": "cainiao",
    "Cainiao Expedited Economy": "cainiao",
    "AliExpress Standard Shipping": "cainiao",
    "AliExpress Standard": "cainiao",
    "AliExpress Saver Shipping": "cainiao",
    "AliExpress Premium Shipping": "cainiao",
    "AliExpress Selection Shipping": "cainiao",
    "菜鸟": "cainiao",
    "菜鸟物流": "cainiao",
    "菜鸟网络": "cainiao",
    "菜鸟无忧": "cainiao",
    "菜鸟无忧标准": "cainiao",
    "菜鸟无忧物流": "cainiao",
    "无忧物流": "cainiao",
    "无忧标准": "cainiao",
    "无忧优先": "cainiao",
    "无忧简易": "cainiao",
    "无忧集运": "cainiao",
    # YunExpress
    "YunExpress": "yunexpress",
    "Yun Express": "yunexpress",
    "YunExpress Global Direct": "yunexpress",
    "云途": "yunexpress",
    "云途物流": "yunexpress",
    "云途全球专线": "yunexpress",
    # 17TRACK (aggregator)
    "17TRACK": "17track",
    "17 Track": "17track",
    # Yanwen
    "Yanwen": "yanwen",
    "Yanwen Logistics": "yanwen",
    "Yanwen Express": "yanwen",
    "燕文": "yanwen",
    "燕文物流": "yanwen",
    "燕文专线": "yanwen",
    # 4PX
    "4PX": "4px",
    "4PX Express": "4px",
    "4PX Worldwide Express": "4px",
    "递四方": "4px",
    "递四方速递": "4px",
    "递四方物流": "4px",
}
"""Carrier and channel names as sellers write them (English and Chinese) -> carrier code.

Matching ignores case, spaces and punctuation; names not listed here are also recognized when
they contain an unmistakable brand ("Cainiao", "菜鸟", "AliExpress", "云途", "燕文", "递四方",
"4PX", "YunExpress", "Yanwen", "17TRACK"). Anything else keeps `carrier=None` and is kept
verbatim in `carrier_declared` (e.g. "Joom Logistics")."""

_CARRIER_KEYWORDS: Final = (
    ("cainiao", "cainiao"),
    ("菜鸟", "cainiao"),
    ("aliexpress", "cainiao"),
    ("yunexpress", "yunexpress"),
    ("云途", "yunexpress"),
    ("yanwen", "yanwen"),
    ("燕文", "yanwen"),
    ("递四方", "4px"),
    ("4px", "4px"),
    ("17track", "17track"),
)


# Traditional Chinese (Hong Kong, Taiwan exports) -> simplified, for the characters of the
# header, carrier and country names matched here.
_SIMPLIFY: Final = str.maketrans(
    "訂單號編運蹤時間發貨國郵碼額幣種鋪稱遞創銷臺雲鳥羅蘭亞爾聯灣門烏倫韓麥馬來蘇維愛紐歐義",
    "订单号编运踪时间发货国邮码额币种铺称递创销台云鸟罗兰亚尔联湾门乌伦韩麦马来苏维爱纽欧义",
)


def _name_key(text: str) -> str:
    """Case-, width-, space-, punctuation- and script-insensitive key of a name."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_SIMPLIFY)
    return "".join(ch for ch in text if ch.isalnum())


_CARRIER_INDEX: Final = {_name_key(name): code for name, code in CARRIER_ALIASES.items()}


@lru_cache(maxsize=1024)
def carrier_code(name: str) -> str | None:
    """The carrier code for a declared carrier/channel name, or None when not recognized."""
    key = _name_key(name)
    if not key:
        return None
    code = _CARRIER_INDEX.get(key)
    if code is not None:
        return code
    for keyword, code in _CARRIER_KEYWORDS:
        if keyword in key:
            return code
    return None


# ---------------------------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------------------------

_FIELD_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "order_id": (
        "order_id",
        "order id",
        "order no",
        "order number",
        "order sn",
        "订单号",
        "订单编号",
        "平台订单号",
    ),
    "tracking_number": (
        "tracking_number",
        "tracking no",
        "tracking",
        "tracking code",
        "tracking id",
        "waybill",
        "waybill no",
        "运单号",
        "跟踪号",
        "物流单号",
        "追踪号",
        "快递单号",
        "跟踪单号",
        "国际运单号",
        "物流跟踪号",
    ),
    "carrier": (
        "carrier",
        "logistics",
        "shipping method",
        "shipping carrier",
        "logistics provider",
        "物流商",
        "承运商",
        "物流渠道",
        "物流方式",
        "shipping provider",
        "物流公司",
        "快递公司",
    ),
    "order_date": (
        "order_date",
        "order time",
        "created",
        "created at",
        "purchase date",
        "下单时间",
        "订单时间",
        "下单日期",
        "订单日期",
        "order created",
        "创建时间",
    ),
    "ship_date": (
        "ship_date",
        "shipped at",
        "shipping date",
        "ship time",
        "发货时间",
        "发货日期",
    ),
    "destination_country": (
        "destination_country",
        "country",
        "ship to country",
        "country code",
        "目的国",
        "收货国家",
        "目的国家",
        "国家",
        "shipping country",
        "ship country",
        "收件国家",
        "收件人国家",
    ),
    "destination_postal_code": (
        "destination_postal_code",
        "postcode",
        "postal code",
        "zip",
        "zip code",
        "ship to postal code",
        "邮编",
        "邮政编码",
        "收件人邮编",
    ),
    "destination_city": (
        "destination_city",
        "city",
        "ship to city",
        "城市",
        "收货城市",
        "收件人城市",
    ),
    "order_value": (
        "order_value",
        "amount",
        "total",
        "order total",
        "order amount",
        "订单金额",
        "金额",
    ),
    "currency": ("currency", "currency code", "币种", "货币"),
    "marketplace": ("marketplace", "platform", "平台", "销售平台"),
    "tenant": ("store", "shop", "store name", "shop name", "tenant", "店铺", "店铺名称"),
}
_REQUIRED: Final = ("order_id", "tracking_number", "order_date", "destination_country")
_HEADER_SPLIT: Final = re.compile(r"[/|()（）\[\]【】\n]+")
_HEADER_PAREN: Final = re.compile(r"[(（\[【]([^)）\]】]*)[)）\]】]\s*$")


# normalized alias -> (field, priority): a lower priority wins when two columns claim a field
def _header_index() -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for field, aliases in _FIELD_ALIASES.items():
        for rank, alias in enumerate(aliases):
            index.setdefault(_name_key(alias), (field, rank))
    return index


_HEADER_INDEX: Final = _header_index()


def _header_field(header: str) -> tuple[str, int] | None:
    """(field, priority) a header names, trying bilingual parts ("订单号/Order ID") too."""
    hit = _HEADER_INDEX.get(_name_key(header))
    if hit is not None:
        return hit
    for part in _HEADER_SPLIT.split(header):
        hit = _HEADER_INDEX.get(_name_key(part))
        if hit is not None:
            return hit
    return None


def _match_headers(record: list[str]) -> dict[str, int]:
    """field -> column index for one candidate header record."""
    best: dict[str, tuple[int, int]] = {}
    for index, cell in enumerate(record):
        if not cell.strip() or len(cell) > 200:
            continue
        hit = _header_field(cell.replace("\ufeff", ""))
        if hit is None:
            continue
        field, rank = hit
        if field not in best or rank < best[field][0]:
            best[field] = (rank, index)
    return {field: index for field, (_, index) in best.items()}


def _alias_hint(field: str) -> str:
    aliases = _FIELD_ALIASES[field]
    chinese = next((a for a in aliases if not a.isascii()), "")
    return f"{field} (a header such as '{aliases[0]}', '{aliases[1]}' or '{chinese}')"


# ---------------------------------------------------------------------------------------------
# Values: problems, dates, money
# ---------------------------------------------------------------------------------------------


class _Bad(Exception):
    """A value that cannot be used; the message is the reason shown to the user."""


def _show(value: str) -> str:
    value = value.replace("\x00", "\\0")
    if len(value) > _SHOW_CHARS:
        value = value[: _SHOW_CHARS - 1] + "…"
    return f"'{value}'"


_DATE_HELP: Final = "use 2024-03-01, 2024/3/1 12:00 or an Excel serial"
_MONTHS: Final = tuple(calendar.month_name[1:])
_NUMERIC_DATE: Final = re.compile(
    r"(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})"
    r"(?:(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:\s*([AaPp])\.?[Mm]\.?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_CHINESE_DATE: Final = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?"
    r"\s*(?:(上午|下午|晚上)?\s*(\d{1,2})\s*[:时点]\s*(\d{1,2})\s*分?(?:\s*:?\s*(\d{1,2})\s*秒?)?)?"
)
_EXCEL_EPOCH: Final = datetime(1899, 12, 30, tzinfo=UTC)  # 1900 date system, past its leap bug
_EXCEL_MIN: Final = 32_874  # 1990-01-01
_EXCEL_MAX: Final = 73_051  # 2100-01-01
_EPOCH_MIN: Final = 946_684_800  # 2000-01-01 in Unix seconds
_EPOCH_MAX: Final = 4_102_444_800  # 2100-01-01
_EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
_UTC_EPOCH: Final = _EARLIEST
_HOURS: Final = tuple(timedelta(hours=n) for n in range(24))
_MINUTES: Final = tuple(timedelta(minutes=n) for n in range(60))
_SECONDS: Final = tuple(timedelta(seconds=n) for n in range(60))
_DAY_CACHE: Final = 4096
_NAIVE_EPOCH: Final = _EARLIEST.replace(tzinfo=None)


def _offset(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    if minutes >= 24 * 60:
        raise ValueError("offset out of range")
    return timezone(timedelta(minutes=sign * minutes))


def _day_month_order(first: int, second: int) -> bool | None:
    """True for day-first, False for month-first, None when both readings are possible."""
    if first > 12 >= second:
        return True
    if second > 12 >= first:
        return False
    return None


class _DateReader:
    """Parses one date column; remembers which format the column uses to try it first."""

    __slots__ = ("_days", "_last", "day_first", "field", "offset", "tz")

    def __init__(self, field: str, tz: timezone, day_first: bool | None) -> None:
        self.field = field
        self.tz = tz
        self.offset = tz.utcoffset(None)
        self._days: dict[str, datetime] = {}  # "2024/3/1" -> start of that local day (UTC)
        self.day_first = day_first
        self._last: Callable[[_DateReader, str], datetime | None] | None = None

    def parse(self, text: str, latest: datetime) -> datetime:
        """The UTC instant `text` names; raises `_Bad` with a reason."""
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        moment: datetime | None = None
        last = self._last
        problem: _Bad | None = None
        if last is not None:
            try:
                moment = last(self, text)
            except _Bad as bad:
                problem = bad
        if moment is None:
            for strategy in _DATE_STRATEGIES:
                if strategy is last:
                    continue
                try:
                    moment = strategy(self, text)
                except _Bad as bad:
                    problem = problem or bad
                    continue
                if moment is not None:
                    self._last = strategy
                    break
            else:
                raise problem or self._invalid(text)
        if moment < _EARLIEST:
            raise _Bad(f"{self.field} {_show(text)} is before 2000; that cannot be right")
        if moment > latest:
            raise _Bad(
                f"{self.field} {_show(text)} is in the future"
                f" ({moment:%Y-%m-%d %H:%M} UTC); check the date and the date format"
            )
        return moment

    def _wall(self, y: int, mo: int, d: int, h: int, mi: int, s: int, us: int) -> datetime:
        # Built as if UTC, then shifted: `replace`/`astimezone` cost microseconds each.
        return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC) - self.offset

    def _invalid(self, text: str) -> _Bad:
        return _Bad(f"{self.field} {_show(text)} is not a date ({_DATE_HELP})")

    def iso(self, text: str) -> datetime | None:
        if not (text[4:5] == "-" or (len(text) == 8 and text.isdigit())):
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        try:
            if moment.tzinfo is None:
                return _UTC_EPOCH + (moment - _NAIVE_EPOCH - self.offset)
            return moment.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 shifted out of range
            raise self._invalid(text) from None

    def numeric(self, text: str) -> datetime | None:
        # Fast path for the usual "2024/3/1 12:00[:30]" once its day has been seen: the
        # day's start is cached, the clock time is added from small tables.
        day_text, space, clock = text.partition(" ")
        start = self._days.get(day_text)
        if start is not None:
            if not space:
                return start
            if len(clock) in (4, 5, 7, 8) and clock[-3] == ":":
                hh, _, rest = clock.partition(":")
                mm, _, ss = rest.partition(":")
                if hh.isdigit() and len(mm) == 2 and mm.isdigit() and (not ss or ss.isdigit()):
                    hour, minute, second = int(hh), int(mm), int(ss or 0)
                    if hour < 24 and minute < 60 and second < 60 and len(ss) in (0, 2):
                        return start + _HOURS[hour] + _MINUTES[minute] + _SECONDS[second]
        match = _NUMERIC_DATE.fullmatch(text)
        if match is None:
            return None
        moment, start = self._numeric(text, match)
        if start is not None and match.end(4) == len(day_text):
            if len(self._days) >= _DAY_CACHE:
                self._days.clear()
            self._days[day_text] = start
        return moment

    def _numeric(self, text: str, match: re.Match[str]) -> tuple[datetime, datetime | None]:
        """(the instant, the start of its local day when no offset was written)."""
        a, sep, b, c, hh, mm, ss, frac, ampm, off = match.groups()
        if len(a) == 4 and len(c) <= 2:
            year, month, day = int(a), int(b), int(c)
        elif len(a) <= 2 and (len(c) == 4 or (len(c) == 2 and sep == ".")):
            # two-digit years only in dd.mm.yy: "24-03-01" might be year first
            year = int(c) + (2000 if len(c) == 2 else 0)
            first, second = int(a), int(b)
            if sep == ".":
                day, month = first, second  # dd.mm.yyyy: nobody writes mm.dd.yyyy
            else:
                order = _day_month_order(first, second)
                if order is None and first != second:
                    if self.day_first is None:
                        raise self._ambiguous(text, first, second, year)
                    order = self.day_first
                elif order is not None and self.day_first is not None and order != self.day_first:
                    style = "day/month/year" if self.day_first else "month/day/year"
                    raise _Bad(
                        f"{self.field} {_show(text)} does not fit this file's {style} order;"
                        " write dates year first, e.g. 2024-03-01"
                    )
                day, month = (first, second) if order in (True, None) else (second, first)
        else:
            raise self._invalid(text)
        hour = int(hh) if hh else 0
        if ampm:
            if not 1 <= hour <= 12:
                raise self._invalid(text)
            hour = hour % 12 + (12 if ampm in "Pp" else 0)
        minute = int(mm) if mm else 0
        second = int(ss) if ss else 0
        us = int(frac[:6].ljust(6, "0")) if frac else 0
        if hour > 23 or minute > 59 or second > 59:
            raise self._invalid(text)
        try:
            if off:
                moment = datetime(year, month, day, hour, minute, second, us, tzinfo=_offset(off))
                return moment.astimezone(UTC), None
            start = datetime(year, month, day, tzinfo=UTC) - self.offset
            return start + timedelta(0, second, us, 0, minute, hour), start
        except (ValueError, OverflowError):
            raise self._invalid(text) from None

    def _ambiguous(self, text: str, first: int, second: int, year: int) -> _Bad:
        if not (1 <= first <= 12 and 1 <= second <= 12):
            return self._invalid(text)
        one = f"{first} {_MONTHS[second - 1]} {year}"
        other = f"{second} {_MONTHS[first - 1]} {year}"
        return _Bad(
            f"{self.field} {_show(text)} is ambiguous: it could be {one} or {other};"
            " write dates year first, e.g. 2024-03-01"
        )

    def chinese(self, text: str) -> datetime | None:
        if "年" not in text:
            return None
        match = _CHINESE_DATE.fullmatch(text)
        if match is None:
            return None
        y, mo, d, half, hh, mi, ss = match.groups()
        hour = int(hh) if hh else 0
        if half in ("下午", "晚上") and hour < 12:
            hour += 12
        try:
            return self._wall(int(y), int(mo), int(d), hour, int(mi or 0), int(ss or 0), 0)
        except (ValueError, OverflowError):
            raise self._invalid(text) from None

    def serial(self, text: str) -> datetime | None:
        if not text[:1].isdigit() or not text.replace(".", "", 1).isdigit():
            return None
        if "." not in text and len(text) in (10, 13):  # Unix seconds or milliseconds
            seconds = int(text) / (1000 if len(text) == 13 else 1)
            if _EPOCH_MIN <= seconds <= _EPOCH_MAX:
                return datetime.fromtimestamp(seconds, tz=UTC)
        number = float(text)
        if not _EXCEL_MIN <= number <= _EXCEL_MAX:
            raise _Bad(
                f"{self.field} {_show(text)} is a number but not an Excel date serial"
                f" between 1990 and 2100 ({_DATE_HELP})"
            )
        wall = _EXCEL_EPOCH + timedelta(seconds=round(number * 86_400))
        return wall - self.offset


_DATE_STRATEGIES: Final[tuple[Callable[[_DateReader, str], datetime | None], ...]] = (
    _DateReader.iso,
    _DateReader.numeric,
    _DateReader.serial,
    _DateReader.chinese,
)


def _learn_day_first(values: Iterable[str]) -> bool | None:
    """Day/month order shown by unambiguous slash/dash dates (13/03/2024); None if unknown."""
    seen: set[bool] = set()
    for value in values:
        match = _NUMERIC_DATE.fullmatch(value.strip())
        if match is None:
            continue
        a, sep, b, c = match.group(1, 2, 3, 4)
        if sep == "." or len(a) > 2 or len(c) != 4:
            continue
        order = _day_month_order(int(a), int(b))
        if order is not None and int(a) <= 31 and int(b) <= 31:
            seen.add(order)
    return seen.pop() if len(seen) == 1 else None


_CURRENCY_WORDS: Final[dict[str, str]] = {
    "$": "USD",
    "US$": "USD",
    "USD$": "USD",
    "€": "EUR",
    "¥": "CNY",
    "元": "CNY",
    "RMB": "CNY",
    "人民币": "CNY",
    "美元": "USD",
    "欧元": "EUR",
    "英镑": "GBP",
    "卢布": "RUB",
    "£": "GBP",
    "₽": "RUB",
    "РУБ": "RUB",
    "РУБ.": "RUB",
    "Р.": "RUB",
    "RUR": "RUB",
    "₩": "KRW",
    "R$": "BRL",
    "₹": "INR",
    "₺": "TRY",
    "ZŁ": "PLN",
}


@lru_cache(maxsize=256)
def _currency(text: str) -> str | None:
    """ISO 4217 code for a currency code, symbol or word; "" for empty; None if unknown."""
    word = unicodedata.normalize("NFKC", text).strip().upper()
    if not word:
        return ""
    if word in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[word]
    if len(word) == 3 and word.isascii() and word.isalpha():
        hit = pycountry.currencies.get(alpha_3=word)
        if hit is not None:
            return str(hit.alpha_3)
    return None


_PLAIN_NUMBER: Final = re.compile(r"\d{1,15}(?:\.\d{1,8})?")
_MONEY: Final = re.compile(r"(\D*?)\s*(\d[\d.,\s'\u00a0\u202f]*)(\D*)")
_GROUP_SPACES: Final = str.maketrans("", "", " '\u00a0\u202f\u2009")


def _amount(core: str, decimal_comma: bool | None) -> Decimal | None:
    """The number in `core` ("1 234,50", "1,234.50", "12.5"); None when ambiguous."""
    s = core.translate(_GROUP_SPACES).rstrip(".,")
    if "." in s and "," in s:
        decimal_sep = "." if s.rfind(".") > s.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        whole, _, frac = s.rpartition(decimal_sep)
        if group_sep in frac or decimal_sep in whole:
            raise ValueError(core)
        groups = whole.split(group_sep)
        if any(len(g) != 3 for g in groups[1:]) or not 1 <= len(groups[0]) <= 3:
            raise ValueError(core)
        s = "".join(groups) + "." + frac
    elif "," in s or "." in s:
        sep = "," if "," in s else "."
        parts = s.split(sep)
        if len(parts) > 2:
            if any(len(p) != 3 for p in parts[1:]) or not 1 <= len(parts[0]) <= 3:
                raise ValueError(core)
            s = "".join(parts)
        elif len(parts[1]) != 3:
            s = parts[0] + "." + parts[1]
        elif sep == ",":
            if decimal_comma is None:
                return None
            s = parts[0] + ("." if decimal_comma else "") + parts[1]
        else:  # "1.234": a decimal point unless this file writes decimal commas
            s = parts[0] + ("" if decimal_comma else ".") + parts[1]
    if not _PLAIN_NUMBER.fullmatch(s):
        raise ValueError(core)
    return Decimal(s)


def _learn_decimal_comma(values: Iterable[str]) -> bool | None:
    """Whether a value column writes decimal commas (12,50), from unambiguous values."""
    seen: set[bool] = set()
    for value in values:
        match = _MONEY.fullmatch(value.strip())
        if match is None:
            continue
        s = match.group(2).translate(_GROUP_SPACES).rstrip(".,")
        dot, comma = s.rfind("."), s.rfind(",")
        if dot >= 0 and comma >= 0:
            seen.add(comma > dot)
        elif comma >= 0 and s.count(",") == 1 and len(s) - comma - 1 in (1, 2):
            seen.add(True)
        elif dot >= 0 and s.count(".") == 1 and len(s) - dot - 1 in (1, 2):
            seen.add(False)
    return seen.pop() if len(seen) == 1 else None


def _tracking(raw: str) -> str:
    """Normalized tracking number; raises `_Bad`."""
    number = raw.strip()
    if number.startswith("'"):  # Excel's "keep as text" marker
        number = number[1:]
    if not number.isascii():
        number = unicodedata.normalize("NFKC", number)
    if " " in number or "-" in number or not number.isalnum():
        number = number.translate(_TRACKING_DROP)
    number = number.upper()
    if number.isascii() and number.isalnum() and 5 <= len(number) <= 50:
        return number
    if not number:
        raise _Bad("tracking_number is empty")
    if re.fullmatch(r"\d(?:[.,]\d+)?E\+?\d+", number):
        raise _Bad(
            f"tracking_number {_show(raw)} was turned into a number by Excel (scientific"
            " notation) and its digits are lost; format the column as Text and export again"
        )
    if not (number.isascii() and number.isalnum()):
        raise _Bad(f"tracking_number {_show(raw)} may contain only letters and digits")
    raise _Bad(f"tracking_number {_show(raw)} has {len(number)} characters; expected 5 to 50")


_TRACKING_DROP: Final = str.maketrans(
    "", "", " \t\u00a0\u3000-\u2010\u2011\u2012\u2013\u2014\u2212_"
)


# ---------------------------------------------------------------------------------------------
# Sniffing
# ---------------------------------------------------------------------------------------------

_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"BM", ""),  # checked below: a BMP only when its header is consistent
)
_ZIP: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BIG5: Final = frozenset({"big5", "big5hkscs", "cp950"})
_CJK_ENCODINGS: Final = frozenset(
    {
        "gb2312",
        "gbk",
        "gb18030",
        "hz",
        "big5",
        "big5hkscs",
        "cp950",
        "cp936",
        "euc_jp",
        "euc_jis_2004",
        "euc_jisx0213",
        "shift_jis",
        "shift_jis_2004",
        "shift_jisx0213",
        "cp932",
        "euc_kr",
        "cp949",
        "johab",
        "iso2022_jp",
        "iso2022_kr",
    }
)


def _magic_problem(head: bytes) -> str | None:
    """What the file is when its first bytes say it is not text; None otherwise."""
    if head.startswith(_ZIP):
        if b"xl/" in head or b"[Content_Types].xml" in head:
            return (
                "this is an Excel workbook (.xlsx), not a CSV file; open it in Excel and save"
                " it as CSV (File > Save As > CSV UTF-8)"
            )
        if b"opendocument.spreadsheet" in head:
            return "this is an OpenDocument spreadsheet (.ods), not a CSV file; save it as CSV"
        return "this is a ZIP archive, not a CSV file; extract the CSV from it first"
    if head.startswith(_OLE2):
        return (
            "this is an old Excel workbook (.xls), not a CSV file; open it in Excel and save"
            " it as CSV (File > Save As > CSV UTF-8)"
        )
    for magic, what in _MAGIC:
        if what and head.startswith(magic):
            return f"this is {what}, not a CSV file; export the orders as CSV and try again"
    if head.startswith(b"BM") and len(head) > 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "this is a BMP image, not a CSV file; export the orders as CSV and try again"
    return None


def _decodes(data: bytes, encoding: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(data, final)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _utf16_without_bom(sample: bytes) -> str | None:
    head = sample[:4096]
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    if odd > 0.4 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if even > 0.4 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None


def _chinese_share(text: str) -> float:
    """Share of non-ASCII characters that are common in Chinese text read as GB18030.

    GB2312 level-1 hanzi (the 3,755 most used), Chinese punctuation and full-width forms, and
    Cyrillic (a Chinese Excel saves Russian city names in GBK). Big5 or Cyrillic bytes read as
    GB18030 give mostly rare hanzi, kana or private-use characters instead.
    """
    total = common = 0
    for ch in text:
        if ch.isascii():
            continue
        total += 1
        try:
            lead = ch.encode("gb2312")[0]
        except UnicodeEncodeError:
            continue
        if 0xA1 <= lead <= 0xA3 or lead == 0xA7 or 0xB0 <= lead <= 0xD7:
            common += 1
    return common / total if total else 0.0


def _canonical(encoding: str) -> str:
    return codecs.lookup(encoding).name


def _guess_encoding(sample: bytes, whole: bool) -> str:
    """The codec of `sample`: a BOM, else strict UTF-8, else UTF-16 by its NULs, else a guess."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if sample.startswith(b"\x84\x31\x95\x33"):
        return "gb18030"
    if _decodes(sample, "utf-8", whole):
        return "utf-8"
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None and _decodes(sample[: len(sample) // 2 * 2], utf16, False):
        return utf16
    matches = [_canonical(m.encoding) for m in charset_normalizer.from_bytes(sample)]
    best = matches[0] if matches else None
    if _decodes(sample, "gb18030", whole):
        text = codecs.getincrementaldecoder("gb18030")("replace").decode(sample, whole)
        if best is None or _chinese_share(text) >= 0.6:
            return "gb18030"
        if best in _CJK_ENCODINGS:
            # Not common simplified Chinese when read as GB18030: Big5 (Hong Kong, Taiwan)
            # when that is the guess; else a short Cyrillic or Latin legacy file, which often
            # also decodes as some CJK encoding: prefer a single-byte reading if one is offered.
            if best in _BIG5:
                return best
            other = next((m for m in matches if m not in _CJK_ENCODINGS), None)
            return other or "gb18030"
    if best is None:
        raise _NotText("the bytes are not text in any encoding we know")
    return best


class _NotText(Exception):
    pass


_CONTROL: Final = str.maketrans(
    "", "", "".join(chr(c) for c in range(32) if chr(c) not in "\t\r\n") + "\x7f\ufffd"
)


def _control_share(text: str) -> float:
    """Share of control and replacement characters: binary data decoded as text."""
    if not text:
        return 0.0
    return (len(text) - len(text.translate(_CONTROL))) / len(text)


# ---------------------------------------------------------------------------------------------
# The file
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    encoding: str
    lossy: bool  # some bytes do not decode: they become U+FFFD and rows holding them are refused
    delimiter: str
    header_row: int  # spreadsheet row number of the header
    headers: tuple[str, ...]
    columns: dict[str, int]
    skip_records: int  # csv records before the first data record
    row_shift: int  # added to the record number to get the spreadsheet row (sep= line: -1)
    day_first: bool | None
    decimal_comma: bool | None
    header_currency: str


class OrdersFile:
    """Opened, sniffed CSV; iterating streams rows without loading the file.

    Attributes: `path` (for an upload: its name), `encoding` (Python codec name),
    `delimiter`, `columns` (field -> header as written), `header_row` (spreadsheet row of the
    header), `day_first` (the day/month order learned from unambiguous dates such as
    13/03/2024 in the first 64 KiB; None when unknown, and then ambiguous dates are rejected).
    Each iteration re-reads the file from the start.
    """

    path: Path
    encoding: str
    delimiter: str
    columns: dict[str, str]

    def __init__(
        self,
        *,
        path: Path,
        data: bytes | None,
        layout: _Layout,
        tenant: str,
        tz: timezone,
    ) -> None:
        self.path = path
        self._data = data
        self._layout = layout
        self.encoding = layout.encoding
        self.delimiter = layout.delimiter
        self.columns = {f: layout.headers[i].strip() for f, i in layout.columns.items()}
        self.header_row = layout.header_row
        self.day_first = layout.day_first
        self.tenant = tenant
        self._tz = tz

    def __repr__(self) -> str:
        sep = _DELIMITER_NAMES.get(self.delimiter, self.delimiter)
        return f"OrdersFile({str(self.path)!r}, encoding={self.encoding!r}, delimiter={sep})"

    def _open_text(self) -> IO[str]:
        # "replace" although the whole file was checked: a file changed since must not crash
        # the reader; U+FFFD in a used field rejects its row when the check found bad bytes.
        binary: IO[bytes] = (
            io.BytesIO(self._data) if self._data is not None else self.path.open("rb")
        )
        return io.TextIOWrapper(binary, encoding=self.encoding, errors="replace", newline="")

    def __iter__(self) -> Iterator[OrderRow | RejectedRow]:
        layout = self._layout
        rows = _RowReader(layout, self.tenant, self._tz, datetime.now(UTC) + timedelta(days=1))
        convert = rows.convert
        skip = layout.skip_records
        shift = layout.row_shift
        record_no = 0
        stuck = -1
        with self._open_text() as text:
            reader = csv.reader(text, delimiter=layout.delimiter, strict=False)
            while True:
                try:
                    for record in reader:
                        record_no += 1
                        if record_no <= skip or not record:
                            continue
                        item = convert(record, record_no + shift)
                        if item is not None:
                            yield item
                    break
                except csv.Error as exc:
                    # The reader drops the broken record and goes on with the next line.
                    record_no += 1
                    if reader.line_num == stuck:
                        break  # no progress: never loop on the same error
                    stuck = reader.line_num
                    if record_no > skip:
                        yield RejectedRow(
                            record_no + shift, "", "", f"row cannot be read as CSV: {exc}"
                        )


class _RowReader:
    """Turns records into rows for one pass over a file (holds the duplicate-id memory)."""

    __slots__ = (
        "decimal_comma",
        "delimiter",
        "fields",
        "header_currency",
        "headers",
        "i_carrier",
        "i_city",
        "i_country",
        "i_currency",
        "i_date",
        "i_market",
        "i_order",
        "i_postal",
        "i_ship",
        "i_tenant",
        "i_track",
        "i_value",
        "latest",
        "lossy",
        "order_dates",
        "seen",
        "ship_dates",
        "tenant",
        "used",
        "width",
    )

    def __init__(self, layout: _Layout, tenant: str, tz: timezone, latest: datetime) -> None:
        cols = layout.columns
        headers = layout.headers
        self.delimiter = layout.delimiter
        self.lossy = layout.lossy
        self.width = max(i for i, h in enumerate(headers) if h.strip()) + 1
        self.tenant = tenant
        self.latest = latest
        self.header_currency = layout.header_currency
        self.decimal_comma = layout.decimal_comma
        self.i_order = cols["order_id"]
        self.i_track = cols["tracking_number"]
        self.i_date = cols["order_date"]
        self.i_country = cols["destination_country"]
        self.i_ship = cols.get("ship_date", -1)
        self.i_carrier = cols.get("carrier", -1)
        self.i_postal = cols.get("destination_postal_code", -1)
        self.i_city = cols.get("destination_city", -1)
        self.i_value = cols.get("order_value", -1)
        self.i_currency = cols.get("currency", -1)
        self.i_market = cols.get("marketplace", -1)
        self.i_tenant = cols.get("tenant", -1)
        self.used = tuple(sorted(cols.values()))
        self.headers = {i: headers[i].strip() for i in cols.values()}
        self.fields = {i: field for field, i in cols.items()}
        self.order_dates = _DateReader("order_date", tz, layout.day_first)
        self.ship_dates = _DateReader("ship_date", tz, layout.day_first)
        self.seen: dict[str, dict[str, int]] = {}

    def _reject(self, row: int, index: int, value: str, reason: str) -> RejectedRow:
        column = self.headers.get(index, "") if index >= 0 else ""
        return RejectedRow(row, column, value[:_VALUE_CHARS], reason)

    def _row_problem(self, record: list[str], row: int) -> RejectedRow | None:
        """Field count, huge fields, NULs and undecodable bytes, or None when fine."""
        n = len(record)
        if n == self.width:
            line = "".join(record)  # one scan instead of one per field for the usual row
            if (
                len(line) <= MAX_FIELD_CHARS
                and "\x00" not in line
                and not (self.lossy and "\ufffd" in line)
            ):
                return None
        else:
            if n > self.width and not any(f.strip() for f in record[self.width :]):
                pass  # trailing empty cells (Excel pads rows): nothing is lost
            else:
                kind = "too many" if n > self.width else "too few"
                sep = _DELIMITER_NAMES[self.delimiter]
                hint = (
                    f" (a value probably contains an unquoted {sep})"
                    if n > self.width
                    else " (the row is cut short or a separator is missing)"
                )
                raw = self.delimiter.join(record)
                return self._reject(
                    row,
                    -1,
                    raw,
                    f"row has {n} fields but the header has {self.width}: {kind} fields{hint}",
                )
        for i in self.used:
            field = record[i]
            if len(field) > MAX_FIELD_CHARS:
                return self._reject(
                    row,
                    i,
                    field,
                    f"{self.fields[i]} is {len(field):,} characters long; the limit is"
                    f" {MAX_FIELD_CHARS:,}",
                )
            if "\x00" in field:
                return self._reject(
                    row,
                    i,
                    field,
                    f"{self.fields[i]} contains a NUL (zero) byte: the file is damaged or was"
                    " saved in another encoding",
                )
            if self.lossy and "\ufffd" in field:
                return self._reject(
                    row,
                    i,
                    field,
                    f"{self.fields[i]} has bytes that are not valid text in this file's"
                    " encoding; save the file as CSV UTF-8",
                )
        return None

    def convert(self, record: list[str], row: int) -> OrderRow | RejectedRow | None:
        """One record -> a row, a rejection, or None for a blank line."""
        if (len(record) != self.width or not record[self.i_order].strip()) and not any(
            f.strip() for f in record
        ):
            return None
        problem = self._row_problem(record, row)
        if problem is not None:
            return problem

        order_id = record[self.i_order].strip()
        if not order_id:
            return self._reject(row, self.i_order, "", "order_id is empty")

        raw = record[self.i_track]
        try:
            tracking = _tracking(raw)
        except _Bad as bad:
            return self._reject(row, self.i_track, raw, str(bad))

        raw = record[self.i_date].strip()
        if not raw:
            return self._reject(row, self.i_date, raw, "order_date is empty")
        try:
            order_date = self.order_dates.parse(raw, self.latest)
        except _Bad as bad:
            return self._reject(row, self.i_date, raw, str(bad))

        raw = record[self.i_country]
        country = to_iso2(raw)
        if country is None and not raw.isascii():
            country = to_iso2(raw.translate(_SIMPLIFY))  # 俄羅斯 -> 俄罗斯
        if country is None:
            if not raw.strip():
                return self._reject(row, self.i_country, raw, "destination_country is empty")
            return self._reject(
                row,
                self.i_country,
                raw,
                f"destination_country {_show(raw.strip())} is not a country we know (use an"
                " ISO code such as RU or RUS, or an English or Chinese name such as Russia or"
                " 俄罗斯)",
            )

        ship_date: datetime | None = None
        if self.i_ship >= 0:
            raw = record[self.i_ship].strip()
            if raw:
                try:
                    ship_date = self.ship_dates.parse(raw, self.latest)
                except _Bad as bad:
                    return self._reject(row, self.i_ship, raw, str(bad))

        currency = ""
        if self.i_currency >= 0:
            raw = record[self.i_currency]
            code = _currency(raw)
            if code is None:
                return self._reject(
                    row,
                    self.i_currency,
                    raw,
                    f"currency {_show(raw.strip())} is not an ISO 4217 code (e.g. USD, CNY,"
                    " EUR, RUB)",
                )
            currency = code

        value: Decimal | None = None
        if self.i_value >= 0:
            raw = record[self.i_value].strip()
            if raw:
                try:
                    value, symbol = self._money(raw)
                except _Bad as bad:
                    return self._reject(row, self.i_value, raw, str(bad))
                if symbol:
                    if currency and symbol != currency:
                        return self._reject(
                            row,
                            self.i_value,
                            raw,
                            f"order_value {_show(raw)} is in {symbol} but the currency column"
                            f" says {currency}",
                        )
                    currency = symbol
            if not currency and value is not None:
                currency = self.header_currency

        tenant = self.tenant
        if self.i_tenant >= 0:
            tenant = record[self.i_tenant].strip() or tenant

        seen = self.seen.get(tenant)
        if seen is None:
            seen = self.seen[tenant] = {}
        first = seen.get(order_id)
        if first is not None:
            return self._reject(
                row, self.i_order, order_id, f"duplicate order_id, first seen at row {first}"
            )
        seen[order_id] = row

        carrier_declared = record[self.i_carrier].strip() if self.i_carrier >= 0 else ""
        return OrderRow(  # positional: noticeably cheaper than keywords for 14 fields
            row,
            tenant,
            order_id,
            record[self.i_market].strip() if self.i_market >= 0 else "",  # marketplace
            order_date,
            ship_date,
            tracking,
            carrier_code(carrier_declared) if carrier_declared else None,
            carrier_declared,
            country,
            record[self.i_postal].strip() if self.i_postal >= 0 else "",  # postal code
            record[self.i_city].strip() if self.i_city >= 0 else "",  # city
            value,
            currency,
        )

    def _money(self, text: str) -> tuple[Decimal, str]:
        """(amount, currency from a symbol or "") for an order value; raises `_Bad`."""
        if _PLAIN_NUMBER.fullmatch(text):
            return Decimal(text), ""
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        match = _MONEY.fullmatch(text)
        problem = f"order_value {_show(text)} is not an amount (write e.g. 12.50)"
        if match is None:
            raise _Bad(problem)
        before, core, after = (g.strip() for g in match.groups())
        if before.endswith("-") or after.startswith("-"):
            raise _Bad(f"order_value {_show(text)} is negative")
        if before and after:
            raise _Bad(problem)
        symbol = ""
        if before or after:
            found = _currency(before or after)
            if not found:
                raise _Bad(problem)
            symbol = found
        try:
            amount = _amount(core, self.decimal_comma)
        except (ValueError, InvalidOperation):
            raise _Bad(problem) from None
        if amount is None:
            raise _Bad(
                f"order_value {_show(text)} is ambiguous: the comma could be a thousands or a"
                " decimal separator; write it without thousands separators, e.g. 1234 or 1.234"
            )
        return amount, symbol


# ---------------------------------------------------------------------------------------------
# Opening
# ---------------------------------------------------------------------------------------------


def _sample_records(text: str, delimiter: str, limit: int) -> list[list[str]]:
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        for record in reader:
            records.append(record)
            if len(records) >= limit:
                break
    except csv.Error:
        pass
    return records


def _sniffed_delimiter(text: str) -> str | None:
    try:
        # Bounded: the Sniffer's regular expressions are quadratic on some inputs.
        return csv.Sniffer().sniff(text[:4096], delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        return None


_SEP_LINE: Final = re.compile(r"\ufeff?sep=([,;\t])(?:\r\n|\r|\n)", re.IGNORECASE)
_FIRST_LINE: Final = re.compile(r"[^\r\n]*")


def _find_header(text: str, name: str) -> tuple[str, int, list[str], dict[str, int], int]:
    """(delimiter, header record index, header cells, field -> index, row shift).

    Every separator is tried on the first non-blank records; the record that names the most
    needed fields wins (then the most fields, then the earliest). `csv.Sniffer` only breaks a
    tie between separators, then the separator's count on the first line.
    """
    forced = _SEP_LINE.match(text)  # Excel's "sep=;" first line (Excel hides it)
    delimiters = (forced.group(1),) if forced else _DELIMITERS
    shift = -1 if forced else 0
    start = 1 if forced else 0
    first_line = _FIRST_LINE.match(text, forced.end() if forced else 0)
    first_text = first_line.group() if first_line else ""

    candidates: list[tuple[tuple[int, int, int, int], str, int, list[str], dict[str, int]]] = []
    first_cells: list[str] = []
    for delimiter in delimiters:
        records = _sample_records(text, delimiter, 2 * _HEADER_SCAN_RECORDS + 2)
        non_blank = 0
        for index in range(start, len(records)):
            record = records[index]
            if not any(cell.strip() for cell in record):
                continue
            non_blank += 1
            if non_blank > _HEADER_SCAN_RECORDS:
                break
            if non_blank == 1 and len(record) > len(first_cells):
                first_cells = record
            mapping = _match_headers(record)
            if mapping:
                required = sum(1 for f in _REQUIRED if f in mapping)
                score = (required, len(mapping), -index, first_text.count(delimiter))
                candidates.append((score, delimiter, index, record, mapping))
    if not candidates or max(c[0] for c in candidates)[0] < len(_REQUIRED):
        best = max(candidates, key=lambda c: c[0]) if candidates else None
        found = best[3] if best is not None else first_cells
        mapping = best[4] if best is not None else {}
        missing = [f for f in _REQUIRED if f not in mapping]
        shown = ", ".join(_show(h.strip()) for h in found[:20] if h.strip()) or "none"
        if len(found) > 20:
            shown += f" and {len(found) - 20} more"
        raise InputError(
            f"{name}: no header row has the needed columns; missing "
            + "; ".join(_alias_hint(f) for f in missing)
            + f". Headers found: {shown}."
        )
    top = max(c[0][:3] for c in candidates)
    tied = [c for c in candidates if c[0][:3] == top]
    if len({c[1] for c in tied}) > 1:
        sniffed = _sniffed_delimiter(text)
        tied.sort(key=lambda c: (c[1] == sniffed, c[0][3]), reverse=True)
    else:
        tied.sort(key=lambda c: c[0], reverse=True)
    _, delimiter, index, record, mapping = tied[0]
    return delimiter, index, record, mapping, shift


def _verify(open_binary: Callable[[], IO[bytes]], encoding: str) -> bool:
    """Whether the whole stream decodes strictly in `encoding` (read in 1 MiB chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with open_binary() as stream:
        try:
            while chunk := stream.read(_VERIFY_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", True)
        except UnicodeDecodeError:
            return False
    return True


def _sniff(name: str, sample: bytes, whole: bool, open_binary: Callable[[], IO[bytes]]) -> _Layout:
    if not sample.strip(b" \t\r\n\x00"):
        raise InputError(f"{name}: the file is empty")
    problem = _magic_problem(sample)
    if problem is not None:
        raise InputError(f"{name}: {problem}")
    try:
        encoding = _guess_encoding(sample, whole)
    except _NotText:
        raise InputError(
            f"{name}: this is not a text file (binary data); export the orders as CSV"
        ) from None
    encoding = (
        _canonical(encoding) if encoding not in ("utf-8-sig", "utf-16", "utf-32") else encoding
    )
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, whole)
    text = text.removeprefix("\ufeff")
    if not text.strip(" \t\r\n\x00,;\ufeff"):
        raise InputError(f"{name}: the file is empty")
    if _control_share(text) > 0.05:
        raise InputError(f"{name}: this is not a text file (binary data); export the orders as CSV")
    start = text.lstrip()[:64].lower()
    if start.startswith(("<!doctype html", "<html", "<table")):
        raise InputError(
            f"{name}: this is a web page (HTML), not a CSV file (some 'Excel' exports are"
            " HTML); open it in Excel and save it as CSV"
        )
    if start.startswith("<?xml"):
        raise InputError(
            f"{name}: this is an XML file (perhaps an Excel XML workbook), not a CSV file;"
            " open it in Excel and save it as CSV"
        )
    if not whole:
        end = max(text.rfind("\n"), text.rfind("\r"))
        if end > 0:
            text = text[: end + 1]  # drop the partial last line

    delimiter, index, header, mapping, shift = _find_header(text, name)

    lossy = False
    if not (_decodes(sample, encoding, True) if whole else _verify(open_binary, encoding)):
        # Some bytes do not decode. An ASCII start with GBK Chinese further down is read as
        # GB18030; anything else (a damaged or mixed file) is read with replacement
        # characters, and rows holding one in a used field are rejected.
        if encoding == "utf-8" and sample.isascii() and _verify(open_binary, "gb18030"):
            encoding = "gb18030"
        else:
            lossy = True

    records = _sample_records(text, delimiter, index + 1 + _LEARN_RECORDS)[index + 1 :]
    date_values = [
        r[i]
        for r in records
        for f in ("order_date", "ship_date")
        if (i := mapping.get(f, -1)) >= 0 and i < len(r)
    ]
    value_index = mapping.get("order_value", -1)
    value_values = [r[value_index] for r in records if 0 <= value_index < len(r)]
    header_currency = ""
    if value_index >= 0:
        paren = _HEADER_PAREN.search(header[value_index])
        header_currency = (_currency(paren.group(1)) or "") if paren else ""
    header = [header[0].removeprefix("\ufeff"), *header[1:]] if header else header
    return _Layout(
        encoding=encoding,
        lossy=lossy,
        delimiter=delimiter,
        header_row=index + 1 + shift,
        headers=tuple(header),
        columns=mapping,
        skip_records=index + 1,
        row_shift=shift,
        day_first=_learn_day_first(date_values),
        decimal_comma=_learn_decimal_comma(value_values),
        header_currency=header_currency,
    )


def _tz(minutes: int) -> timezone:
    if not -24 * 60 < minutes < 24 * 60:
        raise ValueError(f"assume_utc_offset_minutes={minutes} is not a UTC offset")
    return timezone(timedelta(minutes=minutes))


def open_orders(
    path: Path, *, tenant: str = "default", assume_utc_offset_minutes: int = 480
) -> OrdersFile:
    """Sniff encoding, delimiter, headers.

    Raises InputError (one clear message naming the file) when the file is not a CSV at all,
    is empty, is binary, or lacks a needed column (naming the missing field and the headers
    found). Dates without an offset are read at `assume_utc_offset_minutes` east of UTC
    (China time by default). A store/shop column, when present, overrides `tenant` per row.
    """
    path = Path(path)
    tz = _tz(assume_utc_offset_minutes)
    name = str(path)
    try:
        with path.open("rb") as stream:
            sample = stream.read(SAMPLE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    whole = len(sample) <= SAMPLE_BYTES
    layout = _sniff(name, sample[:SAMPLE_BYTES], whole, lambda: path.open("rb"))
    return OrdersFile(path=path, data=None, layout=layout, tenant=tenant, tz=tz)


def read_orders_bytes(
    data: bytes,
    *,
    source: str,
    tenant: str = "default",
    assume_utc_offset_minutes: int = 480,
) -> OrdersFile:
    """`open_orders` for bytes already in memory (an HTTP upload); `source` names it.

    The bytes are read through an in-memory stream (no copy, no temporary file); the
    returned file's `path` is `Path(source)`.
    """
    tz = _tz(assume_utc_offset_minutes)
    blob = bytes(data)
    whole = len(blob) <= SAMPLE_BYTES
    layout = _sniff(source, blob[:SAMPLE_BYTES], whole, lambda: io.BytesIO(blob))
    return OrdersFile(path=Path(source), data=blob, layout=layout, tenant=tenant, tz=tz)


_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(text: str) -> str:
    """A cell Excel shows as text: formulas neutralized with a leading apostrophe."""
    text = text.replace("\x00", "\u2400")
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_errors(path: Path, rejected: Iterable[RejectedRow]) -> int:
    """Write rejected rows as CSV (UTF-8 with BOM, for Excel): row,column,value,reason.

    Cells that Excel would run as formulas (starting with =, +, -, @) get a leading
    apostrophe. Returns how many rows were written.
    """
    count = 0
    with Path(path).open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(("row", "column", "value", "reason"))
        for row in rejected:
            writer.writerow(
                (
                    row.row_number,
                    _safe_cell(row.column),
                    _safe_cell(row.value),
                    _safe_cell(row.reason),
                )
            )
            count += 1
    return count

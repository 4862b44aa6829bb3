"""Rows of an export -> orders: values checked, item rows of one order grouped."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Final, NamedTuple

from tracking.core.countries import to_iso2
from tracking.ingest.carriers import _SIMPLIFY, carrier_code
from tracking.ingest.dates import _DateReader, date_text
from tracking.ingest.model import (
    _DELIMITER_NAMES,
    _VALUE_CHARS,
    MAX_FIELD_CHARS,
    OrderRow,
    ParcelRow,
    RejectedRow,
    new_order_row,
)
from tracking.ingest.profiles import header_key
from tracking.ingest.sniff import _Layout
from tracking.ingest.values import (
    _MONEY,
    _PLAIN_NUMBER,
    _amount,
    _Bad,
    _currency,
    _show,
    _tracking,
    split_carrier_cell,
)

# A merge flag cell that says "not merged" (ERPs write 是/否, Y/N, 1/0, TRUE/FALSE).
_FALSE: Final = frozenset({"0", "n", "no", "false", "否", "未合并", "not merged", "-"})


DATE_CELL: Final = "(date cell)"
"""A record's text for a workbook's typed date cell passed to `convert` as such."""


class _Parcel:
    """The marker `_again` returns for another parcel of an order."""


_PARCEL: Final = _Parcel()


class _First(NamedTuple):
    """What an order's first row said, to check its other rows against."""

    row: int
    tracking: int  # hash of the tracking number (equal numbers, equal hashes)
    order_date: datetime
    country: str


# An order's first row is remembered as one packed int (200,000 orders: about 30 MB instead of
# 65 MB as tuples): its row (32 bits), its tracking number's hash (32 bits), its order date in
# whole seconds since 2000 and microseconds (32 + 20 bits) and its ISO country code (16 bits).
_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)


_COUNTRY_BITS: Final[dict[str, int]] = {}  # ISO code -> its bits, shifted into place


def _pack(row: int, tracking: str, order_date: datetime, country: str) -> int:
    bits = _COUNTRY_BITS.get(country)
    if bits is None:  # a few hundred codes at most
        code = int.from_bytes(country.encode("latin-1")) if len(country) == 2 else 0
        bits = _COUNTRY_BITS[country] = code << 116
    return (
        row
        | (hash(tracking) & 0xFFFFFFFF) << 32
        | ((order_date - _EPOCH) // _SECOND) << 64  # whole seconds, exactly
        | order_date.microsecond << 96
        | bits
    )


def _unpack(packed: int) -> _First:
    code = packed >> 116
    moment = _EPOCH + timedelta(
        seconds=(packed >> 64) & 0xFFFFFFFF, microseconds=(packed >> 96) & 0xFFFFF
    )
    return _First(
        packed & 0xFFFFFFFF,
        (packed >> 32) & 0xFFFFFFFF,
        moment,
        chr(code >> 8) + chr(code & 0xFF) if code else "",
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
        "i_merge",
        "i_order",
        "i_package",
        "i_postal",
        "i_ship",
        "i_tenant",
        "i_track",
        "i_value",
        "item_rows",
        "latest",
        "lossy",
        "order_dates",
        "orders",
        "parcels",
        "rows",
        "second_parcels",
        "seen",
        "sheet",
        "ship_dates",
        "tenant",
        "used",
        "width",
    )

    def __init__(self, layout: _Layout, tenant: str, tz: tzinfo, latest: datetime) -> None:
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
        formats = layout.profile.date_formats if layout.profile is not None else ()
        self.order_dates = _DateReader("order_date", tz, layout.day_first, formats)
        self.ship_dates = _DateReader("ship_date", tz, layout.day_first, formats)
        self.sheet = layout.sheet
        # the export's own merged-parcel columns (a profile's grouping rules)
        self.i_merge = self.i_package = -1
        profile = layout.profile
        if profile is not None and (profile.merge_flag or profile.package_id):
            keys = [header_key(h) for h in headers]
            if profile.merge_flag and header_key(profile.merge_flag) in keys:
                self.i_merge = keys.index(header_key(profile.merge_flag))
            if profile.package_id and header_key(profile.package_id) in keys:
                self.i_package = keys.index(header_key(profile.package_id))
        # (tenant, order id) -> what its first row said: item rows are checked against it
        self.seen: dict[str, dict[str, int]] = {}  # tenant -> order id -> `_pack`ed first row
        self.rows = 0  # non-blank data rows read
        self.orders = 0  # orders yielded (one per (tenant, order id))
        self.item_rows = 0  # further rows of an order already read
        self.second_parcels = 0  # further parcels of orders already read (split orders)
        self.parcels: set[tuple[int, str]] = set()  # (first row of the order, number)

    def _reject(self, row: int, index: int, value: str, reason: str, kind: str) -> RejectedRow:
        column = self.headers.get(index, "") if index >= 0 else ""
        return RejectedRow(row, column, value[:_VALUE_CHARS], reason, self.sheet, kind)

    def _where(self, row: int) -> str:
        return f"row {row}" if not self.sheet else f"row {row} of sheet {self.sheet!r}"

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
                    "field_count",
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
                    "too_long",
                )
            if "\x00" in field:
                return self._reject(
                    row,
                    i,
                    field,
                    f"{self.fields[i]} contains a NUL (zero) byte: the file is damaged or was"
                    " saved in another encoding",
                    "nul_byte",
                )
            if self.lossy and "\ufffd" in field:
                return self._reject(
                    row,
                    i,
                    field,
                    f"{self.fields[i]} has bytes that are not valid text in this file's"
                    " encoding; save the file as CSV UTF-8",
                    "bad_encoding",
                )
        return None

    def convert(
        self,
        record: list[str],
        row: int,
        order_cell: datetime | date | None = None,
        ship_cell: datetime | date | None = None,
    ) -> OrderRow | ParcelRow | RejectedRow | None:
        """One record -> a row, a rejection, or None for a blank line.

        `order_cell`/`ship_cell`: a workbook's typed date cells of those columns, read as they
        are instead of writing their text and parsing it back (the record holds their ISO text
        or `DATE_CELL`; a message quotes their ISO text)."""
        if len(record) == self.width:
            order_id = record[self.i_order].strip()
            if not order_id and not any(f.strip() for f in record):
                return None
            self.rows += 1
            line = "".join(record)  # one scan instead of one per field for the usual row
            if len(line) > MAX_FIELD_CHARS or "\x00" in line or (self.lossy and "\ufffd" in line):
                problem = self._row_problem(record, row)
                if problem is not None:
                    return problem
        else:
            if not any(f.strip() for f in record):
                return None
            self.rows += 1
            problem = self._row_problem(record, row)
            if problem is not None:
                return problem
            order_id = record[self.i_order].strip()  # the record is wider: trailing blanks
        if not order_id:
            return self._reject(row, self.i_order, "", "order_id is empty", "order_id_empty")

        raw = record[self.i_track]
        if raw.isalnum() and raw.isascii() and 5 <= len(raw) <= 50:
            declared, tracking = "", raw.upper()  # the usual plain number, as below
        else:
            declared, number = split_carrier_cell(raw)
            try:
                tracking = _tracking(number)
            except _Bad as bad:
                return self._reject(row, self.i_track, raw, str(bad), "tracking_invalid")

        raw = record[self.i_date].strip()
        if not raw:
            return self._reject(row, self.i_date, raw, "order_date is empty", "order_date_empty")
        try:
            order_date = self.order_dates.read(raw, order_cell, self.latest)
        except _Bad as bad:
            shown = raw if order_cell is None else date_text(order_cell)
            return self._reject(row, self.i_date, shown, str(bad), "order_date_invalid")

        raw = record[self.i_country]
        country = to_iso2(raw)
        if country is None and not raw.isascii():
            country = to_iso2(raw.translate(_SIMPLIFY))  # 俄羅斯 -> 俄罗斯
        if country is None:
            if not raw.strip():
                return self._reject(
                    row, self.i_country, raw, "destination_country is empty", "country_empty"
                )
            return self._reject(
                row,
                self.i_country,
                raw,
                f"destination_country {_show(raw.strip())} is not a country we know (use an"
                " ISO code such as RU or RUS, or an English or Chinese name such as Russia or"
                " 俄罗斯)",
                "country_unknown",
            )

        ship_date: datetime | None = None
        if self.i_ship >= 0:
            raw = record[self.i_ship].strip()
            if raw:
                try:
                    ship_date = self.ship_dates.read(raw, ship_cell, self.latest)
                except _Bad as bad:
                    shown = raw if ship_cell is None else date_text(ship_cell)
                    return self._reject(row, self.i_ship, shown, str(bad), "ship_date_invalid")

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
                    "currency_unknown",
                )
            currency = code

        value: Decimal | None = None
        if self.i_value >= 0:
            raw = record[self.i_value].strip()
            if raw:
                try:
                    value, symbol = self._money(raw)
                except _Bad as bad:
                    return self._reject(row, self.i_value, raw, str(bad), "order_value_invalid")
                if symbol:
                    if currency and symbol != currency:
                        return self._reject(
                            row,
                            self.i_value,
                            raw,
                            f"order_value {_show(raw)} is in {symbol} but the currency column"
                            f" says {currency}",
                            "value_currency_mismatch",
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
        parcel = False
        if first is not None:
            again = self._again(_unpack(first), row, order_id, tracking, order_date, country)
            if not isinstance(again, _Parcel):
                return again
            parcel = True
        else:
            seen[order_id] = _pack(row, tracking, order_date, country)
            self.orders += 1

        carrier_declared = record[self.i_carrier].strip() if self.i_carrier >= 0 else ""
        if declared and not carrier_declared:
            carrier_declared = declared  # "AliExpress Standard Shipping:LP00123456789CN"
        read = new_order_row(  # positional: noticeably cheaper than keywords for 15 fields
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
            self._group(record) if self.i_merge >= 0 or self.i_package >= 0 else "",
        )
        return ParcelRow(read) if parcel else read

    def _group(self, record: list[str]) -> str:
        """ "merged" when the export's merge flag is set, else "package:<id>", else ""."""
        if 0 <= self.i_merge < len(record):
            flag = record[self.i_merge].strip().casefold()
            if flag and flag not in _FALSE:
                return "merged"
        if 0 <= self.i_package < len(record):
            package = record[self.i_package].strip()
            if package:
                return f"package:{package}"[:160]
        return ""

    def _again(
        self,
        first: _First,
        row: int,
        order_id: str,
        tracking: str,
        order_date: datetime,
        country: str,
    ) -> RejectedRow | _Parcel | None:
        """Another row of an order already read: an item row (None), another parcel of the
        order (`_PARCEL`), or why it cannot be (two order dates, two destinations)."""
        if order_date != first.order_date:
            return self._reject(
                row,
                self.i_date,
                f"{order_date:%Y-%m-%d %H:%M} UTC",
                f"order {order_id} has two order dates: {self._where(first.row)} says"
                f" {first.order_date:%Y-%m-%d %H:%M} UTC, {self._where(row)} says"
                f" {order_date:%Y-%m-%d %H:%M} UTC; one order has one order date",
                "two_dates",
            )
        if country != first.country:
            return self._reject(
                row,
                self.i_country,
                country,
                f"order {order_id} has two destinations: {self._where(first.row)} says"
                f" {first.country}, {self._where(row)} says {country}; one order goes to one"
                " country",
                "two_destinations",
            )
        if hash(tracking) & 0xFFFFFFFF != first.tracking:
            key = (first.row, tracking)
            if key not in self.parcels:
                self.parcels.add(key)
                self.second_parcels += 1
                return _PARCEL  # another parcel of a split order: tracked and judged too
        self.item_rows += 1
        return None

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

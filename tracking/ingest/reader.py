"""Reading a sniffed CSV export: rows to `OrderRow`s and `RejectedRow`s, streaming."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from tracking.countries import to_iso2
from tracking.exceptions import InputError
from tracking.ingest.carriers import _SIMPLIFY, carrier_code
from tracking.ingest.dates import _DateReader
from tracking.ingest.model import (
    _DELIMITER_NAMES,
    _VALUE_CHARS,
    MAX_FIELD_CHARS,
    SAMPLE_BYTES,
    OrderRow,
    RejectedRow,
)
from tracking.ingest.sniff import _Layout, _sniff
from tracking.ingest.values import _MONEY, _PLAIN_NUMBER, _amount, _Bad, _currency, _show, _tracking


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

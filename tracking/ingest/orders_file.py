"""An opened orders export (CSV or workbook): its layout, time zone, and one streaming pass."""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Final

from tracking.core.countries import CHINA_OFFSET
from tracking.core.exceptions import InputError
from tracking.ingest.excel import (
    EXACT_FLOAT_LIMIT,
    Sheet,
    cell_text,
    find_sheet,
    open_workbook,
    workbook_kind,
)
from tracking.ingest.headers import check_overrides
from tracking.ingest.model import _DELIMITER_NAMES, SAMPLE_BYTES, OrderRow, ParcelRow, RejectedRow
from tracking.ingest.profiles import ExportProfile, header_key
from tracking.ingest.rows import DATE_CELL, _RowReader
from tracking.ingest.sniff import (
    MAX_HEADER_BYTES,
    _Layout,
    _sniff,
    line_count,
    sniff_sample,
)

CHINA_TIME: Final = "UTC+08:00 (China time)"
_OFFSET: Final = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


class OrdersFile:
    """Opened, sniffed orders export; iterating streams its orders without loading the file.

    Attributes: `path` (for an upload: its name), `encoding` (Python codec name; "" for a
    workbook), `delimiter` ("" for a workbook), `sheet` (the workbook sheet read; "" for CSV),
    `columns` (field -> header as written), `header_row` (spreadsheet row of the header),
    `day_first` (the day/month order learned from unambiguous dates such as 13/03/2024; None
    when unknown, and then ambiguous dates are rejected), `profile` (the known export
    recognized by its headers, or None), `timezone` (how naive times are read, in words).
    After a pass: `rows_read` (non-blank data rows), `orders_read` (orders: rows of one store
    and order id are one order), `item_rows` (further rows of an order already read).
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
        tz: tzinfo,
        timezone_name: str,
        workbook: tuple[str, Sheet] | None = None,
    ) -> None:
        self.path = path
        self._data = data
        self._layout = layout
        self._workbook = workbook
        self.encoding = layout.encoding
        self.delimiter = layout.delimiter
        self.sheet = layout.sheet
        self.columns = {f: layout.headers[i].strip() for f, i in layout.columns.items()}
        self.header_row = layout.header_row
        self.day_first = layout.day_first
        self.profile: ExportProfile | None = layout.profile
        self.tenant = tenant
        self.timezone = timezone_name
        self._tz = tz
        self.rows_read = 0
        self.orders_read = 0
        self.item_rows = 0
        self.parcels_read = 0  # further parcels of split orders (another tracking number)

    def __repr__(self) -> str:
        if self._workbook is not None:
            return f"OrdersFile({str(self.path)!r}, sheet={self.sheet!r})"
        sep = _DELIMITER_NAMES.get(self.delimiter, self.delimiter)
        return f"OrdersFile({str(self.path)!r}, encoding={self.encoding!r}, delimiter={sep})"

    def _open_text(self) -> IO[str]:
        # "replace" although the whole file was checked: a file changed since must not crash
        # the reader; U+FFFD in a used field rejects its row when the check found bad bytes.
        binary: IO[bytes] = (
            io.BytesIO(self._data) if self._data is not None else self.path.open("rb")
        )
        return io.TextIOWrapper(binary, encoding=self.encoding, errors="replace", newline="")

    def __iter__(self) -> Iterator[OrderRow | ParcelRow | RejectedRow]:
        latest = datetime.now(UTC) + timedelta(days=1)
        kept: list[int] = []
        if self._workbook is not None:
            # A workbook row is read as its used cells only (a compact record), converted
            # once: an export's 67 columns cost nothing but the few that are read.
            layout, kept = _compact(self._layout)
            rows = _RowReader(layout, self.tenant, self._tz, latest)
        else:
            rows = _RowReader(self._layout, self.tenant, self._tz, latest)
        try:
            if self._workbook is not None:
                yield from self._workbook_rows(rows, kept)
            else:
                yield from self._csv_rows(rows)
        finally:
            self.rows_read = rows.rows
            self.orders_read = rows.orders
            self.item_rows = rows.item_rows
            self.parcels_read = rows.second_parcels

    def _csv_rows(self, rows: _RowReader) -> Iterator[OrderRow | ParcelRow | RejectedRow]:
        layout = self._layout
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
                        rows.rows += 1
                        yield RejectedRow(
                            record_no + shift,
                            "",
                            "",
                            f"row cannot be read as CSV: {exc}",
                            kind="csv_unreadable",
                        )

    def _workbook_rows(
        self, rows: _RowReader, kept: list[int]
    ) -> Iterator[OrderRow | ParcelRow | RejectedRow]:
        assert self._workbook is not None
        kind, sheet = self._workbook
        data, sheet.data = sheet.data, None  # the sniffed sheet serves one pass, then is freed
        if data is None:
            name = str(self.path)
            source = self._data if self._data is not None else self.path
            data = open_workbook(name, kind, source).get_sheet_by_name(self.sheet)
        convert = rows.convert
        shift = self._layout.row_shift
        text = cell_text
        limit = EXACT_FLOAT_LIMIT
        # Date cells of the date columns are read as the dates they are, not written as text
        # and parsed back: their place in the record holds DATE_CELL (their text is written
        # only for a message). Not for a column that also serves another field.
        typed = [
            p
            for p in (rows.i_date, rows.i_ship)
            if p >= 0 and rows.used.count(p) == 1 and p not in (rows.i_merge, rows.i_package)
        ]
        dated = sorted((p, kept[p]) for p in typed)  # (record position, sheet column)
        pick = _picker([column for n, column in enumerate(kept) if n not in typed])
        i_order, i_track, i_date = rows.i_order, rows.i_track, rows.i_date
        c_order, c_track = kept[i_order], kept[i_track]
        skip = self._layout.skip_records
        for number, cells in enumerate(islice(data.iter_rows(), skip, None), skip + 1):
            # every row of a sheet's range is as wide as the range, which holds the header
            record = [c if type(c) is str else text(c) for c in pick(cells)]
            ordered = shipped = None
            for position, column in dated:
                cell = cells[column]
                if type(cell) is datetime or type(cell) is date:
                    record.insert(position, DATE_CELL)
                    if position == i_date:
                        ordered = cell
                    else:
                        shipped = cell
                else:
                    record.insert(position, cell if type(cell) is str else text(cell))
            order_id, tracking = cells[c_order], cells[c_track]
            if (type(order_id) is float and not -limit < order_id < limit) or (
                type(tracking) is float and not -limit < tracking < limit
            ):  # an id stored as a float too large to hold its digits
                lost = (
                    i_track
                    if type(tracking) is float and not -limit < tracking < limit
                    else i_order
                )
                rows.rows += 1
                field = rows.fields[lost]
                yield rows._reject(
                    number + shift,
                    lost,
                    record[lost],
                    f"{field} {record[lost]} is stored in the workbook as a number too large"
                    " to keep every digit (Excel keeps 15), so its last digits are lost; format"
                    " the column as Text in the system you export from and export again",
                    "number_too_large",
                )
                continue
            item = convert(record, number + shift, ordered, shipped)
            if item is not None:
                yield item


def _picker(columns: list[int]) -> Callable[[Sequence[object]], tuple[object, ...]]:
    """The cells of these columns of a row, as a tuple (`itemgetter` returns a lone cell bare)."""
    if len(columns) == 1:
        column = columns[0]
        return lambda cells: (cells[column],)
    if not columns:
        return lambda cells: ()
    return itemgetter(*columns)


def _compact(layout: _Layout) -> tuple[_Layout, list[int]]:
    """The layout of records holding only the columns read (and the profile's merge-flag and
    package-id columns), and the sheet columns they come from."""
    wanted = set(layout.columns.values())
    profile = layout.profile
    if profile is not None:
        keys = [header_key(h) for h in layout.headers]
        for header in (profile.merge_flag, profile.package_id):
            if header and header_key(header) in keys:
                wanted.add(keys.index(header_key(header)))
    kept = sorted(wanted)
    position = {index: n for n, index in enumerate(kept)}
    compact = replace(
        layout,
        headers=tuple(layout.headers[i] or f"column {i + 1}" for i in kept),
        columns={field: position[i] for field, i in layout.columns.items()},
    )
    return compact, kept


def naive_zone(
    timezone_name: str | None, profile: ExportProfile | None, default_minutes: int
) -> tuple[tzinfo, str]:
    """(zone, in words) for times written without an offset.

    The seller's `--timezone` first (an IANA name such as Europe/London, or an offset such as
    +03:00), then the time zone the recognized export is documented to use, then the default
    offset (China time, the zone of Chinese sellers' ERPs and cross-border exports).
    """
    if timezone_name:
        return parse_zone(timezone_name), f"{timezone_name} (--timezone)"
    if profile is not None and profile.timezone:
        return zoneinfo.ZoneInfo(profile.timezone), f"{profile.timezone} ({profile.name})"
    if not -24 * 60 < default_minutes < 24 * 60:
        raise ValueError(f"assume_utc_offset_minutes={default_minutes} is not a UTC offset")
    zone = timezone(timedelta(minutes=default_minutes))
    words = (
        CHINA_TIME if default_minutes == CHINA_OFFSET else f"UTC{zone.tzname(None)[3:] or '+00:00'}"
    )
    return zone, f"{words}, the default; times in another zone need --timezone"


def parse_zone(text: str) -> tzinfo:
    """An IANA zone name or a UTC offset; InputError for anything else."""
    text = text.strip()
    match = _OFFSET.fullmatch(text)
    if match is not None:
        sign, hours, minutes = match.groups()
        total = int(hours) * 60 + int(minutes or 0)
        if total < 24 * 60:
            return timezone(timedelta(minutes=-total if sign == "-" else total))
    if text.upper() in ("UTC", "GMT", "Z"):
        return UTC
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"--timezone {text!r} is not a time zone; use an IANA name such as Europe/London,"
            " America/Sao_Paulo or Europe/Moscow, or an offset such as +03:00"
        ) from None


def _open(
    name: str,
    path: Path,
    head: bytes,
    source: Path | bytes,
    *,
    sniff_csv: Callable[[Mapping[str, str]], _Layout],
    tenant: str,
    timezone_name: str | None,
    default_minutes: int,
    columns: Mapping[str, str] | None,
) -> OrdersFile:
    overrides = dict(columns or {})
    check_overrides(overrides)
    kind = workbook_kind(head, name)
    workbook: tuple[str, Sheet] | None = None
    if kind is not None:
        sheet = find_sheet(name, open_workbook(name, kind, source), overrides)
        layout = sheet.layout
        workbook = (kind, sheet)
    else:
        layout = sniff_csv(overrides)
    tz, words = naive_zone(timezone_name, layout.profile, default_minutes)
    return OrdersFile(
        path=path,
        data=source if isinstance(source, bytes) else None,
        layout=layout,
        tenant=tenant,
        tz=tz,
        timezone_name=words,
        workbook=workbook,
    )


def open_orders(
    path: Path,
    *,
    tenant: str = "default",
    assume_utc_offset_minutes: int = CHINA_OFFSET,
    timezone: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> OrdersFile:
    """Sniff the file: a workbook (.xlsx .xlsm .xls .xlsb .ods) or CSV (encoding, delimiter),
    its header row, and the known export it is (a profile), if any.

    Raises InputError (one clear message naming the file) when the file cannot be used at
    all: not an orders file, empty, damaged, password-protected, too large, or lacking a needed
    column (naming the missing field, the closest headers found and the `--map` to type).
    Dates without an offset are read in `timezone` (an IANA name or offset), else in the
    recognized export's documented zone, else at `assume_utc_offset_minutes` east of UTC
    (China time by default). `columns` maps fields to header names (`--map`), overriding
    what the headers say. A store/shop column, when present, overrides `tenant` per row.
    """
    path = Path(path)
    name = str(path)
    try:
        with path.open("rb") as stream:
            sample = stream.read(SAMPLE_BYTES + 1)
            if len(sample) > SAMPLE_BYTES and line_count(sample) < 2:  # a very wide header
                sample += stream.read(MAX_HEADER_BYTES + 1 - len(sample))
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    whole = len(sample) <= SAMPLE_BYTES
    return _open(
        name,
        path,
        sample[:SAMPLE_BYTES],
        path,
        sniff_csv=lambda o: _sniff(
            name, sniff_sample(name, sample), whole, lambda: path.open("rb"), o
        ),
        tenant=tenant,
        timezone_name=timezone,
        default_minutes=assume_utc_offset_minutes,
        columns=columns,
    )


def read_orders_bytes(
    data: bytes,
    *,
    source: str,
    tenant: str = "default",
    assume_utc_offset_minutes: int = CHINA_OFFSET,
    timezone: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> OrdersFile:
    """`open_orders` for bytes already in memory (an HTTP upload); `source` names it.

    The bytes are read through an in-memory stream (no copy, no temporary file); the
    returned file's `path` is `Path(source)`.
    """
    blob = bytes(data)
    whole = len(blob) <= SAMPLE_BYTES
    head = blob[:SAMPLE_BYTES]
    sample = blob[: SAMPLE_BYTES + 1]
    if not whole and line_count(sample) < 2:  # a very wide header
        sample = blob[: MAX_HEADER_BYTES + 1]
    return _open(
        source,
        Path(source),
        head,
        blob,
        sniff_csv=lambda o: _sniff(
            source, sniff_sample(source, sample), whole, lambda: io.BytesIO(blob), o
        ),
        tenant=tenant,
        timezone_name=timezone,
        default_minutes=assume_utc_offset_minutes,
        columns=columns,
    )

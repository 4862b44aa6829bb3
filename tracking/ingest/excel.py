"""Workbooks: .xlsx, .xlsm, .xls, .xlsb and .ods orders exports, read natively (python-calamine).

Cells come typed: a date cell is a `datetime`, a number a `float`. `cell_text` turns a cell into
the text the row reader parses, so a date is read in the export's time zone like a CSV date and
an id Excel stored as a number comes back as its exact digits ("1234567890123456", never
"1.23457E+15"). A number too large for a float to hold every digit (2**53 and up) has lost its
last digits inside the workbook: the row reader rejects it and says so.

The header row may sit below title rows, and the orders may be on any sheet: every worksheet's
first rows are scanned and the sheet whose header row names the most needed fields wins.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final

import python_calamine

from tracking.core.exceptions import InputError
from tracking.ingest.dates import date_text
from tracking.ingest.headers import _REQUIRED, columns_for, missing_columns, no_tracking
from tracking.ingest.model import _HEADER_SCAN_RECORDS, _LEARN_RECORDS
from tracking.ingest.profiles import ExportProfile
from tracking.ingest.sniff import _Layout, layout_for

WORKBOOK_SUFFIXES: Final = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")

MAX_WORKBOOK_BYTES: Final = 256 * 1024 * 1024
"""A workbook is decompressed whole into memory; a bigger one is refused with advice."""

EXACT_FLOAT_LIMIT: Final = 2**53
"""From here on a float cannot hold every integer: an id stored as such a number lost digits."""

_ZIP: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A password-protected .xlsx is an OLE2 container holding an "EncryptedPackage" stream
# (MS-OFFCRYPTO 2.3.4.4); the stream name is stored in UTF-16LE in the container's directory.
_ENCRYPTED: Final = "EncryptedPackage".encode("utf-16-le")
_SCAN_ROWS: Final = 2 * _HEADER_SCAN_RECORDS + 2


def workbook_kind(head: bytes, name: str) -> str | None:
    """ "xlsx", "xls", "ods"... when the first bytes are a workbook; None for anything else."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if head.startswith(_ZIP):
        if b"opendocument.spreadsheet" in head:
            return "ods"
        if b"xl/" in head or b"[Content_Types].xml" in head:
            return suffix if suffix in ("xlsx", "xlsm", "xlsb") else "xlsx"
        return None
    if head.startswith(_OLE2):
        return "xls"
    return None


def _problem(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def open_workbook(name: str, kind: str, source: Path | bytes) -> python_calamine.CalamineWorkbook:
    """The workbook, or InputError with one line naming the file and what is wrong."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size > MAX_WORKBOOK_BYTES:
        raise InputError(
            f"{name}: the workbook is {size / 1_048_576:,.0f} MB; workbooks up to"
            f" {MAX_WORKBOOK_BYTES // 1_048_576} MB are read (Excel itself stops at 1,048,576"
            " rows): export a shorter date range, or export as CSV (read at any size)"
        )
    if kind == "xls" and _encrypted(source):
        raise _password(name)
    try:
        if isinstance(source, bytes):
            return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(source))
        return python_calamine.CalamineWorkbook.from_path(str(source))
    except python_calamine.PasswordError:
        raise _password(name) from None
    except (python_calamine.CalamineError, ValueError, OSError) as exc:
        raise InputError(
            f"{name}: the workbook cannot be read ({_problem(exc)}): it is damaged or not"
            f" really a .{kind} file; open it in Excel, save it again and retry"
        ) from None


def _password(name: str) -> InputError:
    return InputError(
        f"{name}: the workbook is password-protected; open it in Excel, remove the password"
        " (File > Info > Protect Workbook > Encrypt with Password, clear it) and save it again"
    )


def _encrypted(source: Path | bytes) -> bool:
    if isinstance(source, bytes):
        return _ENCRYPTED in source
    with source.open("rb") as stream:
        tail = b""
        while chunk := stream.read(1 << 20):
            if _ENCRYPTED in tail + chunk:
                return True
            tail = chunk[-len(_ENCRYPTED) :]
    return False


def cell_text(value: object) -> str:
    """A typed cell as the text the row reader parses (dates ISO, integral numbers as digits)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is float:
        number: float = value  # type: ignore[assignment]
        if number.is_integer() and abs(number) < 1e21:
            return str(int(number))
        return repr(number)
    if kind is datetime or kind is date:
        return date_text(value)  # type: ignore[arg-type]
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if value is None:
        return ""
    return str(value)  # int, time of day, duration


@dataclass(slots=True)
class Sheet:
    """The chosen sheet and its layout; `data` is the loaded sheet, kept for one pass."""

    layout: _Layout
    data: python_calamine.CalamineSheet | None


def find_sheet(
    name: str, workbook: python_calamine.CalamineWorkbook, overrides: Mapping[str, str]
) -> Sheet:
    """The worksheet whose header row names the most needed fields (then the most fields)."""
    best: tuple[tuple[int, int, int], str, python_calamine.CalamineSheet, int, list[str]] | None
    best = None
    best_map: dict[str, int] = {}
    best_profile: ExportProfile | None = None
    first_cells: list[str] = []
    names = [
        m.name for m in workbook.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet
    ]
    if not names:
        raise InputError(f"{name}: the workbook has no worksheets")
    empty = True
    for position, sheet_name in enumerate(names):
        try:
            sheet = workbook.get_sheet_by_name(sheet_name)
        except (python_calamine.CalamineError, ValueError) as exc:
            raise InputError(
                f"{name}: sheet {sheet_name!r} cannot be read ({_problem(exc)}); the workbook"
                " is damaged: open it in Excel, save it again and retry"
            ) from None
        non_blank = 0
        for index, cells in enumerate(_head(sheet)):
            record = [cell_text(c) for c in cells]
            if not any(c.strip() for c in record):
                continue
            empty = False
            non_blank += 1
            if non_blank > _HEADER_SCAN_RECORDS:
                break
            if not first_cells:
                first_cells = record
            mapping, profile = columns_for(record, overrides)
            if profile is not None and profile.no_tracking:
                raise no_tracking(name, profile)
            if not mapping:
                continue
            score = (sum(1 for f in _REQUIRED if f in mapping), len(mapping), -position)
            if best is None or score > best[0]:
                best = (score, sheet_name, sheet, index, record)
                best_map, best_profile = mapping, profile
    if empty:
        raise InputError(f"{name}: the workbook is empty (no sheet has any cell filled in)")
    if best is None or best[0][0] < len(_REQUIRED):
        found = best[4] if best is not None else first_cells
        sheets = ", ".join(repr(n) for n in names)
        raise missing_columns(name, found, best_map, overrides, where=f" on any sheet ({sheets})")
    _, sheet_name, sheet, index, header = best
    start_row = sheet.start[0] if sheet.start else 0
    records = [[cell_text(c) for c in cells] for cells in _rows(sheet, index + 1, _LEARN_RECORDS)]
    layout = layout_for(
        header,
        best_map,
        records,
        profile=best_profile,
        encoding="",
        lossy=False,
        delimiter="",
        header_row=start_row + index + 1,
        skip_records=index + 1,
        row_shift=start_row,
        sheet=sheet_name,
    )
    return Sheet(layout=layout, data=sheet)


def _head(sheet: python_calamine.CalamineSheet) -> list[Sequence[object]]:
    return _rows(sheet, 0, _SCAN_ROWS)


def _rows(sheet: python_calamine.CalamineSheet, skip: int, count: int) -> list[Sequence[object]]:
    rows: list[Sequence[object]] = []
    for n, cells in enumerate(sheet.iter_rows()):
        if n < skip:
            continue
        if len(rows) >= count:
            break
        rows.append(cells)
    return rows

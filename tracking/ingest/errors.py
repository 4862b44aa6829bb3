"""The errors file: rejected rows as a CSV a seller opens in Excel."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from tracking.ingest.model import RejectedRow

_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(text: str) -> str:
    """A cell Excel shows as text: formulas neutralized with a leading apostrophe."""
    text = text.replace("\x00", "\u2400")
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_errors(path: Path, rejected: Iterable[RejectedRow]) -> int:
    """Write rejected rows as CSV (UTF-8 with BOM, for Excel): row,column,value,reason.

    Rows read from a workbook get a first column `sheet` (the sheet they are on). Cells that
    Excel would run as formulas (starting with =, +, -, @) get a leading apostrophe. Returns
    how many rows were written.
    """
    count = 0
    rows = iter(rejected)
    first = next(rows, None)
    with Path(path).open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        sheets = first is not None and bool(first.sheet)
        writer.writerow((("sheet",) if sheets else ()) + ("row", "column", "value", "reason"))
        for row in itertools.chain((first,) if first is not None else (), rows):
            writer.writerow(
                ((_safe_cell(row.sheet),) if sheets else ())
                + (
                    row.row_number,
                    _safe_cell(row.column),
                    _safe_cell(row.value),
                    _safe_cell(row.reason),
                )
            )
            count += 1
    return count

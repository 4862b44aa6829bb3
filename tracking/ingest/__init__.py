"""Read a marketplace or ERP orders export (CSV or Excel) into validated order rows (design §9).

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

Along the reader's seams: `model` (the rows yielded), `sniff` (what the bytes are, encoding,
separator, header row), `headers` (header names -> fields), `dates`, `values` (money,
currency, tracking numbers), `carriers` (names of carriers in exports), `excel` (workbooks)
and `errors` (the errors file). A new marketplace or ERP export needs no code: a data file in
`profiles/data/` (see `tracking.ingest.profiles`).
"""

from __future__ import annotations

from tracking.ingest.carriers import CARRIER_ALIASES, carrier_code
from tracking.ingest.errors import write_errors
from tracking.ingest.model import MAX_FIELD_CHARS, SAMPLE_BYTES, OrderRow, ParcelRow, RejectedRow
from tracking.ingest.orders_file import OrdersFile, open_orders, read_orders_bytes

__all__ = [
    "CARRIER_ALIASES",
    "MAX_FIELD_CHARS",
    "SAMPLE_BYTES",
    "OrderRow",
    "OrdersFile",
    "ParcelRow",
    "RejectedRow",
    "carrier_code",
    "open_orders",
    "read_orders_bytes",
    "write_errors",
]

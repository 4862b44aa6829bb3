"""Rows the reader yields, and the limits every part of it shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

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
    parcel_group: str = ""  # "merged" (an ERP merge flag) or "package:<id>"; "" if not said


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that cannot be used, and why (in words a seller understands)."""

    row_number: int
    column: str
    value: str
    reason: str
    sheet: str = ""  # the workbook sheet the row is on; "" for a CSV file


@dataclass(frozen=True, slots=True)
class ParcelRow:
    """Another parcel of an order already read (a split order: another tracking number).

    `order` is the row as read, with this parcel's tracking number and carrier; the order's
    other facts are its first row's (rows that disagree are rejected instead).
    """

    order: OrderRow

    @property
    def row_number(self) -> int:
        return self.order.row_number

"""Rows the reader yields, and the limits every part of it shares."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from inspect import signature
from typing import TYPE_CHECKING, Final

SAMPLE_BYTES: Final = 64 * 1024
"""How much of a file is read to sniff its encoding, separator and header row."""

MAX_FIELD_CHARS: Final = 10_000
"""A used field longer than this rejects its row (no real order id or city is that long)."""

REJECT_KINDS: Final = (
    "csv_unreadable",
    "number_too_large",
    "field_count",
    "too_long",
    "nul_byte",
    "bad_encoding",
    "order_id_empty",
    "tracking_invalid",
    "order_date_empty",
    "order_date_invalid",
    "country_empty",
    "country_unknown",
    "ship_date_invalid",
    "currency_unknown",
    "order_value_invalid",
    "value_currency_mismatch",
    "two_dates",
    "two_destinations",
)
"""Every `RejectedRow.kind` the reader gives (the console explains each in its language)."""

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


class _Unfrozen:
    """`OrderRow`'s slots without the frozen guard, for the reader's hot loop: a frozen
    dataclass's `__init__` stores each field through `object.__setattr__`, which costs more
    than all the rest of building a row (about 3 µs of 15 fields); plain stores cost a sixth.
    Its `__init__` fills the slots, then makes the object the `OrderRow` it is (same slots, so
    Python allows assigning `__class__`): from then on it is frozen like any other."""

    __slots__ = tuple(f.name for f in fields(OrderRow))

    def __init__(
        self,
        row_number: int,
        tenant: str,
        order_id: str,
        marketplace: str,
        order_date: datetime,
        ship_date: datetime | None,
        tracking_number: str,
        carrier: str | None,
        carrier_declared: str,
        destination_country: str,
        destination_postal_code: str,
        destination_city: str,
        order_value: Decimal | None,
        currency: str,
        parcel_group: str = "",
    ) -> None:
        self.row_number = row_number
        self.tenant = tenant
        self.order_id = order_id
        self.marketplace = marketplace
        self.order_date = order_date
        self.ship_date = ship_date
        self.tracking_number = tracking_number
        self.carrier = carrier
        self.carrier_declared = carrier_declared
        self.destination_country = destination_country
        self.destination_postal_code = destination_postal_code
        self.destination_city = destination_city
        self.order_value = order_value
        self.currency = currency
        self.parcel_group = parcel_group
        self.__class__ = OrderRow  # type: ignore[assignment]


if list(signature(_Unfrozen.__init__).parameters)[1:] != list(_Unfrozen.__slots__):  # in step
    raise TypeError("_Unfrozen.__init__ must take OrderRow's fields, in their order")

if TYPE_CHECKING:
    new_order_row = OrderRow
    """`OrderRow(...)` (positional, the same fields), built at a fraction of the cost."""
else:
    new_order_row = _Unfrozen


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that cannot be used, and why (in words a seller understands)."""

    row_number: int
    column: str
    value: str
    reason: str
    sheet: str = ""  # the workbook sheet the row is on; "" for a CSV file
    # What is wrong, as a stable word (`REJECT_KINDS`), for a page that explains it in its own
    # language; `reason` stays the English sentence the CLI and the errors file show.
    kind: str = ""


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

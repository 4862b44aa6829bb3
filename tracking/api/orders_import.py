"""Orders imported through the API: a JSON list or an uploaded file, read by the command
line's rules (`tracking.ingest`) and stored for the caller's tenant only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from carriers.base import CarrierInfo
from tracking.api.models import AcceptedRow, ImportResult, OrderIn, RejectedRow
from tracking.fetch.orders import order_row
from tracking.ingest import ParcelRow, read_orders_bytes
from tracking.ingest import RejectedRow as IngestRejected
from tracking.store.engine import transaction
from tracking.store.orders import upsert_orders
from tracking.store.parcels import store_parcels

__all__ = ["import_orders", "no_orders", "orders_csv"]

_CHUNK = 1000
_CSV_COLUMNS = tuple(OrderIn.model_fields)


def orders_csv(items: Sequence[OrderIn]) -> bytes:
    """A JSON import as the CSV the command line reads (one row per item, all columns)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    for item in items:
        writer.writerow(["" if (v := getattr(item, c)) is None else str(v) for c in _CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8")


def no_orders() -> ImportResult:
    """The result of an import with no rows at all (nothing read, nothing stored)."""
    return ImportResult(
        rows_read=0, rows_accepted=0, rows_rejected=0, accepted=[], rejected=[], truncated=False
    )


@dataclass
class _Import:
    listed: int
    result: ImportResult = field(default_factory=no_orders)

    def accept(self, row: AcceptedRow) -> None:
        self.result.rows_accepted += 1
        self._list(self.result.accepted, row)

    def reject(self, row: RejectedRow) -> None:
        self.result.rows_rejected += 1
        self._list(self.result.rejected, row)

    def _list(self, rows: list[Any], row: Any) -> None:
        """`row` listed while the list is shorter than `listed`; else the result truncated."""
        if len(rows) < self.listed:
            rows.append(row)
        else:
            self.result.truncated = True


def import_orders(
    engine: Engine,
    *,
    tenant: str,
    data: bytes,
    source: str,
    carriers: Mapping[str, CarrierInfo],
    from_json: bool = False,
    listed: int = 1000,
    timezone: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> ImportResult:
    """Store the usable rows of an orders CSV for `tenant`, by the command line's rules.

    Rows whose store column names another tenant are rejected. With `from_json`, `data`
    is `orders_csv` output and each row also carries its item's index. At most `listed`
    accepted and rejected rows are listed (the counts are always complete).
    Raises `InputError` when the file cannot be used at all (nothing is written then).
    """
    orders_file = read_orders_bytes(
        data, source=source, tenant=tenant, timezone=timezone, columns=columns
    )
    first_row = orders_file.header_row + 1
    state = _Import(listed=listed)
    now = datetime.now(UTC)
    chunk: list[dict[str, Any]] = []
    keys: list[tuple[str, str, str]] = []

    def flush() -> None:
        if chunk:
            with transaction(engine) as connection:
                upsert_orders(connection, orders=chunk, shipments=keys)
            chunk.clear()
            keys.clear()

    parcels: list[dict[str, Any]] = []
    for item in orders_file:
        state.result.rows_read += 1
        index = item.row_number - first_row if from_json else None
        if isinstance(item, ParcelRow):  # another parcel of a split order: stored at the end
            if item.order.tenant == tenant:
                parcels.append(
                    order_row(item.order, carriers=carriers, run_id="", now=now, source=source)
                )
            continue
        if isinstance(item, IngestRejected):
            state.reject(
                RejectedRow(
                    row=item.row_number,
                    index=index,
                    column=item.column,
                    value=item.value,
                    reason=item.reason,
                )
            )
            continue
        if item.tenant != tenant:
            state.reject(
                RejectedRow(
                    row=item.row_number,
                    index=index,
                    column="store",
                    value=item.tenant[:200],
                    reason=(
                        f"the store column names {item.tenant!r}, but this API key belongs to "
                        f"{tenant!r}; import each store's orders with its own key"
                    ),
                )
            )
            continue
        mapping = order_row(item, carriers=carriers, run_id="", now=now, source=source)
        mapping["last_run_id"] = None
        chunk.append(mapping)
        if mapping["_shipment_key"] is not None:
            keys.append(mapping["_shipment_key"])
        state.accept(
            AcceptedRow(
                row=item.row_number,
                index=index,
                order_id=item.order_id,
                carrier=mapping["carrier"],
                carrier_source=mapping["carrier_source"],
            )
        )
        if len(chunk) >= _CHUNK:
            flush()
    flush()
    if parcels:
        with transaction(engine) as connection:
            state.result.parcels = store_parcels(connection, parcels)
    state.result.rows_read = orders_file.rows_read
    state.result.orders_read = orders_file.orders_read
    state.result.item_rows = orders_file.item_rows
    state.result.profile = orders_file.profile.key if orders_file.profile is not None else ""
    return state.result

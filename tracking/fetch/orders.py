"""Orders in: rows of an orders file stored as orders and shipments, each with its carrier.

The first step of a pull (`tracking.fetch.pipeline.pull`): the file is read by
`tracking.ingest`, each row's carrier is chosen (`choose_carrier`: declared, detected or
none) and the orders are stored in chunks (`tracking.store.repository.upsert_orders`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from carriers.base import CarrierInfo
from tracking.core.numbers import detect
from tracking.fetch.report import PullReport
from tracking.ingest import OrderRow, OrdersFile, ParcelRow, RejectedRow, open_orders
from tracking.store.engine import transaction
from tracking.store.orders import upsert_orders
from tracking.store.parcels import store_parcels

__all__ = ["ORDER_CHUNK", "choose_carrier", "describe", "ingest_orders", "order_row"]

ORDER_CHUNK = 1000
"""Orders stored per transaction (and judged per batch)."""


def choose_carrier(row: OrderRow, carriers: Mapping[str, CarrierInfo]) -> tuple[str | None, str]:
    """(carrier code, how it was chosen).

    `declared`: the declared carrier, consistent with the number; `declared_mismatch`: the
    declared carrier, though the number looks like another's; `detected`: none declared;
    `channel_mismatch`: a declared channel we cannot track (e.g. "Joom Logistics") and the
    number belongs to another carrier; `none`: nothing recognizes the number.

    A declared carrier is kept even when the number does not look like one of its numbers
    (the seller may know better); the contradiction becomes a finding, never an override.
    """
    detection = detect(row.tracking_number, carriers)
    if row.carrier is not None and row.carrier in carriers:
        matches = {c.carrier for c in detection.candidates}
        if matches and row.carrier not in matches:
            return row.carrier, "declared_mismatch"
        return row.carrier, "declared"
    if detection.best is not None:
        return detection.best, "channel_mismatch" if row.carrier_declared else "detected"
    return None, "none"


def ingest_orders(
    engine: Engine,
    *,
    path: Path,
    tenant: str,
    run_id: str,
    carriers: Mapping[str, CarrierInfo],
    rejected: list[RejectedRow],
    report: PullReport,
    orders_file: OrdersFile | None = None,
) -> None:
    """Store the orders of `path` (or of `orders_file`, already open) as run `run_id`'s.

    Orders go in chunks of `ORDER_CHUNK`, each with its shipments in one transaction; further
    parcels of split orders at the end. Rejected rows are appended to `rejected`; the counts
    go to `report`.
    """
    orders_file = orders_file or open_orders(path, tenant=tenant)
    chunk: list[dict[str, Any]] = []
    keys: list[tuple[str, str, str]] = []
    parcels: list[dict[str, Any]] = []
    now = datetime.now(UTC)

    def flush() -> None:
        if not chunk:
            return
        with transaction(engine) as connection:
            upsert_orders(connection, orders=chunk, shipments=keys)
        report.orders_stored += len(chunk)
        chunk.clear()
        keys.clear()

    source = str(path)
    for item in orders_file:
        report.rows_read += 1
        if isinstance(item, RejectedRow):
            report.rows_rejected += 1
            rejected.append(item)
            continue
        if isinstance(item, ParcelRow):  # another parcel of a split order: stored at the end
            parcels.append(
                order_row(item.order, carriers=carriers, run_id=run_id, now=now, source=source)
            )
            continue
        chunk.append(order_row(item, carriers=carriers, run_id=run_id, now=now, source=source))
        key = chunk[-1]["_shipment_key"]
        if key is not None:
            keys.append(key)
        if len(chunk) >= ORDER_CHUNK:
            flush()
    flush()
    if parcels:
        with transaction(engine) as connection:
            report.parcels_stored = store_parcels(connection, parcels)
    report.rows_read = orders_file.rows_read
    report.orders_read = orders_file.orders_read
    report.item_rows = orders_file.item_rows
    report.source = describe(orders_file)


def describe(orders_file: OrdersFile) -> dict[str, str]:
    """How a file was read, for `pull` output: the export recognized, the sheet, the zone."""
    profile = orders_file.profile
    return {
        "profile": profile.key if profile is not None else "",
        "profile_name": profile.name if profile is not None else "",
        "sheet": orders_file.sheet,
        "timezone": orders_file.timezone,
    }


def order_row(
    row: OrderRow,
    *,
    carriers: Mapping[str, CarrierInfo],
    run_id: str,
    now: datetime,
    source: str,
) -> dict[str, Any]:
    """One order row as `upsert_orders` stores it, with its carrier chosen (`choose_carrier`)
    and its shipment's key (`_shipment_key`: tenant, carrier, number; None without a carrier).
    """
    carrier, how = choose_carrier(row, carriers)
    return {
        "tenant": row.tenant,
        "order_id": row.order_id,
        "marketplace": row.marketplace,
        "order_date": row.order_date,
        "ship_date": row.ship_date,
        "tracking_number": row.tracking_number,
        "carrier": carrier,
        "carrier_declared": row.carrier_declared,
        "carrier_source": how,
        "destination_country": row.destination_country,
        "destination_postal_code": row.destination_postal_code,
        "destination_city": row.destination_city,
        "order_value": row.order_value,
        "currency": row.currency,
        "parcel_group": row.parcel_group,
        "source": f"{source}:{row.row_number}"[-1024:],
        "last_run_id": run_id,
        "created_at": now,
        "updated_at": now,
        "_shipment_key": (row.tenant, carrier, row.tracking_number) if carrier else None,
    }

"""The facts the rules judge: what the order says, and what is known about each leg.

The callers (`tracking.store.repository.facts`) build them from stored rows; the rules in
`tracking.judge.rules` and `tracking.judge.validator.evaluate` never read the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = ["OrderFacts", "ShipmentFacts"]


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the order says."""

    order_id: str
    order_date: datetime
    destination_country: str
    carrier: str | None
    carrier_declared: str = ""
    carrier_source: str = "declared"
    order_value: Decimal | None = None
    currency: str = ""
    tenant: str = ""
    tracking_number: str = ""
    destination_postal_code: str = ""
    destination_city: str = ""
    shared_with: tuple[str, ...] = ()
    """Other orders (`tenant/order id`) citing the same tracking number, across all stores."""
    merged_with: tuple[str, ...] = ()
    """Orders of the same store the export puts in this very parcel (merge flag, package id)."""


@dataclass(frozen=True, slots=True)
class ShipmentFacts:
    """What is known about one leg of the order's shipment."""

    carrier: str
    tracking_number: str
    role: str
    state: str  # new | tracking | final | not_found | error
    final: bool
    error_kind: str | None = None
    error_message: str | None = None
    destination_country: str | None = None
    first_fetched_at: datetime | None = None
    last_fetched_at: datetime | None = None
    not_found_since: datetime | None = None

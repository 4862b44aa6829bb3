"""What the sandbox world hands a carrier's renderer: simulated shipments as plain data.

The world that invents these stories lives in `tracking.sandbox.world`; a carrier's
`sandbox.py` only renders them in its wire format, so the types sit here, beside the
renderer contract (`carriers.base.CarrierSandbox`), and carriers never import the world.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tracking.core.domain import Stage

__all__ = ["LAST_MILE", "AskedShipments", "SimEvent", "SimLeg", "SimShipment"]

LAST_MILE = "last_mile"
"""`SimShipment.scenario` of a last-mile leg looked up by its own number."""


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One simulated event: what happened, when (UTC), where, and on which leg."""

    stage: Stage
    at: datetime
    local_offset: int
    country: str | None
    city: str
    variant: int
    leg: str = "origin"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SimLeg:
    """The last-mile leg a multi-leg shipment is handed over to."""

    tracking_number: str
    carrier_name: str
    handed_over_at: datetime


@dataclass(frozen=True, slots=True)
class SimShipment:
    """A simulated shipment as the world knows it at the world's `now`.

    A last-mile leg asked about by its own number has `scenario == LAST_MILE`; while it is
    not handed over yet (`pending`), its carrier does not know it, though the number's
    shape and destination already say whose it will be.
    """

    tracking_number: str
    carrier: str
    scenario: str
    origin_country: str
    destination_country: str
    destination_city: str
    events: tuple[SimEvent, ...]
    final: bool
    last_mile: SimLeg | None = None
    pending: bool = False

    @property
    def stages(self) -> tuple[Stage, ...]:
        return tuple(e.stage for e in self.events)

    @property
    def is_leg(self) -> bool:
        """Whether this is a last-mile leg looked up by its own number."""
        return self.scenario == LAST_MILE


AskedShipments = Sequence[tuple[str, SimShipment | None]]
"""What a renderer is handed: each number asked for, with its shipment (None: unknown)."""

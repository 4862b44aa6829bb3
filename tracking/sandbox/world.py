"""The sandbox's deterministic simulated world: a tracking number decides its whole story.

Every carrier's `sandbox.py` renders a `SimShipment` into that carrier's wire format, and
its `parse.py` must read the same stages back. The world is anchored to a clock (`now`):
events later than `now` have not happened yet, so a pinned clock makes every run
reproducible.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from carriers.kit.simulated import LAST_MILE, SimEvent, SimLeg, SimShipment
from tracking.core.countries import CHINA_OFFSET
from tracking.core.domain import Stage

__all__ = [
    "DESTINATIONS",
    "SCENARIOS",
    "SimEvent",
    "SimLeg",
    "SimShipment",
    "World",
    "last_mile_number",
    "number_for",
    "parent_of",
    "scenario_of",
]

T = TypeVar("T")

SCENARIOS: tuple[str, ...] = (
    "delivered",
    "multi_leg",
    "in_transit",
    "customs_hold",
    "returned",
    "lost",
    "pickup_point",
    "not_found",
    "no_handover",
)
"""Every scenario the world knows, in the order of `_WEIGHTS`."""

_WEIGHTS: tuple[int, ...] = (620, 80, 80, 30, 40, 30, 40, 50, 30)  # per mille


@dataclass(frozen=True, slots=True)
class Destination:
    """A destination country: its standard offset and a few cities."""

    country: str
    offset_minutes: int
    cities: tuple[str, ...]


DESTINATIONS: tuple[Destination, ...] = (
    Destination("RU", 180, ("Moscow", "Saint Petersburg", "Kazan", "Novosibirsk")),
    Destination("US", -300, ("New York", "Newark", "Philadelphia")),
    Destination("IL", 120, ("Tel Aviv", "Haifa", "Jerusalem")),
    Destination("BR", -180, ("Sao Paulo", "Curitiba", "Campinas")),
    Destination("FR", 60, ("Paris", "Lyon", "Marseille")),
    Destination("DE", 60, ("Frankfurt", "Leipzig", "Berlin")),
    Destination("ES", 60, ("Madrid", "Barcelona", "Valencia")),
    Destination("PL", 60, ("Warsaw", "Krakow", "Poznan")),
    Destination("GB", 0, ("London", "Coventry", "Manchester")),
    Destination("UA", 120, ("Kyiv", "Lviv", "Odesa")),
    Destination("KZ", 300, ("Almaty", "Astana")),
    Destination("CL", -180, ("Santiago", "Valparaiso")),
)
_DEST_WEIGHTS: tuple[int, ...] = (25, 15, 8, 8, 8, 8, 6, 6, 6, 4, 3, 3)

ORIGIN_COUNTRY = "CN"
ORIGIN_OFFSET = CHINA_OFFSET
ORIGIN_CITIES: tuple[str, ...] = ("Shenzhen", "Guangzhou", "Yiwu", "Dongguan", "Hangzhou")
TRANSIT_HUBS: tuple[tuple[str, str, int], ...] = (
    ("Hong Kong", "HK", 480),
    ("Almaty", "KZ", 300),
    ("Liege", "BE", 60),
    ("Dubai", "AE", 240),
)


def _digest(number: str, salt: str = "") -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}|{number}".encode()).digest()[:8], "big")


def _weighted(choices: Sequence[T], weights: Sequence[int], point: int) -> T:
    """The choice whose share of the weights `point` falls in (the first one past the end)."""
    for choice, weight in zip(choices, weights, strict=True):
        if point < weight:
            return choice
        point -= weight
    return choices[0]


def scenario_of(number: str) -> str:
    """The scenario the world gives `number` (deterministic)."""
    return _weighted(SCENARIOS, _WEIGHTS, _digest(number, "scenario") % 1000)


def _destination_of(number: str) -> Destination:
    point = _digest(number, "destination") % sum(_DEST_WEIGHTS)
    return _weighted(DESTINATIONS, _DEST_WEIGHTS, point)


def _order_date(number: str) -> datetime:
    # Orders are placed 1-3 days before the label is handed over.
    handover = _handover_anchor(number)
    return handover - timedelta(hours=24 + _digest(number, "order") % 48)


_AGE_DAYS: dict[str, tuple[int, int]] = {
    "delivered": (24, 85),
    "multi_leg": (24, 85),
    "in_transit": (1, 4),  # the fastest full journey takes about 4.5 days
    "customs_hold": (20, 70),
    "returned": (45, 85),
    "lost": (30, 85),
    "pickup_point": (22, 70),
    "not_found": (5, 85),
    "no_handover": (10, 85),
}


def _handover_anchor(number: str) -> datetime:
    """Handover time as an offset back from the world's epoch day (see `World.shipment`)."""
    lo, hi = _AGE_DAYS[scenario_of(number)]
    age_minutes = (lo * 1440) + _digest(number, "age") % ((hi - lo) * 1440)
    return _EPOCH_PLACEHOLDER - timedelta(minutes=age_minutes)


# Ages are computed against a fixed placeholder and shifted onto the world's clock, so that
# `order_date` (needed by the CSV generator) and `World.shipment` agree for any `now`.
_EPOCH_PLACEHOLDER = datetime(2000, 1, 1, tzinfo=UTC)


_LAST_MILE_CARRIERS: dict[str, str] = {
    "RU": "Russian Post",
    "US": "USPS",
    "IL": "Israel Post",
    "BR": "Correios",
    "FR": "La Poste Colissimo",
    "DE": "Deutsche Post DHL",
    "ES": "Correos",
    "PL": "Poczta Polska",
    "GB": "Royal Mail",
    "UA": "Ukrposhta",
    "KZ": "Kazpost",
    "CL": "Correos Chile",
}


class World:
    """The simulated world seen at `now`.

    **Parameters:**

    * **now** - the world's clock; events after it have not happened yet.
    """

    def __init__(self, *, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("World needs an aware `now`")
        self.now = now.astimezone(UTC)
        # Shift the placeholder epoch onto the world's day so ages are relative to today.
        self._shift = self.now.replace(hour=0, minute=0, second=0, microsecond=0) - (
            _EPOCH_PLACEHOLDER
        )

    def destination(self, number: str) -> str:
        """The ISO2 destination country the world ships `number` to."""
        return _destination_of(number).country

    def order_date(self, number: str) -> datetime:
        """When the order behind `number` was placed, on this world's clock."""
        return _order_date(number) + self._shift

    def leg_shipment(self, carrier: str, number: str) -> SimShipment | None:
        """The last-mile leg `number` as a last-mile tracker knows it, or None.

        None when `number` is no leg the world assigned; `pending` (and no events) while
        the parent is not handed over yet. Its events are the parent's last-mile events, so
        both legs tell one story.
        """
        parent_number = parent_of(number)
        if parent_number is None:
            return None
        parent = self.shipment(carrier, parent_number)
        if parent is None:
            return None
        return replace(
            parent,
            tracking_number=number,
            scenario=LAST_MILE,
            events=tuple(e for e in parent.events if e.leg == "last_mile"),
            last_mile=None,
            pending=parent.last_mile is None,  # not handed over yet at the world's `now`
        )

    def lookup(self, carrier: str, number: str) -> SimShipment | None:
        """What `carrier` knows of `number`: a last-mile leg by its own number, else the
        shipment, else None."""
        if parent_of(number) is not None:
            return self.leg_shipment(carrier, number)
        return self.shipment(carrier, number)

    def shipment(self, carrier: str, number: str) -> SimShipment | None:
        """The shipment behind `number` as `carrier` knows it, or None if unknown."""
        scenario = scenario_of(number)
        if scenario == "not_found":
            return None
        dest = _destination_of(number)
        rng = random.Random(_digest(number, "timeline"))
        handover = _handover_anchor(number) + self._shift
        events, last_mile, city = _timeline(number, scenario, dest, handover, rng)
        visible = tuple(e for e in events if e.at <= self.now)
        final = bool(visible) and visible[-1].stage in (Stage.DELIVERED, Stage.RETURNED)
        leg = last_mile if last_mile and last_mile.handed_over_at <= self.now else None
        return SimShipment(
            tracking_number=number,
            carrier=carrier,
            scenario=scenario,
            origin_country=ORIGIN_COUNTRY,
            destination_country=dest.country,
            destination_city=city,
            events=visible,
            final=final,
            last_mile=leg,
        )


def _timeline(
    number: str,
    scenario: str,
    dest: Destination,
    handover: datetime,
    rng: random.Random,
) -> tuple[list[SimEvent], SimLeg | None, str]:
    """The shipment's whole story, its last-mile leg, and the destination city."""
    origin_city = rng.choice(ORIGIN_CITIES)
    hub_city, hub_country, hub_offset = rng.choice(TRANSIT_HUBS)
    dest_city = rng.choice(dest.cities)
    events: list[SimEvent] = []
    clock = handover

    def add(
        stage: Stage,
        hours: float,
        *,
        where: str = "origin",
        detail: str = "",
        leg: str = "origin",
    ) -> None:
        nonlocal clock
        clock = clock + timedelta(minutes=int(hours * 60) + rng.randint(0, 59))
        if where == "origin":
            country, city, offset = ORIGIN_COUNTRY, origin_city, ORIGIN_OFFSET
        elif where == "hub":
            country, city, offset = hub_country, hub_city, hub_offset
        else:
            country, city, offset = dest.country, dest_city, dest.offset_minutes
        events.append(
            SimEvent(
                stage=stage,
                at=clock.replace(second=rng.randint(0, 59), microsecond=0),
                local_offset=offset,
                country=country,
                city=city,
                variant=rng.randint(0, 9),
                leg=leg,
                detail=detail,
            )
        )

    clock = handover - timedelta(hours=rng.randint(6, 30))
    add(Stage.INFO_RECEIVED, 0)
    if scenario == "no_handover":
        return events, None, dest_city
    clock = handover
    add(Stage.PICKED_UP, 0)
    add(Stage.ORIGIN_FACILITY, rng.uniform(3, 10))
    add(Stage.EXPORT_CUSTOMS, rng.uniform(20, 40))
    add(Stage.DEPARTED_ORIGIN, rng.uniform(12, 30))
    add(Stage.IN_TRANSIT, rng.uniform(8, 20), where="hub")
    if scenario == "lost":
        add(Stage.EXCEPTION, rng.uniform(200, 400), where="hub", detail="lost")
        return events, None, dest_city
    add(Stage.ARRIVED_DESTINATION, rng.uniform(10, 40), where="dest")
    add(Stage.IMPORT_CUSTOMS, rng.uniform(6, 30), where="dest")
    if scenario == "customs_hold":
        add(Stage.EXCEPTION, rng.uniform(24, 72), where="dest", detail="customs_held")
        return events, None, dest_city
    last_mile: SimLeg | None = None
    leg = "origin"
    if scenario == "multi_leg":
        last_mile = SimLeg(
            tracking_number=last_mile_number(number),
            carrier_name=_LAST_MILE_CARRIERS[dest.country],
            handed_over_at=clock + timedelta(hours=6),
        )
        leg = "last_mile"
    add(Stage.DESTINATION_FACILITY, rng.uniform(24, 96), where="dest", leg=leg)
    if scenario == "pickup_point":
        add(Stage.AVAILABLE_FOR_PICKUP, rng.uniform(24, 72), where="dest", leg=leg)
        return events, last_mile, dest_city
    add(Stage.OUT_FOR_DELIVERY, rng.uniform(24, 120), where="dest", leg=leg)
    if scenario == "returned":
        add(Stage.DELIVERY_FAILED, rng.uniform(4, 10), where="dest", leg=leg)
        add(Stage.RETURNING, rng.uniform(120, 240), where="dest", leg=leg)
        add(Stage.RETURNED, rng.uniform(300, 500), where="origin", leg=leg)
        return events, last_mile, dest_city
    add(Stage.DELIVERED, rng.uniform(2, 9), where="dest", leg=leg)
    return events, last_mile, dest_city


_LEG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def last_mile_number(parent: str) -> str:
    """The last-mile number the world assigns at hand-over: a long domestic-style number.

    It encodes the parent number reversibly, so a sandbox asked about the leg alone (a
    refresh in a new process) can tell which shipment it belongs to.
    """
    value = 0
    for char in parent.upper():
        value = value * 37 + _LEG_ALPHABET.index(char) + 1
    return f"9{value}"


def parent_of(number: str) -> str | None:
    """The parent number a world last-mile number was assigned for, or None."""
    if len(number) < 12 or not number.isdigit() or not number.startswith("9"):
        return None
    value = int(number[1:])
    chars: list[str] = []
    while value:
        value, digit = divmod(value, 37)
        if digit == 0:
            return None
        chars.append(_LEG_ALPHABET[digit - 1])
    parent = "".join(reversed(chars))
    if len(parent) < 8 or scenario_of(parent) != "multi_leg" or last_mile_number(parent) != number:
        return None
    return parent


def number_for(
    make_number: Callable[[int], str],
    scenario: str,
    index: int = 0,
) -> str:
    """The `index`-th number (in `make_number`'s format) that the world gives `scenario`."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    found = -1
    for serial in range(10_000_000):
        candidate = make_number(serial)
        if scenario_of(candidate) == scenario:
            found += 1
            if found == index:
                return candidate
    raise LookupError(f"no number found for scenario {scenario!r}")

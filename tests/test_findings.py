"""Every consistency finding (design §14): its code, severity and evidence pointers.

The pure validator is fed facts built here; the cross-order checks and the finding history
run on a real database (SQLite and PostgreSQL); one end-to-end pull against the sandbox has
two orders sharing a number and one order with a wrong destination.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import tests.test_pull as sandbox
from tracking.core.domain import (
    CarrierFailure,
    ErrorKind,
    Exchange,
    NumberResult,
    ParsedEvent,
    Stage,
    TimeSource,
    TrackResult,
)
from tracking.core.numbers import s10_number
from tracking.judge.findings import CATALOGUE, finding, redact_other_stores
from tracking.judge.policies import POLICIES
from tracking.judge.validator import OrderFacts, Policy, ShipmentFacts, Verdict, evaluate
from tracking.read.history import finding_histories, finding_history
from tracking.read.views import EventView, FindingView
from tracking.store.answers import store_results
from tracking.store.engine import transaction
from tracking.store.isolation import set_group
from tracking.store.orders import upsert_orders
from tracking.store.verdicts import recompute_verdicts

ORDER_DATE = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
NUMBER = "LP00123456789012"
DEFAULT = POLICIES["default"]


def sha(stage: str, day: float) -> str:
    return hashlib.sha256(f"{stage}@{day}".encode()).hexdigest()


def ev(
    stage: str,
    day: float,
    *,
    country: str | None = None,
    location: str = "",
    source: str = "explicit",
) -> EventView:
    """An event `day` days after the order, from its own exchange (`sha(stage, day)`)."""
    return EventView(
        stage=stage,
        code=stage.upper(),
        description=f"{stage} text",
        occurred_at=ORDER_DATE + timedelta(days=day),
        local_offset=480,
        time_source=source,
        location=location,
        country=country,
        carrier="cainiao",
        tracking_number=NUMBER,
        exchange_sha256=sha(stage, day),
    )


def ref(stage: str, day: float) -> str:
    return f"exchange:{sha(stage, day)}"


def trip(dest: str = "RU", *, delivered_day: float = 12, location: str = "") -> list[EventView]:
    return [
        ev("picked_up", 1, country="CN"),
        ev("departed_origin", 3, country="CN"),
        ev("arrived_destination", 6, country=dest),
        ev("import_customs", 7, country=dest),
        ev("delivered", delivered_day, country=dest, location=location),
    ]


def order(**changes: Any) -> OrderFacts:
    base = OrderFacts(
        order_id="A1",
        order_date=ORDER_DATE,
        destination_country="RU",
        carrier="cainiao",
        tenant="shop-a",
        tracking_number=NUMBER,
    )
    return dataclasses.replace(base, **changes)


def leg(*, final: bool = True, dest: str | None = "RU", state: str = "tracking") -> ShipmentFacts:
    return ShipmentFacts(
        carrier="cainiao",
        tracking_number=NUMBER,
        role="origin",
        state=state,
        final=final,
        destination_country=dest,
    )


def judge(
    facts: OrderFacts | None = None,
    events: Sequence[EventView] | None = None,
    *,
    shipments: Sequence[ShipmentFacts] | None = None,
    policy: Policy = DEFAULT,
    as_of: datetime = AS_OF,
) -> Verdict:
    return evaluate(
        order=facts or order(),
        shipments=[leg()] if shipments is None else shipments,
        events=trip() if events is None else events,
        as_of=as_of,
        policy=policy,
    )


def only(verdict: Verdict, code: str) -> FindingView:
    found = [f for f in verdict.findings if f.code == code]
    assert len(found) == 1, [f.code for f in verdict.findings]
    return found[0]


# -- a clean order -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "joom", "shopee"])
def test_a_clean_order_has_no_findings_under_every_policy(name: str) -> None:
    facts = order(
        order_value=Decimal("12.50"),
        currency="USD",
        destination_postal_code="101000",
        destination_city="Moscow",
    )
    events = trip(location="Moscow 101000")
    verdict = judge(facts, events, policy=POLICIES[name])
    assert verdict.status == "pass"
    assert verdict.findings == ()
    assert verdict.policy == name


# -- one case per finding, pure ------------------------------------------------------------------

EVENTS_AFTER = [*trip(), ev("out_for_delivery", 14, country="RU"), ev("in_transit", 15)]


CASES: list[Any] = [
    pytest.param(
        order(shared_with=("shop-b/B7", "shop-a/A9")),
        trip(),
        {},
        "number.shared",
        "error",
        ("order:shop-b/B7", "order:shop-a/A9"),
        id="number.shared",
    ),
    pytest.param(
        order(merged_with=("shop-a/A9",)),
        trip(),
        {},
        "number.merged",
        "warning",
        ("order:shop-a/A9",),
        id="number.merged",
    ),
    pytest.param(
        order(tracking_number=s10_number("LX", 12345678, "CN")[:10] + "9CN"),
        trip(),
        {},
        "number.check_digit",
        "warning",
        (),
        id="number.check_digit",
    ),
    pytest.param(
        order(carrier_source="declared_mismatch", carrier_declared="Yanwen"),
        trip(),
        {},
        "carrier.number_mismatch",
        "warning",
        (),
        id="carrier.number_mismatch",
    ),
    pytest.param(
        order(carrier_source="channel_mismatch", carrier_declared="Joom Logistics"),
        trip(),
        {},
        "carrier.channel_mismatch",
        "warning",
        (),
        id="carrier.channel_mismatch",
    ),
    pytest.param(
        order(carrier_declared="YunExpress"),
        [],
        {
            "shipments": [
                dataclasses.replace(
                    leg(final=False, dest=None), state="not_found", carrier="yunexpress"
                ),
                dataclasses.replace(leg(), role="probe", carrier="cainiao"),
            ]
        },
        "carrier.actual_differs",
        "error",
        (),
        id="carrier.actual_differs",
    ),
    pytest.param(
        order(carrier_source="channel_mismatch", carrier_declared="Joom Logistics"),
        trip(),
        {"policy": POLICIES["joom"]},
        "carrier.channel_mismatch",
        "error",
        (),
        id="carrier.channel_mismatch-joom",
    ),
    pytest.param(
        order(destination_country="DE"),
        trip("DE"),
        {"shipments": [leg(dest="RU")]},
        "destination.mismatch",
        "error",
        (),
        id="destination.mismatch",
    ),
    pytest.param(
        order(),
        [*trip()[:4], ev("delivered", 12, country="KZ")],
        {},
        "destination.delivered_elsewhere",
        "error",
        (ref("delivered", 12),),
        id="destination.delivered_elsewhere",
    ),
    pytest.param(
        order(destination_postal_code="101000"),
        trip(location="KAZAN 420000"),
        {},
        "destination.postal_mismatch",
        "warning",
        (ref("delivered", 12),),
        id="destination.postal_mismatch",
    ),
    pytest.param(
        order(destination_city="Moscow"),
        trip(location="Kazan"),
        {},
        "destination.city_mismatch",
        "warning",
        (ref("delivered", 12),),
        id="destination.city_mismatch",
    ),
    pytest.param(
        order(),
        [ev("picked_up", -3, country="CN"), *trip()[1:]],
        {},
        "timeline.before_order",
        "error",
        (ref("picked_up", -3),),
        id="timeline.before_order",
    ),
    pytest.param(
        order(),
        [ev("departed_origin", -9, country="CN"), ev("delivered", -4, country="RU")],
        {},
        "timeline.delivered_before_order",
        "error",
        (ref("delivered", -4),),
        id="timeline.delivered_before_order",
    ),
    pytest.param(
        order(),
        [*trip()[:4], ev("delivered", 2, country="RU"), ev("departed_origin", 3, country="CN")],
        {},
        "timeline.delivered_before_departure",
        "error",
        (ref("delivered", 2), ref("departed_origin", 3)),
        id="timeline.delivered_before_departure",
    ),
    pytest.param(
        order(),
        EVENTS_AFTER,
        {},
        "timeline.events_after_delivery",
        "warning",
        (ref("delivered", 12), ref("out_for_delivery", 14), ref("in_transit", 15)),
        id="timeline.events_after_delivery",
    ),
    pytest.param(
        order(),
        [
            ev("picked_up", 1, country="CN"),
            ev("import_customs", 1.1, country="RU"),
            *trip()[1:],
        ],
        {},
        "timeline.out_of_order",
        "info",
        (ref("import_customs", 1.1),),
        id="timeline.out_of_order",
    ),
    pytest.param(
        order(destination_country="US"),
        [
            ev("departed_origin", 3, country="CN"),
            ev("arrived_destination", 3.2, country="US"),
            ev("delivered", 3.5, country="US"),
        ],
        {"shipments": [leg(dest="US")]},
        "transit.too_fast",
        "warning",
        (ref("departed_origin", 3), ref("delivered", 3.5)),
        id="transit.too_fast",
    ),
    pytest.param(
        order(destination_country="DE"),
        trip("DE", delivered_day=80),
        {"shipments": [leg(dest="DE")]},
        "transit.too_slow",
        "warning",
        (ref("departed_origin", 3), ref("delivered", 80)),
        id="transit.too_slow",
    ),
    pytest.param(
        order(),
        [e for e in trip() if e.stage != "arrived_destination"],
        {},
        "milestone.inferred",
        "warning",
        (ref("import_customs", 7),),
        id="milestone.inferred",
    ),
    pytest.param(
        order(),
        [*trip()[:4], ev("delivered", 12, country="RU", source="unknown")],
        {},
        "milestone.time_unknown",
        "warning",
        (ref("delivered", 12),),
        id="milestone.time_unknown",
    ),
    pytest.param(
        order(),
        trip()[:3],
        {"shipments": [leg(final=False)]},
        "milestone.missing",
        "error",
        (),
        id="milestone.missing",
    ),
    pytest.param(
        order(),
        [],
        {"shipments": []},
        "shipment.no_carrier",
        "error",
        (),
        id="shipment.no_carrier",
    ),
    pytest.param(
        order(),
        [],
        {"shipments": [leg(final=False, dest=None, state="not_found")]},
        "shipment.not_found",
        "error",
        (),
        id="shipment.not_found",
    ),
    pytest.param(
        order(),
        [],
        {
            "shipments": [
                dataclasses.replace(
                    leg(final=False, dest=None, state="not_found"),
                    not_found_since=ORDER_DATE + timedelta(days=2),
                    last_fetched_at=ORDER_DATE + timedelta(days=33),
                )
            ]
        },
        "shipment.given_up",
        "error",
        (),
        id="shipment.given_up",
    ),
    pytest.param(
        order(),
        trip(),
        {"shipments": [dataclasses.replace(leg(), state="error", error_kind="carrier_error")]},
        "shipment.fetch_failed",
        "warning",
        (),
        id="shipment.fetch_failed",
    ),
    pytest.param(
        order(),
        [*trip()[:4], ev("returning", 20, country="RU"), ev("returned", 40, country="CN")],
        {},
        "shipment.returned",
        "error",
        (ref("returned", 40),),
        id="shipment.returned",
    ),
    pytest.param(
        order(),
        [*trip()[:2], ev("exception", 20)],
        {"shipments": [leg(final=False)]},
        "shipment.exception",
        "error",
        (ref("exception", 20),),
        id="shipment.exception",
    ),
    pytest.param(
        order(),
        trip()[:4],
        {"shipments": [leg(final=False)]},
        "shipment.stale",
        "warning",
        (ref("import_customs", 7),),
        id="shipment.stale",
    ),
    pytest.param(
        order(),
        [*trip(), ev("unknown", 13)],
        {},
        "events.unrecognized",
        "info",
        (ref("unknown", 13),),
        id="events.unrecognized",
    ),
    pytest.param(
        order(order_value=Decimal("20"), currency="CNY"),
        trip()[:2],
        {"policy": POLICIES["joom"], "shipments": [leg(final=False)]},
        "policy.origin_tracking_only",
        "info",
        (),
        id="policy.origin_tracking_only",
    ),
    pytest.param(
        order(),
        trip(),
        {"policy": POLICIES["joom"]},
        "policy.value_unknown",
        "info",
        (),
        id="policy.value_unknown",
    ),
    pytest.param(
        order(order_value=Decimal("3"), currency="XAU"),
        trip(),
        {"policy": POLICIES["joom"]},
        "policy.currency_unknown",
        "warning",
        (),
        id="policy.currency_unknown",
    ),
    pytest.param(
        order(order_value=Decimal("30"), currency="USD"),
        [
            ev("departed_origin", 3, country="CN"),
            ev("in_transit", 5),
            ev("arrived_destination", 6),
            ev("delivered", 12),
        ],
        {"policy": POLICIES["joom"], "shipments": [leg(dest=None)]},
        "policy.delivery_country_unproven",
        "warning",
        (ref("delivered", 12),),
        id="policy.delivery_country_unproven",
    ),
]


@pytest.mark.parametrize(("facts", "events", "options", "code", "severity", "evidence"), CASES)
def test_each_finding_has_its_code_severity_and_evidence(
    facts: OrderFacts,
    events: list[EventView],
    options: dict[str, Any],
    code: str,
    severity: str,
    evidence: tuple[str, ...],
) -> None:
    verdict = judge(facts, events, **options)
    found = only(verdict, code)
    assert found.severity == severity
    assert found.evidence == evidence
    assert found.message
    assert found.message_zh
    assert code in CATALOGUE
    if severity == "error":
        assert verdict.status == "fail"


def test_every_catalogued_code_has_a_case() -> None:
    covered = {case.values[3] for case in CASES}
    # order.split is the split-order verdict's, not one order's (tests/test_parcels.py)
    assert covered | {"order.split"} == set(CATALOGUE)


def test_catalogue_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError, match="not in the catalogue"):
        finding("made.up", "x", "x")


# -- details of the individual checks ------------------------------------------------------------


def test_shared_number_message_names_own_orders_and_counts_other_stores() -> None:
    found = only(judge(order(shared_with=("shop-b/B7", "shop-a/A9"))), "number.shared")
    assert "A9 in this store and 1 in another store" in found.message
    assert "B7" not in found.message
    assert "B7" not in found.message_zh
    assert NUMBER in found.message_zh
    assert redact_other_stores(found.evidence, tenant="shop-a") == (
        "order:(another store)",
        "order:shop-a/A9",
    )


def test_shared_number_evidence_is_capped_but_the_count_is_not() -> None:
    others = tuple(f"shop-b/B{i}" for i in range(40))
    found = only(judge(order(shared_with=others)), "number.shared")
    assert len(found.evidence) == 20
    assert "40 other order(s): 40 in other stores" in found.message


def test_valid_s10_number_has_no_check_digit_finding() -> None:
    verdict = judge(order(tracking_number=s10_number("LX", 12345678, "CN")))
    assert verdict.findings == ()


def test_returns_after_delivery_are_reported_as_returns_only() -> None:
    events = [*trip(), ev("returning", 20, country="RU"), ev("returned", 40, country="CN")]
    codes = [f.code for f in judge(events=events).findings]
    assert "shipment.returned" in codes
    assert "timeline.events_after_delivery" not in codes


def test_a_repeated_delivery_scan_is_not_an_event_after_delivery() -> None:
    events = [*trip(), ev("delivered", 12.01, country="RU"), ev("out_for_delivery", 12.005)]
    assert judge(events=events).findings == ()


def test_transit_bounds_depend_on_the_destination() -> None:
    # 50 days is slow for Germany, but within the bounds for Russia.
    de = judge(
        order(destination_country="DE"), trip("DE", delivered_day=53), shipments=[leg(dest="DE")]
    )
    ru = judge(order(), trip(delivered_day=53))
    assert "transit.too_slow" in [f.code for f in de.findings]
    assert ru.findings == ()


@pytest.mark.parametrize(
    ("city", "postal", "location"),
    [
        pytest.param("Moscow", "101000", "MOSCOW 101000", id="same-upper-case"),
        pytest.param("Moscow", "101000", "Москва", id="other-script-not-compared"),
        pytest.param("St. Petersburg", "190000", "Saint Petersburg 190000", id="saint"),
        pytest.param("São Paulo", "01310-100", "SAO PAULO SP 01310100", id="accents-and-dash"),
        pytest.param("Moscow", "101000", "Post office, Russia", id="no-place-named"),
        pytest.param("New York", "10001", "NEW YORK NY 10001-1234", id="zip-plus-four"),
        pytest.param("", "", "Kazan 420000", id="order-knows-neither"),
    ],
)
def test_place_checks_never_guess(city: str, postal: str, location: str) -> None:
    facts = order(destination_city=city, destination_postal_code=postal)
    assert judge(facts, trip(location=location)).findings == ()


def test_place_checks_compare_the_postal_code_of_the_same_shape() -> None:
    facts = order(destination_postal_code="SW1A 1AA", destination_country="GB")
    events = trip("GB", location="LONDON EC1A 1BB")
    found = only(judge(facts, events, shipments=[leg(dest="GB")]), "destination.postal_mismatch")
    assert "EC1A" in found.message


def test_joom_cheap_order_passes_on_departure_alone() -> None:
    facts = order(order_value=Decimal("20"), currency="CNY")  # ~USD 2.82
    verdict = judge(facts, trip()[:2], shipments=[leg(final=False)], policy=POLICIES["joom"])
    assert verdict.status == "pass"
    assert verdict.required == ("departed_origin",)
    assert verdict.missing == []
    note = only(verdict, "policy.origin_tracking_only")
    assert "USD 2.82" in note.message
    assert "built-in default rate of 2025-01-01" in note.message


def test_joom_cheap_order_without_departure_is_pending_then_fails() -> None:
    facts = order(order_value=Decimal("2"), currency="USD")
    events = [ev("picked_up", 1, country="CN")]
    young = judge(
        facts,
        events,
        shipments=[leg(final=False)],
        policy=POLICIES["joom"],
        as_of=ORDER_DATE + timedelta(days=5),
    )
    assert young.status == "pending"
    assert young.missing == ["departed_origin"]
    old = judge(facts, events, shipments=[leg(final=False)], policy=POLICIES["joom"])
    assert old.status == "fail"
    assert only(old, "milestone.missing").message == (
        "Missing milestone(s): departed from the origin country."
    )


@pytest.mark.parametrize(
    ("value", "currency", "required"),
    [
        pytest.param("4.99", "USD", 1, id="usd-below"),
        pytest.param("5.00", "USD", 3, id="usd-at-threshold"),
        # 36 CNY is about USD 4.93 at the market rate, but the built-in rate is rounded up.
        pytest.param("36", "CNY", 3, id="cny-above-with-conservative-rate"),
        pytest.param("35", "CNY", 1, id="cny-below"),
        pytest.param("500", "RUB", 1, id="rub-below"),
        pytest.param("600", "RUB", 3, id="rub-above"),
    ],
)
def test_joom_depth_by_value(value: str, currency: str, required: int) -> None:
    facts = order(order_value=Decimal(value), currency=currency)
    verdict = judge(facts, policy=POLICIES["joom"])
    assert len(verdict.required) == required
    assert verdict.status == "pass"


def test_joom_expensive_order_needs_delivery() -> None:
    facts = order(order_value=Decimal("10"), currency="EUR")
    verdict = judge(facts, trip()[:2], shipments=[leg(final=False)], policy=POLICIES["joom"])
    assert verdict.status == "fail"
    assert verdict.missing == ["arrived_destination", "delivered"]


def test_shopee_is_stale_sooner() -> None:
    events = trip()[:4]
    as_of = ORDER_DATE + timedelta(days=7 + 12)
    default = judge(events=events, shipments=[leg(final=False)], as_of=as_of)
    shopee = judge(
        events=events, shipments=[leg(final=False)], as_of=as_of, policy=POLICIES["shopee"]
    )
    assert "shipment.stale" not in [f.code for f in default.findings]
    assert only(shopee, "shipment.stale").severity == "warning"


def test_stale_message_does_not_change_from_day_to_day() -> None:
    events = trip()[:4]
    one = judge(events=events, shipments=[leg(final=False)], as_of=AS_OF)
    two = judge(events=events, shipments=[leg(final=False)], as_of=AS_OF + timedelta(days=1))
    assert only(one, "shipment.stale") == only(two, "shipment.stale")


def not_found_for(days: float) -> ShipmentFacts:
    """The origin leg, not found since day 2 after the order, last asked `days` later."""
    since = ORDER_DATE + timedelta(days=2)
    return dataclasses.replace(
        leg(final=False, dest=None, state="not_found"),
        not_found_since=since,
        last_fetched_at=since + timedelta(days=days),
    )


def test_a_number_not_found_for_30_days_is_given_up_with_its_dates() -> None:
    still_asked = judge(events=[], shipments=[not_found_for(29.9)])
    assert "shipment.given_up" not in [f.code for f in still_asked.findings]
    verdict = judge(events=[], shipments=[not_found_for(30.5)])
    found = only(verdict, "shipment.given_up")
    assert found.severity == "error"
    assert verdict.status == "fail"
    assert "30 days after it was first not found (2026-09-03)" in found.message
    assert "polling stopped on 2026-10-03" in found.message
    assert "2026-09-03" in found.message_zh
    assert "2026-10-03" in found.message_zh
    # Dated, not counted: judged a month later, the finding (and the digest) is the same.
    later = judge(events=[], shipments=[not_found_for(30.5)], as_of=AS_OF + timedelta(days=30))
    assert only(later, "shipment.given_up") == found


def test_a_young_order_whose_number_was_given_up_is_not_pending() -> None:
    """Not found is only a warning in its first days; a given-up number is not pending."""
    since = ORDER_DATE - timedelta(days=40)  # the number was sent long before this order
    leg_ = dataclasses.replace(
        not_found_for(0), not_found_since=since, last_fetched_at=since + timedelta(days=31)
    )
    verdict = judge(events=[], shipments=[leg_], as_of=ORDER_DATE + timedelta(days=1))
    assert only(verdict, "shipment.not_found").severity == "warning"
    assert only(verdict, "shipment.given_up").severity == "error"
    assert verdict.status == "fail"


# -- on a database: cross-order checks and history ------------------------------------------------

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def add_order(
    engine: sa.Engine,
    order_id: str,
    number: str,
    *,
    tenant: str = "shop-a",
    dest: str = "RU",
    placed: datetime = ORDER_DATE,
) -> None:
    with transaction(engine) as connection:
        upsert_orders(
            connection,
            orders=[
                {
                    "tenant": tenant,
                    "order_id": order_id,
                    "marketplace": "Joom",
                    "order_date": placed,
                    "ship_date": None,
                    "tracking_number": number,
                    "carrier": "cainiao",
                    "carrier_declared": "Cainiao",
                    "carrier_source": "declared",
                    "destination_country": dest,
                    "destination_postal_code": "",
                    "destination_city": "",
                    "order_value": None,
                    "currency": "",
                    "source": "test",
                    "last_run_id": "r1",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "_shipment_key": (tenant, "cainiao", number),
                }
            ],
            shipments=[(tenant, "cainiao", number)],
        )


def _exchange(number: str, body: bytes, at: datetime) -> Exchange:
    return Exchange(
        carrier="cainiao",
        adapter_version="cainiao/test",
        method="GET",
        url=f"https://carrier.example/detail.json?mailNos={number}",
        request_body=None,
        status=200,
        headers=(("content-type", "application/json"),),
        body=body,
        fetched_at=at,
    )


def _shipment_ids(engine: sa.Engine, number: str) -> list[int]:
    """Every tenant's shipment of `number` (each tenant has its own)."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.text("SELECT id FROM shipments WHERE tracking_number = :n ORDER BY id"),
                {"n": number},
            ).scalars()
        )


def track(
    engine: sa.Engine,
    number: str,
    stages: Sequence[tuple[Stage, float, str]],
    *,
    final: bool,
    at: datetime = NOW,
) -> str:
    """Store one carrier response for `number`; returns the exchange's sha256."""
    exchange = _exchange(number, f"{number}|{len(stages)}|{at.isoformat()}".encode(), at)
    events = tuple(
        ParsedEvent(
            stage=stage,
            code=stage.name,
            description=f"{stage.value} scan",
            occurred_at=ORDER_DATE + timedelta(days=day),
            local_offset=480,
            time_source=TimeSource.EXPLICIT,
            country=country,
        )
        for stage, day, country in stages
    )
    for sid in _shipment_ids(engine, number):
        store_results(
            engine,
            shipment_ids={number: sid},
            results=[
                NumberResult(
                    number,
                    (exchange,),
                    TrackResult(number, events, final=final, destination_country="RU"),
                )
            ],
            now=at,
            run_id=None,
        )
    return exchange.sha256


def not_found(engine: sa.Engine, number: str, *, at: datetime) -> None:
    """Store the carrier's "no such number" answer for `number`, asked at `at`."""
    exchange = _exchange(number, f"{number}|not found|{at.isoformat()}".encode(), at)
    for sid in _shipment_ids(engine, number):
        store_results(
            engine,
            shipment_ids={number: sid},
            results=[
                NumberResult(
                    number,
                    (exchange,),
                    CarrierFailure(number, ErrorKind.NOT_FOUND, "no such number"),
                )
            ],
            now=at,
            run_id=None,
        )


FULL = [
    (Stage.PICKED_UP, 1, "CN"),
    (Stage.DEPARTED_ORIGIN, 3, "CN"),
    (Stage.ARRIVED_DESTINATION, 6, "RU"),
    (Stage.DELIVERED, 12, "RU"),
]


def pks(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT tenant, order_id, id FROM orders"))
        return {f"{tenant}/{order_id}": pk for tenant, order_id, pk in rows}


def stored_findings(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    import json

    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT o.tenant, o.order_id, v.findings FROM orders o "
                "JOIN verdicts v ON v.order_pk = o.id"
            )
        )
        return {f"{t}/{o}": json.loads(f) for t, o, f in rows}


def judge_db(engine: sa.Engine, ids: Sequence[int], *, now: datetime = NOW) -> dict[int, Verdict]:
    return recompute_verdicts(engine, order_ids=list(ids), as_of=AS_OF, policy=DEFAULT, now=now)


def test_number_shared_across_stores_is_found_on_both_orders(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    set_group(engine, group="seller-1", tenants=["shop-a", "shop-b"])  # one seller's stores
    add_order(engine, "A1", "LP00000000000001", tenant="shop-a")
    add_order(engine, "B1", "LP00000000000001", tenant="shop-b")
    add_order(engine, "C1", "LP00000000000002", tenant="shop-a")
    track(engine, "LP00000000000001", FULL, final=True)
    track(engine, "LP00000000000002", FULL, final=True)
    ids = pks(engine)
    verdicts = judge_db(engine, list(ids.values()))
    a, b, c = (verdicts[ids[k]] for k in ("shop-a/A1", "shop-b/B1", "shop-a/C1"))
    shared = only(a, "number.shared")
    assert (shared.severity, shared.evidence) == ("error", ("order:shop-b/B1",))
    assert only(b, "number.shared").evidence == ("order:shop-a/A1",)
    assert (a.status, b.status) == ("fail", "fail")
    assert (c.status, c.findings) == ("pass", ())


def test_a_number_shared_with_an_unrelated_store_changes_neither_verdict(
    db_url: str, make_engine: Any
) -> None:
    """Stores of different sellers (no common account group) are never compared."""
    engine = make_engine(db_url)
    set_group(engine, group="seller-1", tenants=["shop-a", "shop-c"])
    add_order(engine, "A1", "LP00000000000001", tenant="shop-a")
    track(engine, "LP00000000000001", FULL, final=True)
    ids = pks(engine)
    assert judge_db(engine, [ids["shop-a/A1"]])[ids["shop-a/A1"]].status == "pass"
    add_order(engine, "B1", "LP00000000000001", tenant="shop-b")
    track(engine, "LP00000000000001", FULL, final=True)
    ids = pks(engine)
    judged = judge_db(engine, list(ids.values()), now=NOW + timedelta(hours=1))
    assert {judged[pk].status for pk in ids.values()} == {"pass"}
    assert stored_findings(engine) == {"shop-a/A1": [], "shop-b/B1": []}


def test_judging_one_order_refreshes_the_order_it_shares_with(
    db_url: str, make_engine: Any
) -> None:
    """A new order reusing an old order's number makes the old order's verdict fail too."""
    engine = make_engine(db_url)
    set_group(engine, group="seller-1", tenants=["shop-a", "shop-b"])
    add_order(engine, "A1", "LP00000000000001")
    track(engine, "LP00000000000001", FULL, final=True)
    ids = pks(engine)
    assert judge_db(engine, [ids["shop-a/A1"]])[ids["shop-a/A1"]].status == "pass"
    add_order(engine, "B1", "LP00000000000001", tenant="shop-b")
    ids = pks(engine)
    judged = judge_db(engine, [ids["shop-b/B1"]], now=NOW + timedelta(hours=1))
    assert list(judged) == [ids["shop-b/B1"]]  # only the asked-for orders are returned
    stored = stored_findings(engine)
    assert [f["code"] for f in stored["shop-a/A1"]] == ["number.shared"]
    assert stored["shop-a/A1"][0]["evidence"] == ["order:shop-b/B1"]


def test_cross_order_check_is_one_query_per_chunk(sqlite_url: str, make_engine: Any) -> None:
    engine = make_engine(sqlite_url)
    for i in range(30):
        add_order(engine, f"A{i}", f"LP{i % 25:014d}")  # five numbers used twice
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    verdicts = judge_db(engine, list(pks(engine).values()))
    sa.event.remove(engine, "before_cursor_execute", record)
    lookups = [s for s in statements if "orders.tracking_number IN" in s]
    assert len(lookups) == 1
    shared = [v for v in verdicts.values() if "number.shared" in [f.code for f in v.findings]]
    assert len(shared) == 10


def test_finding_history_records_when_a_finding_is_resolved(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    set_group(engine, group="seller-1", tenants=["shop-a", "shop-b"])
    add_order(engine, "A1", "LP00000000000001")
    add_order(engine, "B1", "LP00000000000001", tenant="shop-b")
    add_order(engine, "C1", "LP00000000000002")
    track(engine, "LP00000000000001", FULL, final=True)
    track(engine, "LP00000000000002", FULL[:2], final=False)
    ids = pks(engine)
    t1, t2 = NOW, NOW + timedelta(days=1)
    judge_db(engine, list(ids.values()), now=t1)
    # B1's number is corrected; judging B1 alone also clears A1, its former partner.
    with transaction(engine) as connection:
        connection.execute(
            sa.text("UPDATE orders SET tracking_number = 'LP00000000000009' WHERE order_id = 'B1'")
        )
    judge_db(engine, [ids["shop-b/B1"]], now=t2)
    # C1's parcel arrives and is delivered: the missing milestones are resolved.
    track(engine, "LP00000000000002", FULL, final=True, at=t2)
    judge_db(engine, [ids["shop-a/C1"]], now=t2)
    with engine.connect() as connection:
        a = finding_history(connection, ids["shop-a/A1"])
        c = finding_history(connection, ids["shop-a/C1"])
        both = finding_histories(connection, [ids["shop-a/A1"], 999_999])
    assert [(s.code, s.severity, s.first_seen, s.resolved_at) for s in a] == [
        ("number.shared", "error", t1, t2)
    ]
    assert a[0].evidence == ("order:shop-b/B1",)
    assert not a[0].open
    assert [(s.code, s.resolved_at) for s in c] == [
        ("milestone.missing", t2),
        ("shipment.stale", t2),
    ]
    assert both == {ids["shop-a/A1"]: a, 999_999: []}
    assert stored_findings(engine)["shop-a/A1"] == []


def test_history_keeps_open_findings_open_and_reopens_returning_ones(
    sqlite_url: str, make_engine: Any
) -> None:
    engine = make_engine(sqlite_url)
    add_order(engine, "A1", "LP00000000000001")
    add_order(engine, "B1", "LP00000000000001")
    track(engine, "LP00000000000001", FULL, final=True)
    ids = pks(engine)
    moments = [NOW + timedelta(days=d) for d in range(3)]
    numbers = ["LP00000000000001", "LP00000000000008", "LP00000000000001"]
    for step, (moment, number) in enumerate(zip(moments, numbers, strict=True)):
        with transaction(engine) as connection:
            connection.execute(
                sa.text("UPDATE orders SET tracking_number = :n WHERE order_id = 'B1'"),
                {"n": number},
            )
        # The first round judges both orders; later ones only B1 (A1 follows as its partner).
        judge_db(engine, list(ids.values()) if step == 0 else [ids["shop-a/B1"]], now=moment)
    with engine.connect() as connection:
        spans = finding_history(connection, ids["shop-a/A1"])
    assert [(s.first_seen, s.resolved_at) for s in spans] == [
        (moments[0], moments[1]),
        (moments[2], None),
    ]
    assert spans[-1].open


# -- end to end: the sandbox pull ------------------------------------------------------------------


def next_poll(engine: sa.Engine, number: str) -> datetime | None:
    with engine.connect() as connection:
        value = connection.execute(
            sa.text("SELECT next_poll_at FROM shipments WHERE tracking_number = :n"), {"n": number}
        ).scalar_one()
    return value if value is None or isinstance(value, datetime) else datetime.fromisoformat(value)


def test_a_given_up_number_is_reported_everywhere_until_it_is_found(
    db_url: str, make_engine: Any
) -> None:
    from typer.testing import CliRunner

    from tracking.cli.app import app
    from tracking.read.report import build_report

    engine = make_engine(db_url)
    number = "LP00000000000077"
    add_order(engine, "A1", number)
    ids = list(pks(engine).values())
    first = ORDER_DATE + timedelta(days=1)

    def codes() -> list[str]:
        return [f["code"] for f in stored_findings(engine)["shop-a/A1"]]

    for day in (0, 1, 7, 29):  # asked again and again while the carrier does not know it
        not_found(engine, number, at=first + timedelta(days=day))
        assert next_poll(engine, number) is not None
    judge_db(engine, ids)
    assert "shipment.not_found" in codes()
    assert "shipment.given_up" not in codes()

    not_found(engine, number, at=first + timedelta(days=30))
    assert next_poll(engine, number) is None  # given up: never polled again
    judge_db(engine, ids)
    [given] = [f for f in stored_findings(engine)["shop-a/A1"] if f["code"] == "shipment.given_up"]
    assert given["severity"] == "error"
    assert "30 days after it was first not found (2026-09-02)" in given["message"]
    assert "polling stopped on 2026-10-02" in given["message"]

    result = CliRunner().invoke(app, ["--db", db_url, "status", "--json"])
    assert result.exit_code == 0, result.output
    [item] = json.loads(result.stdout)
    assert item["verdict"] == "fail"
    assert given in item["findings"]
    report = build_report(engine, as_of=AS_OF, window_days=90).as_json()
    assert [f["orders"] for f in report["findings"] if f["code"] == "shipment.given_up"] == [1]
    [reasons] = [d["reasons"] for d in report["do_not_cite"] if d["order_id"] == "A1"]
    assert "shipment.given_up" in [r["code"] for r in reasons]

    # Refreshed by hand later, the carrier now knows the number: the finding is gone.
    track(engine, number, FULL, final=True, at=first + timedelta(days=45))
    judge_db(engine, ids, now=NOW + timedelta(days=1))
    assert "shipment.given_up" not in codes()
    assert "shipment.not_found" not in codes()
    assert next_poll(engine, number) is not None  # one confirming poll of the final state
    with engine.connect() as connection:
        history = finding_history(connection, ids[0])
    resolved = {s.code: s.resolved_at for s in history}
    assert resolved["shipment.given_up"] == NOW + timedelta(days=1)


async def test_sandbox_pull_flags_a_shared_number_and_a_wrong_destination(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    sandbox.write_orders(orders, ["cainiao"], per_scenario=3)
    with orders.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    by_id = {r[0]: r for r in body}
    shared = by_id["cainiao-delivered-0"]
    body.append(["DUP-1", *shared[1:]])  # a second order citing the same parcel
    wrong = by_id["cainiao-delivered-1"]
    wrong[4] = "DE" if wrong[4] != "DE" else "FR"
    with orders.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *body])

    engine = make_engine(sqlite_url)
    await sandbox.run_pull(engine, orders)
    stored = stored_findings(engine)
    verdicts = sandbox.verdicts(engine)

    def codes(key: str) -> dict[str, dict[str, Any]]:
        return {f["code"]: f for f in stored[key]}

    first, second = codes("default/cainiao-delivered-0"), codes("default/DUP-1")
    assert first["number.shared"]["severity"] == "error"
    assert first["number.shared"]["evidence"] == ["order:default/DUP-1"]
    assert second["number.shared"]["evidence"] == ["order:default/cainiao-delivered-0"]
    assert verdicts["cainiao-delivered-0"] == verdicts["DUP-1"] == "fail"
    moved = codes("default/cainiao-delivered-1")
    assert moved["destination.mismatch"]["severity"] == "error"
    assert moved["destination.delivered_elsewhere"]["evidence"][0].startswith("exchange:")
    assert verdicts["cainiao-delivered-1"] == "fail"
    assert stored["default/cainiao-delivered-2"] == []
    assert verdicts["cainiao-delivered-2"] == "pass"

"""Verdict rules: pass, pending and fail, with the findings a reviewer would raise."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from tracking.judge.validator import OrderFacts, Policy, ShipmentFacts, evaluate
from tracking.read.views import EventView

ORDER_DATE = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
POLICY = Policy()


def ev(
    stage: str, day: float, *, country: str | None = None, code: str = "", source: str = "explicit"
) -> EventView:
    return EventView(
        stage=stage,
        code=code or stage.upper(),
        description=f"{stage} text",
        occurred_at=ORDER_DATE + timedelta(days=day),
        local_offset=480,
        time_source=source,
        location="",
        country=country,
        carrier="cainiao",
        tracking_number="LP00123456789012",
        exchange_sha256="ab" * 32,
    )


def order(dest: str = "RU", placed: datetime = ORDER_DATE) -> OrderFacts:
    return OrderFacts(order_id="A1", order_date=placed, destination_country=dest, carrier="cainiao")


def leg(*, final: bool = False, state: str = "tracking", dest: str | None = "RU") -> ShipmentFacts:
    return ShipmentFacts(
        carrier="cainiao",
        tracking_number="LP00123456789012",
        role="origin",
        state=state,
        final=final,
        destination_country=dest,
    )


DELIVERED = [
    ev("picked_up", 1, country="CN"),
    ev("departed_origin", 3, country="CN"),
    ev("arrived_destination", 6, country="RU"),
    ev("import_customs", 7, country="RU"),
    ev("delivered", 12, country="RU"),
]


def codes(verdict: object) -> list[str]:
    return [f.code for f in verdict.findings]  # type: ignore[attr-defined]


def test_three_explicit_milestones_pass_without_findings() -> None:
    verdict = evaluate(
        order=order(), shipments=[leg(final=True)], events=DELIVERED, as_of=AS_OF, policy=POLICY
    )
    assert verdict.status == "pass"
    assert [m.status for m in verdict.milestones] == ["explicit"] * 3
    assert verdict.findings == ()


def test_arrival_inferred_from_import_customs_in_destination() -> None:
    events = [e for e in DELIVERED if e.stage != "arrived_destination"]
    verdict = evaluate(
        order=order(), shipments=[leg(final=True)], events=events, as_of=AS_OF, policy=POLICY
    )
    assert verdict.status == "pass"
    arrival = verdict.milestones[1]
    assert (arrival.status, arrival.event and arrival.event.stage) == ("inferred", "import_customs")
    assert "milestone.inferred" in codes(verdict)


def test_customs_event_before_departure_does_not_prove_arrival() -> None:
    """Carriers stamp import customs before the parcel left China; never infer from it."""
    events = [
        ev("picked_up", 1, country="CN"),
        ev("import_customs", 1.1, country="RU", code="CC_IM_START"),
        ev("departed_origin", 3, country="CN"),
        ev("delivered", 12, country="RU"),
    ]
    verdict = evaluate(
        order=order(), shipments=[leg(final=True)], events=events, as_of=AS_OF, policy=POLICY
    )
    assert verdict.status == "fail"
    assert verdict.missing == ["arrived_destination"]
    assert "timeline.out_of_order" in codes(verdict)


def test_inference_off_by_policy() -> None:
    events = [e for e in DELIVERED if e.stage != "arrived_destination"]
    strict = Policy(name="strict", infer_arrival=False)
    verdict = evaluate(
        order=order(), shipments=[leg(final=True)], events=events, as_of=AS_OF, policy=strict
    )
    assert verdict.status == "fail"
    assert verdict.missing == ["arrived_destination"]


def test_young_unfinished_order_is_pending_and_says_what_is_missing() -> None:
    placed = AS_OF - timedelta(days=5)
    events = [
        dataclasses.replace(
            ev("picked_up", 0, country="CN"), occurred_at=placed + timedelta(days=1)
        )
    ]
    verdict = evaluate(
        order=order(placed=placed), shipments=[leg()], events=events, as_of=AS_OF, policy=POLICY
    )
    assert verdict.status == "pending"
    assert verdict.missing == ["departed_origin", "arrived_destination", "delivered"]
    assert verdict.findings[0].severity == "info"


def test_old_unfinished_order_fails() -> None:
    events = DELIVERED[:3]
    verdict = evaluate(order=order(), shipments=[leg()], events=events, as_of=AS_OF, policy=POLICY)
    assert verdict.status == "fail"
    assert verdict.missing == ["delivered"]


def test_pickup_point_is_not_delivery() -> None:
    events = [*DELIVERED[:4], ev("available_for_pickup", 10, country="RU")]
    verdict = evaluate(order=order(), shipments=[leg()], events=events, as_of=AS_OF, policy=POLICY)
    assert verdict.missing == ["delivered"]


@pytest.mark.parametrize(
    ("events", "code"),
    [
        pytest.param(
            [*DELIVERED[:3], ev("returning", 20, country="RU"), ev("returned", 40, country="CN")],
            "shipment.returned",
            id="returned",
        ),
        pytest.param(
            [*DELIVERED[:2], ev("exception", 20, country=None)], "shipment.exception", id="lost"
        ),
    ],
)
def test_returned_or_lost_fails_even_when_young(events: list[EventView], code: str) -> None:
    verdict = evaluate(
        order=order(),
        shipments=[leg()],
        events=events,
        as_of=ORDER_DATE + timedelta(days=45),
        policy=POLICY,
    )
    assert verdict.status == "fail"
    assert code in codes(verdict)


def test_destination_mismatch_is_an_error() -> None:
    verdict = evaluate(
        order=order(dest="DE"),
        shipments=[leg(final=True, dest="RU")],
        events=DELIVERED,
        as_of=AS_OF,
        policy=POLICY,
    )
    assert verdict.status == "fail"
    assert "destination.mismatch" in codes(verdict)
    assert "destination.delivered_elsewhere" in codes(verdict)


def test_scan_before_the_order_is_an_error() -> None:
    events = [ev("picked_up", -3, country="CN"), *DELIVERED[1:]]
    verdict = evaluate(
        order=order(), shipments=[leg(final=True)], events=events, as_of=AS_OF, policy=POLICY
    )
    assert verdict.status == "fail"
    assert "timeline.before_order" in codes(verdict)


def test_not_found_is_a_warning_while_young_and_an_error_later() -> None:
    placed = AS_OF - timedelta(days=2)
    young = evaluate(
        order=order(placed=placed),
        shipments=[leg(state="not_found", dest=None)],
        events=[],
        as_of=AS_OF,
        policy=POLICY,
    )
    assert young.status == "pending"
    old = evaluate(
        order=order(),
        shipments=[leg(state="not_found", dest=None)],
        events=[],
        as_of=AS_OF,
        policy=POLICY,
    )
    assert old.status == "fail"
    assert [f.severity for f in old.findings if f.code == "shipment.not_found"] == ["error"]


def test_no_carrier_fails_with_a_plain_reason() -> None:
    verdict = evaluate(order=order(), shipments=[], events=[], as_of=AS_OF, policy=POLICY)
    assert verdict.status == "fail"
    assert "shipment.no_carrier" in codes(verdict)


def test_findings_carry_chinese_messages_and_evidence_pointers() -> None:
    events = [*DELIVERED[:3], ev("returned", 40, country="CN")]
    verdict = evaluate(order=order(), shipments=[leg()], events=events, as_of=AS_OF, policy=POLICY)
    returned = next(f for f in verdict.findings if f.code == "shipment.returned")
    assert returned.message_zh
    assert returned.evidence == ("exchange:" + "ab" * 32,)

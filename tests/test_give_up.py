"""Giving up is one rule: every persistent failure is polled on the not-found schedule and
given up after 30 days, with a finding that says what the carrier answered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.test_storage import NOW, exchange, seed
from tracking.core.domain import CarrierFailure, ErrorKind, NumberResult
from tracking.judge.scheduling import GIVE_UP_AFTER, next_poll_at
from tracking.judge.validator import POLICIES
from tracking.store.answers import store_results
from tracking.store.tables import ShipmentRecord
from tracking.store.verdicts import recompute_verdicts

S = ShipmentRecord.__table__  # type: ignore[attr-defined]


def _next(state: str, age: timedelta, **kw: Any) -> timedelta | None:
    at = next_poll_at(
        now=NOW,
        state=state,
        latest_stage=None,
        final=False,
        was_final=False,
        not_found_since=NOW - age,
        **kw,
    )
    return None if at is None else at - NOW


@pytest.mark.parametrize("state", ["not_found", "error"])
def test_every_failure_backs_off_as_it_ages_and_is_given_up_after_30_days(state: str) -> None:
    first_day = timedelta(hours=6) if state == "not_found" else timedelta(hours=1)
    assert _next(state, timedelta(hours=2)) == first_day
    assert _next(state, timedelta(days=3)) == timedelta(days=1)
    assert _next(state, timedelta(days=10)) == timedelta(days=2)
    assert _next(state, GIVE_UP_AFTER - timedelta(minutes=1)) == timedelta(days=2)
    assert _next(state, GIVE_UP_AFTER) is None


@pytest.mark.parametrize("kind", ["auth", "permission", "quota"])
def test_errors_an_hour_does_not_mend_keep_the_not_found_pace(kind: str) -> None:
    assert _next("error", timedelta(hours=2), error_kind=kind) == timedelta(hours=6)
    assert _next("error", timedelta(hours=2), error_kind="carrier_error") == timedelta(hours=1)


def test_a_blocked_carrier_is_asked_again_when_its_backoff_ends() -> None:
    retry_at = NOW + timedelta(minutes=30)
    assert _next("error", timedelta(hours=2), retry_at=retry_at) == timedelta(minutes=30)
    # ... but a block does not escape the give-up rule.
    assert _next("error", GIVE_UP_AFTER, retry_at=retry_at) is None


@pytest.mark.parametrize(
    ("kind", "message", "quoted"),
    [
        pytest.param(
            ErrorKind.CARRIER_ERROR,
            "yunexpress: error code 1001: 失败",
            "error code 1001",
            id="unknown-code",
        ),
        pytest.param(ErrorKind.QUOTA, "17TRACK: quota exhausted (-18010013)", "quota", id="quota"),
        pytest.param(
            ErrorKind.PERMISSION, "4px: not allowed to query this order", "not allowed", id="perm"
        ),
        pytest.param(
            ErrorKind.BLOCKED,
            "Cainiao (AliExpress) is refusing automated requests; retrying at 2026-11-20 12:15 UTC",
            "refusing automated requests",
            id="blocked",
        ),
    ],
)
def test_a_persistent_error_is_given_up_after_30_days_with_what_the_carrier_answered(
    sqlite_url: str, make_engine: Any, kind: ErrorKind, message: str, quoted: str
) -> None:
    engine = make_engine(sqlite_url)
    ids = seed(engine)
    when, polls = NOW, 0
    while True:
        failure = CarrierFailure("LP1", kind, message)
        result = NumberResult("LP1", (exchange(b'{"x":1}', at=when),), failure)
        store_results(
            engine, shipment_ids={"LP1": ids["LP1"]}, results=[result], now=when, run_id="r"
        )
        polls += 1
        with engine.connect() as connection:
            due = connection.execute(
                sa.select(S.c.next_poll_at).where(S.c.id == ids["LP1"])
            ).scalar_one()
        if due is None:
            break
        assert polls < 100, "an error kept being polled"
        when = due
    assert GIVE_UP_AFTER <= when - NOW < GIVE_UP_AFTER + timedelta(days=2)
    assert polls < 50  # backed off: not hourly for a month
    with engine.connect() as connection:
        (order_id,) = connection.execute(
            sa.text("SELECT id FROM orders WHERE tracking_number = 'LP1'")
        ).one()
    verdict = recompute_verdicts(
        engine,
        order_ids=[order_id],
        as_of=when,
        policy=POLICIES["default"],
        now=when,
    )[order_id]
    (given_up,) = [f for f in verdict.findings if f.code == "shipment.given_up"]
    assert given_up.severity == "error"
    assert quoted in given_up.message
    assert "so it was given up" in given_up.message
    assert verdict.status == "fail"

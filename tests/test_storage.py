"""Storage on SQLite and PostgreSQL: migrations, idempotent writes, raw bodies kept intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tracking.core.domain import (
    CarrierFailure,
    ErrorKind,
    Exchange,
    LegRef,
    NumberResult,
    ParsedEvent,
    Stage,
    TimeSource,
    TrackResult,
)
from tracking.core.exceptions import StorageError
from tracking.store.answers import store_results
from tracking.store.engine import open_engine, transaction
from tracking.store.exchanges import raw_body
from tracking.store.orders import upsert_orders

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def exchange(body: bytes, *, at: datetime = NOW) -> Exchange:
    return Exchange(
        carrier="cainiao",
        adapter_version="cainiao/1",
        method="GET",
        url="https://carrier.example/detail.json?mailNos=LP1,LP2",
        request_body=None,
        status=200,
        headers=(("content-type", "application/json"),),
        body=body,
        fetched_at=at,
    )


def event(stage: Stage, hours: int, text: str = "scan") -> ParsedEvent:
    return ParsedEvent(
        stage=stage,
        code=stage.name,
        description=text,
        occurred_at=NOW - timedelta(hours=hours),
        local_offset=480,
        time_source=TimeSource.EXPLICIT,
        location="Shenzhen",
        country="CN",
    )


def seed(engine: sa.Engine) -> dict[str, int]:
    with transaction(engine) as connection:
        upsert_orders(
            connection,
            orders=[
                {
                    "tenant": "shop",
                    "order_id": f"A{i}",
                    "marketplace": "Joom",
                    "order_date": NOW - timedelta(days=10),
                    "ship_date": None,
                    "tracking_number": number,
                    "carrier": "cainiao",
                    "carrier_declared": "Cainiao",
                    "carrier_source": "declared",
                    "destination_country": "RU",
                    "destination_postal_code": "",
                    "destination_city": "",
                    "order_value": None,
                    "currency": "",
                    "source": "test",
                    "last_run_id": "r1",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "_shipment_key": ("shop", "cainiao", number),
                }
                for i, number in enumerate(("LP1", "LP2"))
            ],
            shipments=[("shop", "cainiao", "LP1"), ("shop", "cainiao", "LP2")],
        )
        rows = connection.execute(sa.text("SELECT tracking_number, id FROM shipments"))
        return {number: sid for number, sid in rows}


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("orders", "shipments", "exchanges", "exchange_bodies", "events")
        }


def test_migrations_apply_twice_and_create_every_table(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    make_engine(db_url)  # a second open finds nothing to do
    tables = set(sa.inspect(engine).get_table_names())
    assert {"orders", "shipments", "exchanges", "exchange_bodies", "events", "verdicts"} <= tables
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()


def test_storing_the_same_response_twice_adds_no_event(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    ids = seed(engine)
    body = b'{"module": [], "success": true}' * 20
    shared = exchange(body)
    results = [
        NumberResult(
            "LP1",
            (shared,),
            TrackResult(
                "LP1",
                (event(Stage.PICKED_UP, 50), event(Stage.DEPARTED_ORIGIN, 20)),
                final=False,
                legs=(LegRef("RA123456785RU", carrier_name="Russian Post"),),
                destination_country="RU",
            ),
        ),
        NumberResult("LP2", (shared,), CarrierFailure("LP2", ErrorKind.NOT_FOUND, "unknown")),
    ]
    first = store_results(engine, shipment_ids=ids, results=results, now=NOW, run_id="r1")
    assert (first.fetched, first.not_found, first.events_new, first.legs_new) == (1, 1, 2, 1)
    after_first = counts(engine)
    # A re-fetch at a later time: a new exchange row is evidence, but no new event or body.
    refetch = exchange(body, at=NOW + timedelta(hours=6))
    later = [NumberResult(r.tracking_number, (refetch,), r.outcome) for r in results]
    again = store_results(engine, shipment_ids=ids, results=later, now=NOW, run_id="r2")
    assert again.events_new == 0
    after_second = counts(engine)
    assert after_second["events"] == after_first["events"] == 2
    assert after_second["exchange_bodies"] == after_first["exchange_bodies"] == 1
    assert after_second["exchanges"] == after_first["exchanges"] + 1
    assert after_second["shipments"] == 3  # two origin shipments and one last-mile leg


def test_raw_body_comes_back_byte_for_byte(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    ids = seed(engine)
    body = ('{"desc": "已签收 Вручение адресату", "pad": "' + "x" * 5000 + '"}').encode()
    ex = exchange(body)
    store_results(
        engine,
        shipment_ids=ids,
        results=[NumberResult("LP1", (ex,), TrackResult("LP1", (), final=False))],
        now=NOW,
        run_id=None,
    )
    assert raw_body(engine, ex.sha256) == body
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT size, encoding FROM exchange_bodies")).one()
    assert stored.size == len(body)
    assert stored.encoding == "zlib"


def test_times_come_back_aware_utc(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    ids = seed(engine)
    moscow = datetime(2026, 11, 1, 15, 30, tzinfo=UTC).astimezone(
        __import__("datetime").timezone(timedelta(hours=3))
    )
    ev = ParsedEvent(
        stage=Stage.DELIVERED,
        code="GTMS_SIGNED",
        description="Delivered",
        occurred_at=moscow,
        local_offset=180,
        time_source=TimeSource.EXPLICIT,
    )
    store_results(
        engine,
        shipment_ids=ids,
        results=[NumberResult("LP1", (exchange(b"{}"),), TrackResult("LP1", (ev,), final=True))],
        now=NOW,
        run_id=None,
    )
    from tracking.store.tables import EventRecord

    table = EventRecord.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        stored = connection.execute(sa.select(table.c.occurred_at)).scalar_one()
    assert stored == datetime(2026, 11, 1, 15, 30, tzinfo=UTC)
    assert stored.tzinfo is not None


def test_naive_datetime_is_refused(sqlite_url: str, make_engine: Any) -> None:
    engine = make_engine(sqlite_url)
    from tracking.store.tables import RunRecord

    table = RunRecord.__table__  # type: ignore[attr-defined]
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), engine.begin() as c:
        c.execute(
            sa.insert(table),
            {"id": "x", "kind": "pull", "source": "", "started_at": datetime(2026, 1, 1)},  # noqa: DTZ001
        )


def test_unreachable_database_is_a_plain_error(tmp_path: object) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        open_engine("sqlite:////nonexistent-folder/x/track-evidence.db")


def test_many_answers_in_one_transaction_match_storing_them_one_by_one(
    db_url: str, make_engine: Any
) -> None:
    """Group commit: answers stored together give the rows and counts of separate stores."""
    from tracking.store.answers import Answer, store_answers

    def answers() -> list[Answer]:
        # One exchange per answer (single-number carriers), the second answer a re-fetch of
        # the first number with one more event, the third a not-found.
        first = NumberResult(
            "LP1",
            (exchange(b'{"a": 1}'),),
            TrackResult("LP1", (event(Stage.PICKED_UP, 50),), final=False),
        )
        second = NumberResult(
            "LP1",
            (exchange(b'{"a": 2}', at=NOW + timedelta(minutes=1)),),
            TrackResult(
                "LP1", (event(Stage.PICKED_UP, 50), event(Stage.DEPARTED_ORIGIN, 20)), final=False
            ),
        )
        third = NumberResult(
            "LP2", (exchange(b'{"a": 3}'),), CarrierFailure("LP2", ErrorKind.NOT_FOUND, "no")
        )
        return [
            Answer({"LP1": ids["LP1"]}, [first], NOW),
            Answer({"LP1": ids["LP1"]}, [second], NOW + timedelta(minutes=1)),
            Answer({"LP2": ids["LP2"]}, [third], NOW),
        ]

    engine = make_engine(db_url)
    ids = seed(engine)
    stats = store_answers(engine, answers=answers(), run_id="together")
    assert [(s.fetched, s.not_found) for s in stats] == [(1, 0), (1, 0), (0, 1)]
    assert sum(s.events_new for s in stats) == 2  # the picked-up scan once, then departure
    together = counts(engine)
    with engine.connect() as connection:
        polls = dict(
            connection.execute(sa.text("SELECT tracking_number, poll_count FROM shipments")).all()
        )
        stages = connection.execute(
            sa.text("SELECT latest_stage FROM shipments WHERE tracking_number = 'LP1'")
        ).scalar_one()
    assert polls["LP1"] == 2
    assert polls["LP2"] == 1
    assert stages == "departed_origin"
    assert together["exchanges"] == 3
    assert together["exchange_bodies"] == 3
    # The same answers again add exchanges (evidence of each fetch) but no event or body.
    again = store_answers(engine, answers=answers(), run_id="again")
    assert sum(s.events_new for s in again) == 0
    after = counts(engine)
    assert after["events"] == together["events"] == 2
    assert after["exchange_bodies"] == 3
    assert after["exchanges"] == 6


def test_a_failed_group_commit_stores_none_of_its_answers(
    sqlite_url: str, make_engine: Any
) -> None:
    """Answers stored together succeed or fail together: nothing half-written."""
    from tracking.store.answers import Answer, store_answers

    engine = make_engine(sqlite_url)
    ids = seed(engine)
    good = NumberResult(
        "LP1", (exchange(b'{"ok": 1}'),), TrackResult("LP1", (event(Stage.PICKED_UP, 5),), False)
    )
    unknown = NumberResult(
        "LP9", (exchange(b'{"ok": 2}'),), TrackResult("LP9", (event(Stage.PICKED_UP, 5),), False)
    )
    before = counts(engine)
    with pytest.raises(KeyError):
        store_answers(
            engine,
            answers=[
                Answer({"LP1": ids["LP1"]}, [good], NOW),
                Answer({"LP9": 999_999}, [unknown], NOW),  # a shipment that does not exist
            ],
            run_id="broken",
        )
    assert counts(engine) == before


@pytest.mark.parametrize("year", [1, 999, 1000, 2026, 9999])
def test_event_identity_keys_keep_their_historic_spelling(year: int) -> None:
    """Keys stored by earlier versions (made with strftime) must match, or re-pulls duplicate."""
    import hashlib

    from tracking.store.answers import event_key

    ev = ParsedEvent(
        stage=Stage.DELIVERED,
        code="D1",
        description="delivered",
        occurred_at=datetime(year, 3, 4, 5, 6, 7, tzinfo=UTC),
        local_offset=0,
        time_source=TimeSource.EXPLICIT,
        location="  Moscow   Hub ",
    )
    minute = ev.occurred_at.strftime("%Y-%m-%dT%H:%M")
    historic = hashlib.sha1(f"delivered|D1|{minute}|moscow hub".encode()).hexdigest()
    assert event_key(ev) == historic


def test_storing_a_naive_time_is_refused(sqlite_url: str, make_engine: Any) -> None:
    engine = make_engine(sqlite_url)
    ids = seed(engine)
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        store_results(
            engine,
            shipment_ids=ids,
            results=[NumberResult("LP1", (exchange(b"{}"),), TrackResult("LP1", (), False))],
            now=naive,
            run_id=None,
        )
    assert counts(engine)["exchanges"] == 0

"""The one write path (`tracking.store.writes`): the same calls, the same results, on SQLite
and on PostgreSQL (skipped, with the reason, when PostgreSQL is not running)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from tracking.store.engine import transaction
from tracking.store.tables import EXCHANGE_BODIES, EXCHANGES, SHIPMENTS
from tracking.store.writes import insert_ignore, insert_returning, update_rows, upsert

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def shipment(number: str, **extra: Any) -> dict[str, Any]:
    return {
        "tenant": "shop",
        "carrier": "cainiao",
        "tracking_number": number,
        "role": "origin",
        "carrier_name": "",
        "state": "new",
        "carrier_status": "",
        "final": False,
        "poll_count": 0,
        "created_at": NOW,
        **extra,
    }


def shipments(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(SHIPMENTS).order_by(SHIPMENTS.c.id))
        return {row.tracking_number: row for row in rows}


def test_insert_ignore_counts_only_the_new_rows(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    key = ("tenant", "carrier", "tracking_number")
    with transaction(engine) as connection:
        first = insert_ignore(
            connection, SHIPMENTS, [shipment("A"), shipment("B")], conflict=key, count=True
        )
    with transaction(engine) as connection:
        again = insert_ignore(
            connection,
            SHIPMENTS,
            [shipment("A", state="final"), shipment("C"), shipment("B"), shipment("D")],
            conflict=key,
            count=True,
        )
    assert (first, again) == (2, 2)
    stored = shipments(engine)
    assert sorted(stored) == ["A", "B", "C", "D"]
    assert stored["A"].state == "new"  # ignored, not overwritten


def test_upsert_updates_only_the_named_columns(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    key = ("tenant", "carrier", "tracking_number")
    with transaction(engine) as connection:
        upsert(connection, SHIPMENTS, [shipment("A")], conflict=key, update=("state",))
        upsert(
            connection,
            SHIPMENTS,
            [shipment("A", state="final", carrier_status="Delivered"), shipment("B")],
            conflict=key,
            update=("state",),
        )
    stored = shipments(engine)
    assert (stored["A"].state, stored["A"].carrier_status) == ("final", "")
    assert stored["B"].state == "new"


def test_insert_returning_gives_the_keys_in_row_order(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    urls = [f"https://carrier.test/{n}" for n in (5, 1, 4, 2, 3) * 30]
    with transaction(engine) as connection:
        insert_ignore(
            connection,
            EXCHANGE_BODIES,
            [{"sha256": "a" * 64, "size": 2, "encoding": "identity", "data": b"{}"}],
            conflict=("sha256",),
        )
        ids = insert_returning(
            connection,
            EXCHANGES,
            [
                {
                    "carrier": "cainiao",
                    "adapter_version": "1",
                    "method": "GET",
                    "url": url,
                    "status": 200,
                    "headers": "[]",
                    "body_sha256": "a" * 64,
                    "fetched_at": NOW,
                }
                for url in urls
            ],
        )
    with engine.connect() as connection:
        by_id = dict(connection.execute(sa.select(EXCHANGES.c.id, EXCHANGES.c.url)).all())
    assert len(set(ids)) == len(urls)
    assert [by_id[i] for i in ids] == urls


def test_update_rows_sets_each_row_and_increments(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    with transaction(engine) as connection:
        insert_ignore(
            connection,
            SHIPMENTS,
            [shipment("A"), shipment("B")],
            conflict=("tenant", "carrier", "tracking_number"),
        )
    ids = {n: row.id for n, row in shipments(engine).items()}
    later = NOW + timedelta(hours=6)
    with transaction(engine) as connection:
        update_rows(
            connection,
            SHIPMENTS,
            [
                {"id": ids["A"], "state": "tracking", "next_poll_at": later},
                {"id": ids["B"], "state": "error", "next_poll_at": None},
            ],
            key="id",
            columns=("state", "next_poll_at"),
            increment=("poll_count",),
        )
    stored = shipments(engine)
    assert (stored["A"].state, stored["A"].next_poll_at, stored["A"].poll_count) == (
        "tracking",
        later,
        1,
    )
    assert (stored["B"].state, stored["B"].next_poll_at, stored["B"].poll_count) == (
        "error",
        None,
        1,
    )


def test_an_instant_is_stored_as_utc_whatever_its_offset(db_url: str, make_engine: Any) -> None:
    engine = make_engine(db_url)
    beijing = datetime(2026, 11, 20, 20, 0, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    with transaction(engine) as connection:
        insert_ignore(
            connection,
            SHIPMENTS,
            [shipment("A", next_poll_at=beijing)],
            conflict=("tenant", "carrier", "tracking_number"),
        )
    stored = shipments(engine)["A"].next_poll_at
    assert stored == beijing
    assert stored.utcoffset() == timedelta(0)
    assert stored.isoformat() == "2026-11-20T12:00:00.123456+00:00"


def test_sqlite_keeps_the_text_sqlalchemy_has_always_written(
    sqlite_url: str, make_engine: Any
) -> None:
    """Databases written before keep reading back the same (naive UTC text, microseconds)."""
    engine = make_engine(sqlite_url)
    with transaction(engine) as connection:
        insert_ignore(
            connection,
            SHIPMENTS,
            [shipment("A", next_poll_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))],
            conflict=("tenant", "carrier", "tracking_number"),
        )
    with engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT next_poll_at, created_at FROM shipments").one()
    assert tuple(raw) == ("2026-01-02 03:04:05.000000", "2026-11-20 12:00:00.000000")

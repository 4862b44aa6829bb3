"""Keyword-only persistence functions the pipeline, the CLI and the API share."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.core.domain import (
    CarrierFailure,
    ErrorKind,
    Exchange,
    NumberResult,
    ParsedEvent,
    TrackResult,
)
from tracking.judge.milestones import chronological
from tracking.judge.policies import stored_policy
from tracking.judge.scheduling import next_poll_at
from tracking.judge.validator import OrderFacts, Policy, ShipmentFacts, Verdict, evaluate
from tracking.read.views import EventView, ExchangeView, MilestoneView
from tracking.store.handles import table_of
from tracking.store.history import former_partners
from tracking.store.parcels import P, judge_parcels, parcel_orders
from tracking.store.portfolio import shared_tracking
from tracking.store.shipments import ensure_shipments
from tracking.store.storage import (
    EventRecord,
    ExchangeBody,
    ExchangeRecord,
    ExchangeShipment,
    OrderRecord,
    ShipmentRecord,
    VerdictHistory,
    VerdictRecord,
    compress_body,
    decompress_body,
    dumps,
    insert_ignore,
    transaction,
    upsert,
)

__all__ = [
    "Answer",
    "DueShipment",
    "OrderBundleData",
    "StoreStats",
    "claim_due_shipments",
    "due_shipments",
    "ensure_shipments",
    "event_key",
    "iter_order_ids",
    "load_orders_data",
    "raw_body",
    "recompute_verdicts",
    "store_answers",
    "store_exchange",
    "store_results",
    "upsert_orders",
]

OT = table_of(OrderRecord)
S = table_of(ShipmentRecord)
E = table_of(EventRecord)
X = table_of(ExchangeRecord)
XB = table_of(ExchangeBody)
XS = table_of(ExchangeShipment)
V = table_of(VerdictRecord)
VH = table_of(VerdictHistory)

_ORDER_UPDATE = (
    "parcel_group",
    "marketplace",
    "order_date",
    "ship_date",
    "tracking_number",
    "carrier",
    "carrier_declared",
    "carrier_source",
    "destination_country",
    "destination_postal_code",
    "destination_city",
    "order_value",
    "currency",
    "shipment_id",
    "source",
    "last_run_id",
    "updated_at",
)


def event_key(event: ParsedEvent) -> str:
    """An event's identity on its leg: stage, raw code, minute, normalized location.

    Text edits by the carrier do not create a new event.
    """
    moment = event.occurred_at
    # isoformat is the fast spelling of strftime("%Y-%m-%dT%H:%M"), which keys were made
    # with; the two differ only for years before 1000 (strftime does not pad the year).
    minute = moment.isoformat()[:16] if moment.year >= 1000 else moment.strftime("%Y-%m-%dT%H:%M")
    location = " ".join(event.location.lower().split())
    raw = f"{event.stage.value}|{event.code}|{minute}|{location}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


# -- orders ----------------------------------------------------------------------------------


def upsert_orders(
    connection: Connection,
    *,
    orders: Sequence[Mapping[str, Any]],
    shipments: Sequence[tuple[str, str, str]],
) -> None:
    """Insert or update orders and make sure their (tenant, carrier, number) shipments exist.

    Each order mapping holds the `orders` columns plus `_shipment_key` (tenant, carrier,
    number) or None; the shipment id is resolved here. A shipment is its tenant's own: two
    tenants citing one number never share it (`tracking.store.isolation`).
    """
    ids = ensure_shipments(connection, shipments, created_at=orders[0]["updated_at"])
    rows = []
    for order in orders:
        row = {k: v for k, v in order.items() if k != "_shipment_key"}
        key = order.get("_shipment_key")
        row["shipment_id"] = ids.get(key) if key else None
        rows.append(row)
    upsert(connection, OT, rows, conflict=("tenant", "order_id"), update=_ORDER_UPDATE)


# -- due shipments ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueShipment:
    id: int
    carrier: str
    tracking_number: str
    tenant: str
    """Whose shipment: a carrier request carries one tenant's numbers only."""


def due_shipments(
    engine: Engine,
    *,
    now: datetime,
    run_id: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    carriers: Iterable[str],
    limit: int | None = None,
) -> list[DueShipment]:
    """Shipments to poll: never fetched, or due; restricted to a run's in-window orders.

    Legs (last-mile shipments) of those orders are included when their carrier is known.
    """
    codes = sorted(set(carriers))
    due = sa.or_(
        S.c.state == "new",
        sa.and_(S.c.next_poll_at.is_not(None), S.c.next_poll_at <= now),
    )
    scope: sa.ColumnElement[bool] = sa.true()
    if run_id is not None:
        scope = sa.and_(scope, OT.c.last_run_id == run_id)
    if window is not None:
        scope = sa.and_(scope, OT.c.order_date >= window[0], OT.c.order_date <= window[1])
    origin_ids = sa.union(
        sa.select(OT.c.shipment_id).where(scope, OT.c.shipment_id.is_not(None)),
        sa.select(P.c.shipment_id)  # the further parcels of split orders
        .join(OT, OT.c.id == P.c.order_pk)
        .where(scope, P.c.shipment_id.is_not(None)),
    )
    base: sa.ColumnElement[bool]
    if run_id is None and window is None:
        base = sa.true()
    else:
        base = sa.or_(S.c.id.in_(origin_ids), S.c.parent_id.in_(origin_ids))
    query = (
        sa.select(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
        .where(base, due, S.c.carrier.in_(codes))
        .order_by(S.c.next_poll_at.is_not(None), S.c.next_poll_at, S.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return [DueShipment(*row) for row in connection.execute(query)]


def claim_due_shipments(
    engine: Engine,
    *,
    carriers: Iterable[str],
    now: datetime,
    claimed_until: datetime,
    limit: int,
) -> list[DueShipment]:
    """Claim up to `limit` due shipments: their `next_poll_at` becomes a lease.

    One atomic `UPDATE ... RETURNING` (with `SKIP LOCKED` on PostgreSQL), so refreshes run
    at the same time never poll a shipment twice; storing the result replaces the lease,
    and a shipment whose poller died becomes due again when the lease runs out.
    """
    codes = sorted(set(carriers))
    if not codes or limit <= 0:
        return []
    due = sa.or_(
        sa.and_(S.c.state == "new", S.c.next_poll_at.is_(None)),
        S.c.next_poll_at <= now,
    )
    picked = (
        sa.select(S.c.id)
        .where(due, S.c.carrier.in_(codes))
        .order_by(S.c.next_poll_at.is_not(None), S.c.next_poll_at, S.c.id)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    statement = (
        sa.update(S)
        .where(S.c.id.in_(picked.scalar_subquery()))
        .values(next_poll_at=claimed_until)
        .returning(S.c.id, S.c.carrier, S.c.tracking_number, S.c.tenant)
    )
    with transaction(engine) as connection:
        rows = connection.execute(statement).all()
    return sorted((DueShipment(*row) for row in rows), key=lambda s: s.id)


# -- storing carrier results -----------------------------------------------------------------


@dataclass
class StoreStats:
    fetched: int = 0
    failed: int = 0
    not_found: int = 0
    events_new: int = 0
    legs_new: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    """One carrier answer to store: per-number results, their shipments, when it was fetched."""

    shipment_ids: Mapping[str, int]
    results: Sequence[NumberResult]
    now: datetime


_EXCHANGE_COLUMNS = (
    "carrier",
    "adapter_version",
    "method",
    "url",
    "request_body",
    "status",
    "headers",
    "body_sha256",
    "fetched_at",
    "run_id",
    "tenant",
)
_SQLITE_INSERT_EXCHANGE = (
    f"INSERT INTO exchanges ({', '.join(_EXCHANGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _EXCHANGE_COLUMNS)})"
)


def _sole(tenants: set[str]) -> str | None:
    """The one tenant an exchange answered for; None when several (never served)."""
    return next(iter(tenants)) if len(tenants) == 1 else None


def _store_exchanges(
    connection: Connection,
    exchanges: Sequence[Exchange],
    run_id: str | None,
    *,
    tenants: Sequence[str | None],
) -> list[int]:
    """Store raw exchanges (bodies content-addressed, once each); their new ids, in order.

    `tenants[i]` is the tenant whose numbers exchange i carried (`exchanges.tenant`).
    """
    bodies: dict[str, dict[str, Any]] = {}
    for exchange in exchanges:
        if exchange.sha256 not in bodies:
            encoding, data = compress_body(exchange.body)
            bodies[exchange.sha256] = {
                "sha256": exchange.sha256,
                "size": len(exchange.body),
                "encoding": encoding,
                "data": data,
            }
    # Every multi-row write goes in key order, so that concurrent writers on PostgreSQL take
    # row locks in the same order and never deadlock on shared rows (e.g. one error page).
    insert_ignore(connection, XB, [bodies[k] for k in sorted(bodies)], conflict=("sha256",))
    rows = [
        (
            x.carrier,
            x.adapter_version,
            x.method,
            x.url,
            x.request_body,
            x.status,
            json.dumps(list(x.headers)),
            x.sha256,
            x.fetched_at,
            run_id,
            tenant,
        )
        for x, tenant in zip(exchanges, tenants, strict=True)
    ]
    if connection.dialect.name == "sqlite":
        # Straight to the driver, one prepared statement: the rowid comes back for free.
        return [
            int(
                connection.exec_driver_sql(
                    _SQLITE_INSERT_EXCHANGE, (*row[:8], _sqlite_time(row[8]), *row[9:])
                ).lastrowid
            )
            for row in rows
        ]
    statement = sa.insert(X).returning(X.c.id)
    return [
        int(
            connection.execute(
                statement, dict(zip(_EXCHANGE_COLUMNS, row, strict=True))
            ).scalar_one()
        )
        for row in rows
    ]


def store_exchange(
    engine: Engine, exchange: Exchange, *, shipment_ids: Sequence[int], run_id: str | None
) -> int:
    """Store one raw exchange that changes no shipment's state (e.g. a "stopped" notice).

    It is linked to `shipment_ids` as evidence, like a fetched answer, once for each tenant
    that owns one of them (an exchange is served only to its tenant: `tracking.store.isolation`);
    with no shipment it is kept for nobody. Returns the id of the last row stored.
    """
    with transaction(engine) as connection:
        owners: dict[str | None, list[int]] = defaultdict(list)
        wanted = sorted(set(shipment_ids))
        for start in range(0, len(wanted), 900):
            for sid, tenant in connection.execute(
                sa.select(S.c.id, S.c.tenant).where(S.c.id.in_(wanted[start : start + 900]))
            ):
                owners[tenant].append(sid)
        exchange_id = 0
        for tenant, sids in sorted(owners.items(), key=lambda item: item[0] or "") or [(None, [])]:
            [exchange_id] = _store_exchanges(connection, [exchange], run_id, tenants=[tenant])
            insert_ignore(
                connection,
                XS,
                [{"exchange_id": exchange_id, "shipment_id": s} for s in sids],
                conflict=("exchange_id", "shipment_id"),
            )
    return exchange_id


def store_results(
    engine: Engine,
    *,
    shipment_ids: Mapping[str, int],
    results: Sequence[NumberResult],
    now: datetime,
    run_id: str | None,
    leg_carrier: str = "",
) -> StoreStats:
    """Store one carrier response (raw exchanges, events, shipment state) in one transaction."""
    [stats] = store_answers(
        engine,
        answers=[Answer(shipment_ids, results, now)],
        run_id=run_id,
        leg_carrier=leg_carrier,
    )
    return stats


def store_answers(
    engine: Engine,
    *,
    answers: Sequence[Answer],
    run_id: str | None,
    leg_carrier: str = "",
) -> list[StoreStats]:
    """Store carrier answers (raw exchanges, events, shipment state) in one transaction.

    Each answer is stored whole or not at all; several go in one transaction so that a busy
    pull pays one commit for many answers. Last-mile legs a carrier reveals are linked to
    their shipment; a leg whose carrier is not named goes to `leg_carrier` (the last-mile
    tracker), or stays unassigned (""). Returns one `StoreStats` per answer.
    """
    if not answers:
        return []
    with transaction(engine) as connection:
        wanted = sorted({sid for a in answers for sid in a.shipment_ids.values()})
        previous: dict[int, Any] = {}
        for start in range(0, len(wanted), 900):
            previous.update(
                (row.id, row)
                for row in connection.execute(
                    sa.select(
                        S.c.id,
                        S.c.final,
                        S.c.state,
                        S.c.not_found_since,
                        S.c.first_fetched_at,
                        S.c.tenant,
                    ).where(S.c.id.in_(wanted[start : start + 900]))
                )
            )
        exchanges: dict[int, Exchange] = {}
        owners: dict[int, set[str]] = defaultdict(set)  # exchange -> tenants it answered for
        for answer in answers:
            for result in answer.results:
                owner = previous[answer.shipment_ids[result.tracking_number]].tenant
                for exchange in result.exchanges:
                    exchanges.setdefault(id(exchange), exchange)
                    owners[id(exchange)].add(owner)
        stored = _store_exchanges(
            connection,
            list(exchanges.values()),
            run_id,
            tenants=[_sole(owners[key]) for key in exchanges],
        )
        exchange_ids = dict(zip(exchanges, stored, strict=True))
        links: set[tuple[int, int]] = set()
        events: list[tuple[Any, ...]] = []
        updates: list[dict[str, Any]] = []
        legs: list[dict[str, Any]] = []
        all_stats: list[StoreStats] = []
        counted: list[tuple[StoreStats, int]] = []  # (stats, how many events it added)
        for answer in answers:
            stats = StoreStats()
            all_stats.append(stats)
            now = answer.now
            first_event = len(events)
            for result in answer.results:
                sid = answer.shipment_ids[result.tracking_number]
                for exchange in result.exchanges:
                    links.add((exchange_ids[id(exchange)], sid))
                last_exchange = exchange_ids[id(result.exchanges[-1])] if result.exchanges else None
                prev = previous[sid]
                update: dict[str, Any] = {
                    "_id": sid,
                    "last_fetched_at": now,
                    "first_fetched_at": prev.first_fetched_at or now,
                }
                outcome = result.outcome
                if isinstance(outcome, TrackResult):
                    stats.fetched += 1
                    update.update(_track_update(outcome, prev, now))
                    assert last_exchange is not None
                    events.extend(_event_rows(outcome, sid, last_exchange, now))
                    for leg in outcome.legs:
                        if leg.tracking_number and leg.tracking_number != result.tracking_number:
                            legs.append(
                                {
                                    "tenant": prev.tenant,
                                    "carrier": leg.carrier or leg_carrier,
                                    "tracking_number": leg.tracking_number,
                                    "parent_id": sid,
                                    "role": leg.role,
                                    "carrier_name": leg.carrier_name[:128],
                                    "state": "new",
                                    "carrier_status": "",
                                    "final": False,
                                    "poll_count": 0,
                                    "created_at": now,
                                }
                            )
                            stats.legs_new += 1
                else:
                    update.update(_failure_update(outcome, prev, now))
                    if outcome.kind in (ErrorKind.NOT_FOUND, ErrorKind.AWAITING_DATA):
                        stats.not_found += 1
                    else:
                        stats.failed += 1
                updates.append(update)
            counted.append((stats, len(events) - first_event))
        insert_ignore(
            connection,
            XS,
            [{"exchange_id": x, "shipment_id": s} for x, s in sorted(links)],
            conflict=("exchange_id", "shipment_id"),
        )
        if events:
            events.sort(key=lambda row: (row[0], row[1]))  # (shipment, dedup key)
            _apportion_new_events(counted, _insert_events(connection, events))
        if legs:
            legs.sort(key=lambda row: (row["tenant"], row["carrier"], row["tracking_number"]))
            insert_ignore(connection, S, legs, conflict=("tenant", "carrier", "tracking_number"))
        # Stable: a shipment answered twice in the group keeps its later update last.
        updates.sort(key=lambda row: int(row["_id"]))
        _apply_updates(connection, updates)
    return all_stats


def _apportion_new_events(counted: Sequence[tuple[StoreStats, int]], new: int) -> None:
    """Share the transaction's count of new events among its answers (exact for one answer).

    The database reports one count for the whole insert; answers are credited in order, each
    with at most the events it carried, so totals are always exact.
    """
    for stats, offered in counted:
        stats.events_new = min(offered, new)
        new -= stats.events_new


def _track_update(outcome: TrackResult, prev: Any, now: datetime) -> dict[str, Any]:
    ordered = chronological(outcome.events)
    latest = ordered[-1].stage.value if ordered else None
    return {
        "state": "final" if outcome.final else "tracking",
        "final": outcome.final,
        "latest_stage": latest,
        "carrier_status": outcome.carrier_status[:128],
        "origin_country": outcome.origin_country,
        "destination_country": outcome.destination_country,
        "error_kind": None,
        "error_message": None,
        "not_found_since": None,
        "last_event_at": ordered[-1].occurred_at if ordered else None,
        "next_poll_at": next_poll_at(
            now=now,
            state="tracking",
            latest_stage=latest,
            final=outcome.final,
            was_final=bool(prev.final),
            not_found_since=None,
        ),
    }


def _event_rows(
    outcome: TrackResult, sid: int, exchange_id: int, now: datetime
) -> Iterator[tuple[Any, ...]]:
    """The answer's events as rows in `_EVENT_COLUMNS` order."""
    for event in outcome.events:
        yield (
            sid,
            event_key(event),
            event.stage.value,
            event.code[:128],
            event.description,
            event.location[:512],
            event.country,
            event.occurred_at,
            event.local_offset,
            event.time_source.value,
            event.raw_time[:128],
            exchange_id,
            now,
        )


_EVENT_COLUMNS = (
    "shipment_id",
    "dedup_key",
    "stage",
    "code",
    "description",
    "location",
    "country",
    "occurred_at",
    "local_offset",
    "time_source",
    "raw_time",
    "exchange_id",
    "first_seen_at",
)
_SQLITE_INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _EVENT_COLUMNS)}) "
    "ON CONFLICT (shipment_id, dedup_key) DO NOTHING"
)


def _sqlite_time(moment: datetime) -> str:
    """An aware instant as SQLAlchemy's SQLite DATETIME stores it (UTC, naive text)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} cannot be stored")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_value(value: Any) -> Any:
    return _sqlite_time(value) if isinstance(value, datetime) else value


def _insert_events(connection: Connection, events: list[tuple[Any, ...]]) -> int:
    """Insert event rows (`_EVENT_COLUMNS` order), skipping known ones; how many were new.

    Events are the bulk of every write, so on SQLite they go straight to the driver's
    executemany (one prepared statement, no per-row type processing); the stored text is
    exactly what SQLAlchemy itself writes and reads back.
    """
    if connection.dialect.name != "sqlite":
        return insert_ignore(
            connection,
            E,
            [dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in events],
            conflict=("shipment_id", "dedup_key"),
            count=True,
        )
    seen_at: dict[datetime, str] = {}  # one `first_seen_at` per answer: format it once
    params = []
    for row in events:
        first_seen = seen_at.get(row[12])
        if first_seen is None:
            first_seen = seen_at[row[12]] = _sqlite_time(row[12])
        params.append((*row[:7], _sqlite_time(row[7]), *row[8:12], first_seen))
    result = connection.exec_driver_sql(_SQLITE_INSERT_EVENTS, params)
    return max(result.rowcount, 0)


def _failure_update(outcome: CarrierFailure, prev: Any, now: datetime) -> dict[str, Any]:
    if outcome.kind in (ErrorKind.NOT_FOUND, ErrorKind.AWAITING_DATA):
        # Awaiting an aggregator's first fetch is a not-yet-known number polled sooner.
        state = "not_found" if outcome.kind is ErrorKind.NOT_FOUND else "awaiting_data"
        since = prev.not_found_since or now
        return {
            "state": state,
            "error_kind": outcome.kind.value,
            "error_message": outcome.message[:1024],
            "not_found_since": since,
            "next_poll_at": next_poll_at(
                now=now,
                state=state,
                latest_stage=None,
                final=False,
                was_final=False,
                not_found_since=since,
            ),  # None once given up (`scheduling.given_up`)
        }
    # Keep what a previous fetch proved; record the error and back off as the failure
    # streak (`not_found_since`: failing since) ages - the one give-up rule of `scheduling`.
    state = prev.state if prev.state in ("tracking", "final") else "error"
    since = prev.not_found_since or now
    return {
        "state": state,
        "error_kind": outcome.kind.value,
        "error_message": outcome.message[:1024],
        "not_found_since": since,
        "next_poll_at": next_poll_at(
            now=now,
            state="error",
            latest_stage=None,
            final=False,
            was_final=False,
            not_found_since=since,
            retry_at=outcome.retry_at,
            error_kind=outcome.kind.value,
        ),  # None once given up (`scheduling.given_up`)
    }


_UPDATE_COLUMNS = (
    "state",
    "final",
    "latest_stage",
    "carrier_status",
    "origin_country",
    "destination_country",
    "error_kind",
    "error_message",
    "not_found_since",
    "last_event_at",
    "next_poll_at",
    "last_fetched_at",
    "first_fetched_at",
)


def _apply_updates(connection: Connection, updates: list[dict[str, Any]]) -> None:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for update in updates:
        cols = tuple(c for c in _UPDATE_COLUMNS if c in update)
        groups[cols].append(update)
    sqlite = connection.dialect.name == "sqlite"
    for cols, rows in groups.items():
        if sqlite:
            # Straight to the driver, as for events: one prepared statement for the group.
            sql = (
                "UPDATE shipments SET poll_count = poll_count + 1, "
                + ", ".join(f"{c} = ?" for c in cols)
                + " WHERE id = ?"
            )
            connection.exec_driver_sql(
                sql, [(*(_sqlite_value(r[c]) for c in cols), r["_id"]) for r in rows]
            )
            continue
        stmt = (
            sa.update(S)
            .where(S.c.id == sa.bindparam("_id"))
            .values(
                poll_count=S.c.poll_count + 1,
                **{c: sa.bindparam(f"v_{c}") for c in cols},
            )
        )
        connection.execute(
            stmt, [{"_id": r["_id"], **{f"v_{c}": r[c] for c in cols}} for r in rows]
        )


# -- verdicts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderBundleData:
    """An order with everything its verdict and evidence need."""

    order: Any  # row of `orders`
    shipments: tuple[Any, ...]  # origin leg first
    events: tuple[EventView, ...]
    exchanges: tuple[ExchangeView, ...]


def iter_order_ids(
    engine: Engine,
    *,
    run_id: str | None = None,
    tenant: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    chunk: int = 1000,
) -> Iterator[list[int]]:
    """Order primary keys in chunks (keyset pagination), filtered by run, tenant, window."""
    last = 0
    while True:
        query = sa.select(OT.c.id).where(OT.c.id > last)
        if run_id is not None:
            query = query.where(OT.c.last_run_id == run_id)
        if tenant is not None:
            query = query.where(OT.c.tenant == tenant)
        if window is not None:
            query = query.where(OT.c.order_date >= window[0], OT.c.order_date <= window[1])
        with engine.connect() as connection:
            ids = list(connection.execute(query.order_by(OT.c.id).limit(chunk)).scalars())
        if not ids:
            return
        yield ids
        last = ids[-1]


def load_orders_data(
    connection: Connection, order_ids: Sequence[int], *, with_exchanges: bool = True
) -> list[OrderBundleData]:
    """Orders with their legs, events and exchanges, in four queries for the whole chunk.

    Without `with_exchanges` (what judging needs), the exchange list stays empty and its
    query is skipped; events still name the exchange they came from.
    """
    orders = list(connection.execute(sa.select(OT).where(OT.c.id.in_(order_ids)).order_by(OT.c.id)))
    return bundles_for(connection, orders, with_exchanges=with_exchanges)


def bundles_for(
    connection: Connection, orders: Sequence[Any], *, with_exchanges: bool = True
) -> list[OrderBundleData]:
    """`load_orders_data` for order rows already read (or a split order's parcels, each as a
    copy of its order's row: see `tracking.store.parcels.parcel_orders`), in their order."""
    origin_ids = sorted({o.shipment_id for o in orders if o.shipment_id is not None})
    origin_set = set(origin_ids)
    shipments: dict[int, list[Any]] = defaultdict(list)
    all_ids: list[int] = []
    if origin_ids:
        rows = connection.execute(
            sa.select(S)
            .where(sa.or_(S.c.id.in_(origin_ids), S.c.parent_id.in_(origin_ids)))
            .order_by(S.c.id)
        )
        for row in rows:
            owner = row.id if row.parent_id is None or row.id in origin_set else row.parent_id
            shipments[owner].append(row)
            all_ids.append(row.id)
        for owner in shipments:
            shipments[owner].sort(key=lambda r: (r.parent_id is not None, r.id))
    by_shipment: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for event_row in _event_rows_of(connection, all_ids):
        by_shipment[event_row[0]].append(event_row)
    exchanges: dict[int, list[Any]] = defaultdict(list)
    if all_ids and with_exchanges:
        for row in connection.execute(
            sa.select(
                XS.c.shipment_id,
                X.c.carrier,
                X.c.method,
                X.c.url,
                X.c.status,
                X.c.fetched_at,
                X.c.headers,
                X.c.tenant,
                XB.c.sha256,
                XB.c.size,
            )
            .join(X, X.c.id == XS.c.exchange_id)
            .join(XB, XB.c.sha256 == X.c.body_sha256)
            .where(XS.c.shipment_id.in_(all_ids))
            .order_by(X.c.fetched_at, X.c.id)
        ):
            exchanges[row.shipment_id].append(row)
    data: list[OrderBundleData] = []
    for order in orders:
        legs = tuple(shipments.get(order.shipment_id, [])) if order.shipment_id else ()
        events: list[EventView] = []
        seen: dict[str, ExchangeView] = {}
        for leg in legs:
            carrier, number = leg.carrier, leg.tracking_number
            # Positional, in EventView's field order (stage ... country), for speed.
            events.extend(
                EventView(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], carrier, number, r[9])
                for r in by_shipment.get(leg.id, ())
            )
            for x in exchanges.get(leg.id, []):
                # Only the order's tenant's own requests (`tracking.store.isolation`).
                if x.sha256 not in seen and x.tenant == order.tenant:
                    pairs = tuple((str(k), str(v)) for k, v in json.loads(x.headers))
                    headers = dict(pairs)
                    seen[x.sha256] = ExchangeView(
                        sha256=x.sha256,
                        carrier=x.carrier,
                        method=x.method,
                        url=x.url,
                        status=x.status,
                        fetched_at=x.fetched_at,
                        size=x.size,
                        content_type=headers.get("content-type", "application/octet-stream"),
                        headers=pairs,
                    )
        events.sort(key=lambda e: e.occurred_at)
        data.append(
            OrderBundleData(
                order=order,
                shipments=legs,
                events=tuple(events),
                exchanges=tuple(seen.values()),
            )
        )
    return data


_EVENT_VIEW_COLUMNS = (
    E.c.shipment_id,
    E.c.stage,
    E.c.code,
    E.c.description,
    E.c.occurred_at,
    E.c.local_offset,
    E.c.time_source,
    E.c.location,
    E.c.country,
    X.c.body_sha256,
)


def _event_rows_of(
    connection: Connection, shipment_ids: Sequence[int]
) -> Iterator[tuple[Any, ...]]:
    """(shipment id, stage, code, description, occurred_at, local_offset, time_source,
    location, country, exchange sha256) of the shipments' events, oldest first per shipment.
    """
    for start in range(0, len(shipment_ids), 900):
        query = (
            sa.select(*_EVENT_VIEW_COLUMNS)
            .join(X, X.c.id == E.c.exchange_id)
            .where(E.c.shipment_id.in_(shipment_ids[start : start + 900]))
            .order_by(E.c.occurred_at, E.c.id)
        )
        yield from connection.execute(query)


def facts(
    data: OrderBundleData, *, shared_with: Sequence[str] = (), merged_with: Sequence[str] = ()
) -> tuple[OrderFacts, list[ShipmentFacts]]:
    """The validator's inputs for one order.

    `shared_with` names the other orders (`tenant/order id`) citing the same tracking number
    (see `tracking.store.portfolio.shared_tracking`).
    """
    o = data.order
    order = OrderFacts(
        order_id=o.order_id,
        order_date=o.order_date,
        destination_country=o.destination_country,
        carrier=o.carrier,
        carrier_declared=o.carrier_declared,
        carrier_source=o.carrier_source,
        order_value=o.order_value,
        currency=o.currency,
        tenant=o.tenant,
        tracking_number=o.tracking_number,
        destination_postal_code=o.destination_postal_code or "",
        destination_city=o.destination_city or "",
        shared_with=tuple(shared_with),
        merged_with=tuple(merged_with),
    )
    legs = [
        ShipmentFacts(
            carrier=s.carrier,
            tracking_number=s.tracking_number,
            role=s.role,
            state=s.state,
            final=bool(s.final),
            error_kind=s.error_kind,
            error_message=s.error_message,
            destination_country=s.destination_country,
            first_fetched_at=s.first_fetched_at,
            last_fetched_at=s.last_fetched_at,
            not_found_since=s.not_found_since,
        )
        for s in data.shipments
    ]
    return order, legs


def milestones_json(milestones: Sequence[MilestoneView]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in milestones:
        event = m.event
        out[m.stage] = {
            "status": m.status,
            "occurred_at": event.occurred_at.isoformat() if event else None,
            "carrier": event.carrier if event else None,
            "tracking_number": event.tracking_number if event else None,
            "code": event.code if event else None,
            "exchange": event.exchange_sha256 if event else None,
            "note": m.note,
        }
    return out


def verdict_payload(verdict: Verdict) -> tuple[str, str, str]:
    """(milestones JSON, findings JSON, digest) of a verdict."""
    stored = milestones_json(verdict.milestones)
    if verdict.parcels:  # a split order: each parcel's own milestones, for its evidence
        stored["parcels"] = [
            {"tracking_number": number, "status": status, "milestones": milestones_json(ms)}
            for number, status, ms in verdict.parcels
        ]
    milestones = dumps(stored)
    findings = dumps(
        [
            {
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "message_zh": f.message_zh,
                "evidence": list(f.evidence),
            }
            for f in verdict.findings
        ]
    )
    digest = hashlib.sha256(
        f"{verdict.status}|{verdict.policy}|{milestones}|{findings}".encode()
    ).hexdigest()
    return milestones, findings, digest


def recompute_verdicts(
    engine: Engine,
    *,
    order_ids: Sequence[int],
    as_of: datetime,
    policy: Policy,
    now: datetime,
) -> dict[int, Verdict]:
    """Evaluate and store the verdicts of `order_ids`; history grows only on change.

    Cross-order findings are kept true on both sides: orders outside `order_ids` that share
    (or used to share) a tracking number with one of them are judged again too, under the
    policy of their stored verdict, and stored when their verdict changed. Only the verdicts
    of `order_ids` are returned.
    """
    verdicts: dict[int, Verdict] = {}
    with transaction(engine) as connection:
        chunk = load_orders_data(connection, order_ids, with_exchanges=False)
        shared = shared_tracking(connection, [(d.order.id, d.order.tracking_number) for d in chunk])
        partners = {ref.pk for refs in shared.values() for ref in refs}
        partners |= former_partners(connection, order_ids)
        partners -= set(order_ids)
        stored: dict[int, tuple[str, str]] = {}
        wanted = [*order_ids, *sorted(partners)]
        for start in range(0, len(wanted), 1000):
            stored.update(
                (pk, (digest, name))
                for pk, digest, name in connection.execute(
                    sa.select(V.c.order_pk, V.c.digest, V.c.policy).where(
                        V.c.order_pk.in_(wanted[start : start + 1000])
                    )
                )
            )
        # A partner is judged again only when it has a verdict (else its own pull judges it),
        # under its own verdict's policy.
        partner_policy: dict[int, Policy] = {}
        for pk in sorted(partners):
            if pk in stored:
                found = stored_policy(stored[pk][1], current=policy)
                if found is not None:
                    partner_policy[pk] = found
        others = (
            load_orders_data(connection, sorted(partner_policy), with_exchanges=False)
            if partner_policy
            else []
        )
        if others:
            shared.update(
                shared_tracking(connection, [(d.order.id, d.order.tracking_number) for d in others])
            )
        rows: list[dict[str, Any]] = []
        parcels: dict[int, list[OrderBundleData]] = defaultdict(list)
        split = parcel_orders(connection, [d.order for d in [*chunk, *others]])
        flat = [p for ps in split.values() for p in ps]
        for bundle in bundles_for(connection, flat, with_exchanges=False):
            parcels[bundle.order.id].append(bundle)
        for data in [*chunk, *others]:
            pk = data.order.id
            refs = shared.get(pk, ())
            group = getattr(data.order, "parcel_group", "") or ""
            merged = [  # the same store's orders the export puts in this very parcel
                r for r in refs if group and r.tenant == data.order.tenant and r.group == group
            ]
            order, legs = facts(
                data,
                shared_with=[r.ref for r in refs if r not in merged],
                merged_with=[r.ref for r in merged],
            )
            verdict = evaluate(
                order=order,
                shipments=legs,
                events=data.events,
                as_of=as_of,
                policy=partner_policy.get(pk, policy),
            )
            if pk in parcels:  # a split order: every parcel judged, all needed
                judged = []
                for parcel in parcels[pk]:
                    number = parcel.order.tracking_number
                    cited = shared_tracking(connection, [(pk, number)]).get(pk, ())
                    parcel_order, parcel_legs = facts(parcel, shared_with=[r.ref for r in cited])
                    judged.append(
                        (
                            parcel_order.tracking_number,
                            evaluate(
                                order=parcel_order,
                                shipments=parcel_legs,
                                events=parcel.events,
                                as_of=as_of,
                                policy=partner_policy.get(pk, policy),
                            ),
                        )
                    )
                verdict = judge_parcels(order.tracking_number, verdict, judged)
            if pk not in partner_policy:
                verdicts[pk] = verdict
            milestones, findings, digest = verdict_payload(verdict)
            if pk in stored and stored[pk][0] == digest:
                continue
            rows.append(
                {
                    "order_pk": pk,
                    "status": verdict.status,
                    "policy": verdict.policy,
                    "milestones": milestones,
                    "findings": findings,
                    "digest": digest,
                    "computed_at": now,
                }
            )
        if rows:
            upsert(
                connection,
                V,
                rows,
                conflict=("order_pk",),
                update=("status", "policy", "milestones", "findings", "digest", "computed_at"),
            )
            connection.execute(sa.insert(VH), rows)
    return verdicts


def raw_body(engine: Engine, sha256: str) -> bytes:
    """The original bytes of a stored raw response."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(XB.c.encoding, XB.c.data).where(XB.c.sha256 == sha256)
        ).one_or_none()
    if row is None:
        raise KeyError(sha256)
    return decompress_body(row.encoding, row.data)

"""Storing carrier answers: raw exchanges, new events, shipment state and revealed legs.

`store_answers` writes a group of answers in one transaction (a busy pull pays one commit
for many answers: the group-commit writer of `tracking.fetch.pipeline`); each is stored whole
or not at all. Events are insert-or-ignore on their identity (`event_key`), so storing an
answer twice never duplicates one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
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
from tracking.judge.scheduling import next_poll_at
from tracking.store.engine import transaction
from tracking.store.exchanges import link_exchanges, sole_tenant, store_exchanges
from tracking.store.tables import EVENTS, SHIPMENTS
from tracking.store.writes import insert_ignore, update_rows

__all__ = ["Answer", "StoreStats", "event_key", "store_answers", "store_results"]


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


@dataclass
class StoreStats:
    """What storing one answer did: shipments fetched, failed or not found, events and
    last-mile legs that were new."""

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
                        SHIPMENTS.c.id,
                        SHIPMENTS.c.final,
                        SHIPMENTS.c.state,
                        SHIPMENTS.c.not_found_since,
                        SHIPMENTS.c.first_fetched_at,
                        SHIPMENTS.c.tenant,
                    ).where(SHIPMENTS.c.id.in_(wanted[start : start + 900]))
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
        stored = store_exchanges(
            connection,
            list(exchanges.values()),
            run_id,
            tenants=[sole_tenant(owners[key]) for key in exchanges],
        )
        exchange_ids = dict(zip(exchanges, stored, strict=True))
        links: set[tuple[int, int]] = set()
        events: list[dict[str, Any]] = []
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
                    "id": sid,
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
        link_exchanges(connection, sorted(links))
        if events:
            events.sort(key=lambda row: (row["shipment_id"], row["dedup_key"]))
            new = insert_ignore(
                connection, EVENTS, events, conflict=("shipment_id", "dedup_key"), count=True
            )
            _apportion_new_events(counted, new)
        if legs:
            legs.sort(key=lambda row: (row["tenant"], row["carrier"], row["tracking_number"]))
            insert_ignore(
                connection, SHIPMENTS, legs, conflict=("tenant", "carrier", "tracking_number")
            )
        # Stable: a shipment answered twice in the group keeps its later update last.
        updates.sort(key=lambda row: int(row["id"]))
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
) -> Iterator[dict[str, Any]]:
    """The answer's events as `events` rows."""
    for event in outcome.events:
        yield {
            "shipment_id": sid,
            "dedup_key": event_key(event),
            "stage": event.stage.value,
            "code": event.code[:128],
            "description": event.description,
            "location": event.location[:512],
            "country": event.country,
            "occurred_at": event.occurred_at,
            "local_offset": event.local_offset,
            "time_source": event.time_source.value,
            "raw_time": event.raw_time[:128],
            "exchange_id": exchange_id,
            "first_seen_at": now,
        }


def _failure_update(outcome: CarrierFailure, prev: Any, now: datetime) -> dict[str, Any]:
    since = prev.not_found_since or now
    retry_at: datetime | None = None  # a blocked carrier's back-off, for an error
    if outcome.kind in (ErrorKind.NOT_FOUND, ErrorKind.AWAITING_DATA):
        # Awaiting an aggregator's first fetch is a not-yet-known number polled sooner.
        state = "not_found" if outcome.kind is ErrorKind.NOT_FOUND else "awaiting_data"
        polled_as = state
    else:
        # Keep what a previous fetch proved; record the error and back off as the failure
        # streak (`not_found_since`: failing since) ages - the one give-up rule of `scheduling`.
        state = prev.state if prev.state in ("tracking", "final") else "error"
        polled_as, retry_at = "error", outcome.retry_at
    return {
        "state": state,
        "error_kind": outcome.kind.value,
        "error_message": outcome.message[:1024],
        "not_found_since": since,
        "next_poll_at": next_poll_at(
            now=now,
            state=polled_as,
            latest_stage=None,
            final=False,
            was_final=False,
            not_found_since=since,
            retry_at=retry_at,
            error_kind=outcome.kind.value,  # weighs only on an error's schedule
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
    """Each shipment's new state (`id` names it), one executemany per set of columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for update in updates:
        groups[tuple(c for c in _UPDATE_COLUMNS if c in update)].append(update)
    for columns, rows in groups.items():
        update_rows(
            connection, SHIPMENTS, rows, key="id", columns=columns, increment=("poll_count",)
        )

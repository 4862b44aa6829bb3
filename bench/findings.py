"""Findings at scale: judge every order of a 100,000-order database, cross-order checks included.

Builds a synthetic SQLite database with bulk inserts (orders, shipments, raw exchanges,
events; no HTTP): mostly delivered parcels, some in transit, returned, lost or unknown to the
carrier, about 1 % of orders citing a number another order (often of another store) also
cites, and some wrong destinations. Then times `recompute_verdicts` over every order in
chunks of 1,000, as a pull does: once with every verdict new, once with nothing changed.
Bound: all findings of 100,000 orders within 120 s on one core.

    python bench/findings.py [--orders 100000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from tracking.core.domain import ParsedEvent, Stage, TimeSource
from tracking.judge.validator import POLICIES
from tracking.store.answers import event_key
from tracking.store.engine import open_engine
from tracking.store.orders import iter_order_ids
from tracking.store.tables import (
    EventRecord,
    ExchangeBody,
    ExchangeRecord,
    ExchangeShipment,
    OrderRecord,
    ShipmentRecord,
    VerdictRecord,
)
from tracking.store.verdicts import recompute_verdicts

BOUND_SECONDS = 120.0
AS_OF = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)
COUNTRIES = ("RU", "US", "IL", "BR", "FR", "DE", "ES", "PL", "GB", "UA", "KZ", "CL")
TENANTS = ("shop-a", "shop-b", "shop-c", "shop-d")
SCENARIOS = (
    ("delivered", 80),
    ("in_transit", 8),
    ("returned", 4),
    ("lost", 3),
    ("not_found", 5),
)
JOURNEY = (
    (Stage.INFO_RECEIVED, 0.0, "CN"),
    (Stage.PICKED_UP, 1.0, "CN"),
    (Stage.ORIGIN_FACILITY, 1.3, "CN"),
    (Stage.EXPORT_CUSTOMS, 2.0, "CN"),
    (Stage.DEPARTED_ORIGIN, 2.8, "CN"),
    (Stage.IN_TRANSIT, 3.5, "HK"),
    (Stage.ARRIVED_DESTINATION, 5.0, "*"),
    (Stage.IMPORT_CUSTOMS, 5.6, "*"),
    (Stage.DESTINATION_FACILITY, 7.0, "*"),
    (Stage.OUT_FOR_DELIVERY, 9.0, "*"),
    (Stage.DELIVERED, 9.4, "*"),
)


def _scenario(rng: random.Random) -> str:
    point = rng.randrange(100)
    for name, weight in SCENARIOS:
        if point < weight:
            return name
        point -= weight
    return SCENARIOS[0][0]


def _stages(scenario: str) -> list[tuple[Stage, float, str]]:
    if scenario == "delivered":
        return list(JOURNEY)
    if scenario == "in_transit":
        return list(JOURNEY[:6])
    if scenario == "returned":
        return [*JOURNEY[:10], (Stage.RETURNING, 20.0, "*"), (Stage.RETURNED, 40.0, "CN")]
    if scenario == "lost":
        return [*JOURNEY[:6], (Stage.EXCEPTION, 25.0, "HK")]
    return []


def build(engine: sa.Engine, count: int, *, seed: int = 7) -> Counter[str]:
    """Bulk-insert `count` synthetic orders with their shipments, exchanges and events."""
    rng = random.Random(seed)
    now = AS_OF
    stats: Counter[str] = Counter()
    tables = {
        name: model.__table__  # type: ignore[attr-defined]
        for name, model in (
            ("orders", OrderRecord),
            ("shipments", ShipmentRecord),
            ("bodies", ExchangeBody),
            ("exchanges", ExchangeRecord),
            ("links", ExchangeShipment),
            ("events", EventRecord),
        )
    }
    batch = 5000
    with engine.begin() as connection:
        for start in range(0, count, batch):
            orders: list[dict[str, Any]] = []
            shipments: list[dict[str, Any]] = []
            bodies: list[dict[str, Any]] = []
            exchanges: list[dict[str, Any]] = []
            links: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            for i in range(start, min(start + batch, count)):
                sid = i + 1
                number = f"LP{i:014d}"
                dest = COUNTRIES[rng.randrange(len(COUNTRIES))]
                placed = AS_OF - timedelta(days=rng.uniform(1, 89))
                scenario = _scenario(rng)
                stages = _stages(scenario)
                final = scenario in ("delivered", "returned")
                shipments.append(
                    {
                        "id": sid,
                        "carrier": "cainiao",
                        "tracking_number": number,
                        "role": "origin",
                        "carrier_name": "",
                        "state": "not_found"
                        if scenario == "not_found"
                        else ("final" if final else "tracking"),
                        "carrier_status": "",
                        "final": final,
                        "destination_country": dest if stages else None,
                        "poll_count": 1,
                        "created_at": now,
                        "first_fetched_at": now,
                        "last_fetched_at": now,
                        "not_found_since": placed if scenario == "not_found" else None,
                    }
                )
                tenant = TENANTS[i % len(TENANTS)]
                order_dest = dest if rng.random() > 0.005 else "DE" if dest != "DE" else "FR"
                orders.append(
                    {
                        "id": sid,
                        "tenant": tenant,
                        "order_id": f"O{i:07d}",
                        "marketplace": "Joom",
                        "order_date": placed,
                        "tracking_number": number,
                        "carrier": "cainiao",
                        "carrier_declared": "Cainiao",
                        "carrier_source": "declared",
                        "destination_country": order_dest,
                        "destination_postal_code": "",
                        "destination_city": "",
                        "order_value": None,
                        "currency": "",
                        "shipment_id": sid,
                        "source": "bench",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                stats[scenario] += 1
                body = f"{number}|{scenario}|{dest}".encode()
                digest = hashlib.sha256(body).hexdigest()
                bodies.append(
                    {"sha256": digest, "size": len(body), "encoding": "identity", "data": body}
                )
                exchanges.append(
                    {
                        "id": sid,
                        "carrier": "cainiao",
                        "adapter_version": "bench",
                        "method": "GET",
                        "url": f"https://carrier.example/detail.json?mailNos={number}",
                        "status": 200,
                        "headers": '[["content-type", "application/json"]]',
                        "body_sha256": digest,
                        "fetched_at": now,
                    }
                )
                links.append({"exchange_id": sid, "shipment_id": sid})
                handover = placed + timedelta(hours=rng.uniform(6, 40))
                pace = rng.uniform(0.9, 1.6)  # one pace per parcel keeps its events in order
                for stage, day, where in stages:
                    moment = handover + timedelta(days=day * pace)
                    if moment > AS_OF:  # not happened yet: the parcel is still travelling
                        shipments[-1].update(final=False, state="tracking")
                        break
                    country = dest if where == "*" else where
                    parsed = ParsedEvent(
                        stage=stage,
                        code=stage.name,
                        description=f"{stage.value} scan",
                        occurred_at=moment,
                        local_offset=480,
                        time_source=TimeSource.EXPLICIT,
                        location="",
                        country=country,
                    )
                    events.append(
                        {
                            "shipment_id": sid,
                            "dedup_key": event_key(parsed),
                            "stage": stage.value,
                            "code": stage.name,
                            "description": parsed.description,
                            "location": "",
                            "country": country,
                            "occurred_at": moment,
                            "local_offset": 480,
                            "time_source": "explicit",
                            "raw_time": "",
                            "exchange_id": sid,
                            "first_seen_at": now,
                        }
                    )
            # About 1 % of the orders cite the number of an earlier order (often another store).
            for order in orders:
                if order["id"] > 1 and rng.random() < 0.005:
                    other = rng.randrange(1, order["id"])
                    order["tracking_number"] = f"LP{other - 1:014d}"
                    stats["shares_a_number"] += 1
            connection.execute(sa.insert(tables["shipments"]), shipments)
            connection.execute(sa.insert(tables["orders"]), orders)
            connection.execute(sa.insert(tables["bodies"]), bodies)
            connection.execute(sa.insert(tables["exchanges"]), exchanges)
            connection.execute(sa.insert(tables["links"]), links)
            connection.execute(sa.insert(tables["events"]), events)
            stats["events"] += len(events)
    return stats


def judge_all(engine: sa.Engine) -> tuple[float, Counter[str]]:
    """Recompute every verdict in chunks of 1,000 orders; (seconds, verdict counts)."""
    counts: Counter[str] = Counter()
    now = datetime.now(UTC)
    started = time.perf_counter()
    for ids in iter_order_ids(engine):
        verdicts = recompute_verdicts(
            engine, order_ids=ids, as_of=AS_OF, policy=POLICIES["default"], now=now
        )
        counts.update(v.status for v in verdicts.values())
    return time.perf_counter() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # one core, as the bound says
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/findings.db")
        t0 = time.perf_counter()
        stats = build(engine, args.orders)
        built = time.perf_counter() - t0
        print(
            f"built {args.orders} orders, {stats['events']} events in {built:.1f} s "
            f"({', '.join(f'{k} {v}' for k, v in sorted(stats.items()) if k != 'events')})"
        )
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        first, counts = judge_all(engine)
        if profiler:
            profiler.disable()
        second, _ = judge_all(engine)
        codes: Counter[str] = Counter()
        with engine.connect() as connection:
            v = VerdictRecord.__table__  # type: ignore[attr-defined]
            for (text,) in connection.execute(sa.select(v.c.findings)):
                codes.update({f"{f['code']} ({f['severity']})" for f in json.loads(text)})
        print(f"verdicts {dict(sorted(counts.items()))}")
        print("orders per finding: " + ", ".join(f"{k} {n}" for k, n in codes.most_common()))
        print(
            f"first judgement (every verdict new) {first:7.1f} s  "
            f"{args.orders / first:8.0f} orders/s"
        )
        print(
            f"judged again (nothing changed)      {second:7.1f} s  "
            f"{args.orders / second:8.0f} orders/s"
        )
        bound = BOUND_SECONDS * args.orders / 100_000
        print(f"bound {bound:.0f} s for {args.orders} orders: ratio {first / bound:.2f}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue())
        engine.dispose()


if __name__ == "__main__":
    main()

"""The pull and refresh use cases: read orders, fetch under each carrier's limits, store, judge.

`pull` reads an orders file (or takes the tenant's stored orders), fetches what is due and
judges every order of the run; `refresh` polls every shipment that is due; `poll` polls given
shipments of one carrier (a worker's batch job). The CLI, the API's jobs and the workers call
these, never their parts. Every step is idempotent: a run may be interrupted at any moment and
run again.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from carriers.base import CarrierInfo
from carriers.kit.network import Network
from tracking.core.config import Settings
from tracking.core.numbers import detect
from tracking.fetch.fetcher import open_fetcher
from tracking.fetch.orders import ORDER_CHUNK, ingest_orders
from tracking.fetch.report import ProgressHook, PullReport
from tracking.fetch.writer import DbThread, fetch_all, fetch_and_store
from tracking.ingest import OrdersFile, RejectedRow, open_orders, write_errors
from tracking.judge.validator import Policy
from tracking.store.orders import iter_order_ids
from tracking.store.polls import add_probes, lost_origins, orders_touching
from tracking.store.runs import (
    claim_tenant_orders,
    finish_run,
    order_carriers,
    record_run,
    start_run,
)
from tracking.store.shipments import DueShipment, claim_due_shipments, due_shipments
from tracking.store.verdicts import recompute_verdicts

__all__ = ["REFRESH_LEASE", "ProgressHook", "PullReport", "poll", "pull", "refresh"]

REFRESH_LEASE = timedelta(hours=1)
"""How long a refresh holds the shipments it claimed before another may take them."""
_EVERY_POLL = datetime(9999, 1, 1, tzinfo=UTC)
"""As "now" of a due query: every shipment still followed is due (`poll_now`)."""


def _window(as_of: datetime, days: int) -> tuple[datetime, datetime]:
    return as_of - timedelta(days=days), as_of


def _finish(engine: Engine, *, report: PullReport, started: datetime) -> None:
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    finish_run(engine, run_id=report.run_id, status="done", stats=report.as_json())


@asynccontextmanager
async def _recorded_run(
    engine: Engine, *, kind: str, source: str, report: PullReport, started: datetime
) -> AsyncIterator[DbThread]:
    """The database thread of one run: recorded as started before the body, done after it."""
    db = DbThread(engine)
    try:
        await db.run(start_run, run_id=report.run_id, kind=kind, source=source)
        yield db
        await db.run(_finish, report=report, started=started)
    finally:
        db.close()


def _judge(
    engine: Engine,
    *,
    order_ids: Iterable[list[int]],
    as_of: datetime,
    policy: Policy,
    report: PullReport,
) -> None:
    """Judge `order_ids` (in batches) again; count the verdicts, in all and per carrier."""
    counts: Counter[str] = Counter()
    per_carrier: dict[str, Counter[str]] = defaultdict(Counter)
    now = datetime.now(UTC)
    for ids in order_ids:
        verdicts = recompute_verdicts(engine, order_ids=ids, as_of=as_of, policy=policy, now=now)
        carrier_of = order_carriers(engine, order_ids=ids)
        for order_pk, verdict in verdicts.items():
            counts[verdict.status] += 1
            per_carrier[carrier_of.get(order_pk) or "unknown"][verdict.status] += 1
        report.orders_in_window += len(verdicts)
    report.verdicts = {k: counts.get(k, 0) for k in ("pass", "fail", "pending")}
    for code, c in per_carrier.items():
        report.carrier(code).update({k: c.get(k, 0) for k in ("pass", "fail", "pending")})


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    return (list(ids[i : i + ORDER_CHUNK]) for i in range(0, len(ids), ORDER_CHUNK))


async def pull(
    *,
    engine: Engine,
    settings: Settings,
    orders_path: Path | None,
    carriers: Mapping[str, CarrierInfo],
    as_of: datetime,
    window_days: int,
    policy: Policy,
    tenant: str = "default",
    errors_path: Path | None = None,
    network: Network | None = None,
    progress: ProgressHook | None = None,
    fetcher_options: Mapping[str, Any] | None = None,
    orders_file: OrdersFile | None = None,
    poll_now: bool = False,
) -> PullReport:
    """Read `orders_path`, fetch what is due, store every raw response, judge every order.

    With `orders_path` None, nothing is read: the tenant's stored orders in the window are
    fetched and judged (the HTTP API imports orders first, then starts a pull).
    With `poll_now`, every shipment still followed is polled now (failed ones included), not
    at its next poll time.
    Raises `InputError` (before anything is written) when the file cannot be used at all.
    """
    started = datetime.now(UTC)
    run_id = str(uuid.uuid4())
    report = PullReport(run_id=run_id)
    window = _window(as_of, window_days)
    report.window = (window[0].isoformat(), window[1].isoformat())
    if orders_path is not None:
        # fail fast on an unusable file, before writing (the caller may have opened it already,
        # with the seller's --map and --timezone)
        orders_file = orders_file or open_orders(orders_path, tenant=tenant)
    source = str(orders_path) if orders_path is not None else f"tenant:{tenant}"
    async with _recorded_run(
        engine, kind="pull", source=source, report=report, started=started
    ) as db:
        if orders_path is not None:
            rejected: list[RejectedRow] = []
            await db.run(
                ingest_orders,
                path=orders_path,
                tenant=tenant,
                run_id=run_id,
                carriers=carriers,
                rejected=rejected,
                report=report,
                orders_file=orders_file,
            )
            if rejected:
                target = errors_path or Path(f"{orders_path.stem}.errors.csv")
                write_errors(target, rejected)
                report.errors_file = str(target)
        else:
            await db.run(claim_tenant_orders, tenant=tenant, run_id=run_id, window=window)
        async with open_fetcher(
            settings=settings,
            carriers=carriers,
            network=network,
            **dict(fetcher_options or {}),
        ) as fetcher:
            for _round in range(2):  # the second round fetches legs revealed by the first
                due = await db.run(
                    due_shipments,
                    now=_EVERY_POLL if poll_now and _round == 0 else datetime.now(UTC),
                    run_id=run_id,
                    window=window,
                    carriers=fetcher.codes,
                )
                if not due:
                    break
                report.shipments_due += len(due)
                await fetch_all(
                    db=db,
                    fetcher=fetcher,
                    due=due,
                    report=report,
                    run_id=run_id,
                    progress=progress,
                )
                if _round == 0:
                    await db.run(_probe_other_carriers, run_id=run_id, codes=fetcher.codes)
            report.requests = fetcher.requests_sent()
        await db.run(
            _judge,
            order_ids=iter_order_ids(engine, run_id=run_id, window=window),
            as_of=as_of,
            policy=policy,
            report=report,
        )
    return report


async def refresh(
    *,
    engine: Engine,
    settings: Settings,
    carriers: Mapping[str, CarrierInfo],
    as_of: datetime,
    policy: Policy,
    limit: int | None = None,
    network: Network | None = None,
    progress: ProgressHook | None = None,
    fetcher_options: Mapping[str, Any] | None = None,
    poll_now: bool = False,
) -> PullReport:
    """Poll every shipment that is due (at most `limit`) and re-judge the orders they touch.

    With `poll_now`, every shipment still followed is due (failed ones included)."""
    started = datetime.now(UTC)
    run_id = str(uuid.uuid4())
    report = PullReport(run_id=run_id)
    async with _recorded_run(
        engine, kind="refresh", source="", report=report, started=started
    ) as db:
        async with open_fetcher(
            settings=settings,
            carriers=carriers,
            network=network,
            **dict(fetcher_options or {}),
        ) as fetcher:
            now = datetime.now(UTC)
            due = await db.run(
                claim_due_shipments,
                carriers=fetcher.codes,
                now=_EVERY_POLL if poll_now else now,
                claimed_until=now + REFRESH_LEASE,
                limit=limit if limit is not None else 10_000_000,
            )
            report.shipments_due = len(due)
            await fetch_all(
                db=db, fetcher=fetcher, due=due, report=report, run_id=run_id, progress=progress
            )
            report.requests = fetcher.requests_sent()
        touched = await db.run(orders_touching, shipment_ids=[s.id for s in due])
        await db.run(_judge, order_ids=_chunks(touched), as_of=as_of, policy=policy, report=report)
    return report


async def poll(
    *,
    engine: Engine,
    settings: Settings,
    carriers: Mapping[str, CarrierInfo],
    carrier: str,
    shipments: Sequence[DueShipment],
    policy: Policy,
    network: Network | None = None,
    fetcher_options: Mapping[str, Any] | None = None,
) -> PullReport | None:
    """Poll `shipments` of one `carrier` now, store, re-judge the orders they touch: a
    worker's batch job. None (nothing done) when `carrier` is not reachable in this run.

    Only `carrier` is fetched, but every carrier of `carriers` counts as reachable, so legs
    revealed here go to the same last-mile carrier as in a pull (`last_mile_carrier`).
    The run is recorded (`runs`, kind `refresh`, source `worker`) with the report.
    """
    started = datetime.now(UTC)
    run_id = str(uuid.uuid4())
    async with open_fetcher(
        settings=settings,
        carriers=carriers,
        network=network,
        only=(carrier,),
        **dict(fetcher_options or {}),
    ) as fetcher:
        if carrier not in fetcher.codes:
            return None
        report = await fetch_and_store(engine, fetcher=fetcher, due=shipments, run_id=run_id)
    db = DbThread(engine)
    try:
        touched = await db.run(orders_touching, shipment_ids=[s.id for s in shipments])
        now = datetime.now(UTC)
        await db.run(_judge, order_ids=_chunks(touched), as_of=now, policy=policy, report=report)
        await db.run(
            record_run,
            run_id=run_id,
            kind="refresh",
            source="worker",
            started=started,
            status="done",
            stats=report.poll_counts(),
        )
    finally:
        db.close()
    return report


def _probe_other_carriers(engine: Engine, *, run_id: str, codes: Sequence[str]) -> int:
    """Ask another carrier for numbers the declared one does not know.

    When the number looks like another registered carrier's (the orders file named the
    wrong carrier or channel), that carrier is asked too, as a linked "probe" leg. A probe
    proves no milestone; when it finds the parcel the verdict says which carrier really has
    it (`carrier.actual_differs`). Returns how many probes were added.
    """
    from carriers.registry import all_carriers

    registry = {c: i for c, i in all_carriers().items() if c in codes}
    probes: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for lost in lost_origins(engine, run_id=run_id):
        other = next(
            (
                c.carrier
                for c in detect(lost.tracking_number, registry).candidates
                if c.carrier != lost.carrier
            ),
            None,
        )
        if other is not None:
            probes.append(
                {
                    "tenant": lost.tenant,
                    "carrier": other,
                    "tracking_number": lost.tracking_number,
                    "parent_id": lost.id,
                    "role": "probe",
                    "carrier_name": registry[other].name,
                    "state": "new",
                    "carrier_status": "",
                    "final": False,
                    "poll_count": 0,
                    "created_at": now,
                }
            )
    add_probes(engine, probes)
    return len(probes)

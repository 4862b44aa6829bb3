"""The pull and refresh pipeline: read orders, fetch under each carrier's limits, store, judge.

Every step is idempotent: a pull may be interrupted at any moment and run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from carriers.base import CarrierAdapter, CarrierInfo, RateLimit
from carriers.http import CarrierHttp, RequestLimiter, default_timeout
from carriers.kit.factory import create_adapter
from carriers.kit.network import Network
from tracking.core.config import Settings, load_carrier_settings
from tracking.core.domain import CarrierFailure, ErrorKind, NumberResult
from tracking.core.numbers import detect
from tracking.fetch.outcome import note_problems, outcome
from tracking.fetch.tenant_carriers import TenantCarriers
from tracking.ingest import OrderRow, OrdersFile, ParcelRow, RejectedRow, open_orders, write_errors
from tracking.judge.validator import Policy
from tracking.store.answers import Answer, StoreStats, store_answers
from tracking.store.engine import transaction
from tracking.store.handles import table_of
from tracking.store.isolation import tenant_batches
from tracking.store.orders import iter_order_ids, upsert_orders
from tracking.store.parcels import store_parcels
from tracking.store.shipments import DueShipment, claim_due_shipments, due_shipments
from tracking.store.tables import ORDER_PARCELS as PARCELS
from tracking.store.tables import OrderRecord, RunRecord, ShipmentRecord
from tracking.store.verdicts import recompute_verdicts
from tracking.store.writes import insert_ignore

__all__ = [
    "Fetcher",
    "ProgressHook",
    "PullReport",
    "fetch_and_store",
    "open_fetcher",
    "order_row",
    "orders_touching",
    "pull",
    "refresh",
]

T = TypeVar("T")

ProgressHook = Callable[[str, int, int], None]
"""Called as (carrier code, numbers done, numbers total)."""

_ORDER_CHUNK = 1000

REFRESH_LEASE = timedelta(hours=1)
"""How long a refresh holds the shipments it claimed before another may take them."""
_EVERY_POLL = datetime(9999, 1, 1, tzinfo=UTC)
"""As "now" of a due query: every shipment still followed is due (`poll_now`)."""

LAST_MILE_TRACKER = "17track"
"""The aggregator that tracks a last-mile number revealed at hand-over."""


@dataclass
class PullReport:
    """What a pull or refresh did, as `pull --json` prints it."""

    run_id: str
    rows_read: int = 0
    rows_rejected: int = 0
    orders_read: int = 0  # rows of one store and order id are one order
    item_rows: int = 0  # further rows (items) of an order already read
    parcels_stored: int = 0  # further parcels of split orders (another tracking number)
    orders_stored: int = 0
    orders_in_window: int = 0
    shipments_due: int = 0
    shipments_fetched: int = 0
    shipments_not_found: int = 0
    shipments_failed: int = 0
    events_new: int = 0
    legs_found: int = 0
    requests: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"pass": 0, "fail": 0, "pending": 0})
    by_carrier: dict[str, dict[str, int]] = field(default_factory=dict)
    errors_file: str | None = None
    source: dict[str, str] | None = None  # the file as read: profile, sheet, time zone
    window: tuple[str, str] | None = None
    seconds: float = 0.0
    notices: dict[str, str] = field(default_factory=dict)
    """Per carrier, what a user must know about the run (a carrier refusing requests)."""
    problems: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per carrier, its failures by kind and a message of each (`tracking.fetch.outcome`)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "orders_read": self.orders_read,
            "item_rows": self.item_rows,
            "parcels_stored": self.parcels_stored,
            "orders_stored": self.orders_stored,
            "orders_in_window": self.orders_in_window,
            "shipments_due": self.shipments_due,
            "shipments_fetched": self.shipments_fetched,
            "shipments_not_found": self.shipments_not_found,
            "shipments_failed": self.shipments_failed,
            "events_new": self.events_new,
            "legs_found": self.legs_found,
            "requests": self.requests,
            "verdicts": self.verdicts,
            "by_carrier": self.by_carrier,
            "errors_file": self.errors_file,
            "source": self.source,
            "window": {"start": self.window[0], "end": self.window[1]} if self.window else None,
            "seconds": round(self.seconds, 3),
            "notices": self.notices,
            "outcome": outcome(self),
            "problems": self.problems,
        }


def note_blocks(report: PullReport, code: str, results: Sequence[NumberResult]) -> None:
    """Keep the latest "<carrier> is refusing automated requests; retrying at ..." line."""
    for result in results:
        outcome = result.outcome
        if isinstance(outcome, CarrierFailure) and outcome.kind is ErrorKind.BLOCKED:
            report.notices[code] = outcome.message.split(" (the answer was ", 1)[0]
            return


def _choose_carrier(row: OrderRow, carriers: Mapping[str, CarrierInfo]) -> tuple[str | None, str]:
    """(carrier code, how it was chosen).

    `declared`: the declared carrier, consistent with the number; `declared_mismatch`: the
    declared carrier, though the number looks like another's; `detected`: none declared;
    `channel_mismatch`: a declared channel we cannot track (e.g. "Joom Logistics") and the
    number belongs to another carrier; `none`: nothing recognizes the number.

    A declared carrier is kept even when the number does not look like one of its numbers
    (the seller may know better); the contradiction becomes a finding, never an override.
    """
    detection = detect(row.tracking_number, carriers)
    if row.carrier is not None and row.carrier in carriers:
        matches = {c.carrier for c in detection.candidates}
        if matches and row.carrier not in matches:
            return row.carrier, "declared_mismatch"
        return row.carrier, "declared"
    if detection.best is not None:
        return detection.best, "channel_mismatch" if row.carrier_declared else "detected"
    return None, "none"


# -- fetching --------------------------------------------------------------------------------


@dataclass
class _Bound:
    info: CarrierInfo
    adapter: CarrierAdapter
    http: CarrierHttp


class Fetcher:
    """The carrier adapters of one run, sharing one `httpx.AsyncClient`."""

    def __init__(
        self,
        bound: Mapping[str, _Bound],
        *,
        leg_carrier: str = "",
        tenants: TenantCarriers | None = None,
    ) -> None:
        self._bound = dict(bound)
        self._tenants = tenants  # tenants' own carrier accounts, if any are configured
        self.leg_carrier = leg_carrier
        """Carrier that tracks last-mile legs whose carrier is not named ("" for none)."""

    @property
    def codes(self) -> list[str]:
        return sorted(self._bound)

    def info(self, code: str) -> CarrierInfo:
        return self._bound[code].info

    def requests_sent(self) -> int:
        own = self._tenants.requests_sent() if self._tenants is not None else 0
        return own + sum(b.http.requests_sent for b in self._bound.values())

    async def track(self, code: str, numbers: Sequence[str], *, tenant: str = "") -> list[Any]:
        """Ask carrier `code` about `numbers`, all of them `tenant`'s: with the tenant's own
        account when it has one (`tracking.fetch.tenant_carriers`), else the server's."""
        if self._tenants is not None:
            adapter = self._tenants.adapter(code, tenant)
            if adapter is not None:
                return await adapter.track(numbers)
        return await self._bound[code].adapter.track(numbers)


@asynccontextmanager
async def open_fetcher(
    *,
    settings: Settings,
    carriers: Mapping[str, CarrierInfo],
    network: Network | None = None,
    rate_overrides: Mapping[str, float] | None = None,
    timeout_seconds: float | None = None,
    max_attempts: int | None = None,
    backoff: float = 0.5,
    limiter_factory: Callable[[str, RateLimit], RequestLimiter] | None = None,
) -> AsyncIterator[Fetcher]:
    """Adapters for `carriers`, reached through `network` (the real APIs by default).

    A `network` with its own accounts (a sandbox's) reaches only the carriers it has an
    account for, with that account; tenants' own accounts are not used then.
    `limiter_factory(code, rate)` supplies each carrier's request limiter; a shared one keeps
    the carrier's limit across worker processes. In-process limiters when not given.
    """
    network = network or Network()
    plans: list[tuple[str, CarrierInfo, Any, RateLimit]] = []
    for code, info in carriers.items():
        if not network.reaches(code):
            continue  # e.g. no sandbox for this carrier: not fetched in a sandbox run
        carrier_settings = load_carrier_settings(
            info.settings_model, settings=settings, code=code, overrides=network.account(code)
        )
        per_second = (rate_overrides or {}).get(code) or carrier_settings.rate_per_second
        rate = RateLimit(
            per_second or info.rate_limit.per_second,
            concurrency=carrier_settings.concurrency or info.rate_limit.concurrency,
        )
        plans.append((code, info, carrier_settings, rate))
    # One client per carrier, its pool as large as that carrier's requests in flight: httpcore
    # checks every pooled connection on each request, so a shared or larger pool only costs
    # CPU. The TLS context is built once for all of them.
    ssl_context = httpx.create_ssl_context()
    async with contextlib.AsyncExitStack() as stack:
        bound: dict[str, _Bound] = {}
        clients: dict[str, httpx.AsyncClient] = {}

        def make_http(code: str, carrier_settings: Any, rate: RateLimit, key: str) -> CarrierHttp:
            return CarrierHttp(
                client=clients[code],
                carrier=code,
                adapter_version=carriers[code].adapter_version,
                rate_limit=rate,
                secrets=carrier_settings.secret_values(),
                max_attempts=max_attempts or carrier_settings.max_attempts,
                backoff=backoff,
                deadline=(timeout_seconds or carrier_settings.timeout_seconds) * 1.5,
                limiter=limiter_factory(key, rate) if limiter_factory else None,
                name=carriers[code].name,
            )

        for code, info, carrier_settings, rate in plans:
            pool = rate.concurrency + 1
            clients[code] = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=network.transport,
                    verify=ssl_context,
                    timeout=default_timeout(timeout_seconds or 20.0),
                    limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                    follow_redirects=False,
                )
            )
            http = make_http(code, carrier_settings, rate, code)
            bound[code] = _Bound(info, create_adapter(info, carrier_settings, http=http), http)

        def tenant_http(code: str, tenant: str, carrier_settings: Any) -> CarrierHttp:
            # The tenant's own account: its own rate limit (shared across workers by key).
            server = bound[code].http.rate_limit
            rate = RateLimit(
                carrier_settings.rate_per_second or server.per_second,
                concurrency=carrier_settings.concurrency or server.concurrency,
            )
            account = hashlib.sha256(tenant.encode()).hexdigest()[:16]  # short, fixed length
            return make_http(code, carrier_settings, rate, f"{code}@{account}")

        tenants = (
            None
            if not network.own_accounts or settings.tenant_credentials_file is None
            else TenantCarriers(
                settings, carriers={c: carriers[c] for c in bound}, build_http=tenant_http
            )
        )
        leg_carrier = LAST_MILE_TRACKER if LAST_MILE_TRACKER in bound else ""
        yield Fetcher(bound, leg_carrier=leg_carrier, tenants=tenants)


class _Db:
    """Runs storage work on one dedicated thread, off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="track-evidence-db")

    async def run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(self.engine, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class _Writer:
    """Stores carrier answers on the database thread, many answers per transaction.

    Fetching never waits for a commit: answers queue up while the previous transaction runs
    and go in the next one (group commit), so a busy pull pays one commit for many answers
    and an idle one stores each answer at once. The backlog is bounded in numbers, so a slow
    database slows fetching rather than filling memory. An answer is stored whole or not at
    all; answers still queued when the process dies are simply fetched again by the next run.
    If storing fails, every later `put` and `close` raises that error (nothing waits forever).
    """

    _MAX_NUMBERS = 500
    """Numbers stored per transaction at most (larger groups cost memory, not speed)."""

    _LINGER = 0.05
    """Seconds an answer may wait for others to share its transaction."""

    def __init__(
        self,
        db: _Db,
        *,
        run_id: str,
        leg_carrier: str,
        on_stored: Callable[[str, int, StoreStats], None],
        backlog_numbers: int = 4 * _MAX_NUMBERS,
    ) -> None:
        self._db = db
        self._run_id = run_id
        self._leg_carrier = leg_carrier
        self._on_stored = on_stored
        self._queue: asyncio.Queue[tuple[str, Answer] | None] = asyncio.Queue()
        self._backlog = 0  # numbers queued, not stored yet
        self._max_backlog = backlog_numbers
        self._room = asyncio.Event()
        self._error: BaseException | None = None
        self._task = asyncio.create_task(self._run())

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._task.done():
            raise RuntimeError("the storage writer stopped")

    async def put(self, carrier: str, answer: Answer) -> None:
        """Queue one answer for storing (waits while the backlog is full)."""
        self._check()
        while self._backlog >= self._max_backlog:
            self._room.clear()
            await self._room.wait()
            self._check()
        self._backlog += len(answer.results)
        self._queue.put_nowait((carrier, answer))

    async def close(self) -> None:
        """Store everything queued, then stop; raises what storing raised, if anything."""
        self._queue.put_nowait(None)
        await asyncio.shield(self._task)
        if self._error is not None:
            raise self._error

    async def _run(self) -> None:
        try:
            while True:
                batch, stop = await self._next_batch()
                if batch and self._error is None:
                    try:
                        stored = await self._db.run(
                            store_answers,
                            answers=[answer for _, answer in batch],
                            run_id=self._run_id,
                            leg_carrier=self._leg_carrier,
                        )
                        for (carrier, answer), stats in zip(batch, stored, strict=True):
                            self._on_stored(carrier, len(answer.results), stats)
                    except Exception as exc:  # re-raised by put() and close()
                        self._error = exc
                self._backlog -= sum(len(answer.results) for _, answer in batch)
                self._room.set()
                if stop:
                    return
        except BaseException as exc:  # cancelled: nobody may wait for room any more
            self._error = self._error or exc
            self._room.set()
            raise

    async def _next_batch(self) -> tuple[list[tuple[str, Answer]], bool]:
        """The next answers to store together, and whether the writer was closed."""
        loop = asyncio.get_running_loop()
        item = await self._queue.get()
        batch: list[tuple[str, Answer]] = []
        numbers = 0
        # Linger briefly for more answers: one commit then covers many of them.
        deadline = loop.time() + self._LINGER
        while item is not None:
            batch.append(item)
            numbers += len(item[1].results)
            if numbers >= self._MAX_NUMBERS:
                break
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                wait = deadline - loop.time()
                if wait <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), wait)
                except TimeoutError:
                    break
        return batch, item is None


async def _fetch_all(
    *,
    db: _Db,
    fetcher: Fetcher,
    due: Sequence[DueShipment],
    report: PullReport,
    run_id: str,
    progress: ProgressHook | None,
) -> None:
    by_carrier: dict[str, list[DueShipment]] = defaultdict(list)
    for shipment in due:
        by_carrier[shipment.carrier].append(shipment)
    done: Counter[str] = Counter()

    def on_stored(code: str, numbers: int, stats: StoreStats) -> None:
        counts = report.by_carrier[code]
        report.shipments_fetched += stats.fetched
        report.shipments_not_found += stats.not_found
        report.shipments_failed += stats.failed
        report.events_new += stats.events_new
        report.legs_found += stats.legs_new
        counts["fetched"] += stats.fetched
        counts["not_found"] += stats.not_found
        counts["failed"] += stats.failed
        done[code] += numbers
        if progress:
            progress(code, done[code], len(by_carrier[code]))

    writer = _Writer(db, run_id=run_id, leg_carrier=fetcher.leg_carrier, on_stored=on_stored)

    async def carrier_job(code: str, shipments: list[DueShipment]) -> None:
        info = fetcher.info(code)
        batches = tenant_batches(shipments, info.batch_size)
        queue: asyncio.Queue[list[DueShipment]] = asyncio.Queue()
        for batch in batches:
            queue.put_nowait(batch)
        counts = report.by_carrier.setdefault(
            code, {"due": 0, "fetched": 0, "not_found": 0, "failed": 0}
        )
        counts["due"] += len(shipments)
        if progress:
            progress(code, 0, len(shipments))

        async def worker() -> None:
            while True:
                try:
                    batch = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                numbers = [s.tracking_number for s in batch]
                results = await fetcher.track(code, numbers, tenant=batch[0].tenant)
                note_blocks(report, code, results)
                note_problems(report.problems, code, results)
                answer = Answer(
                    shipment_ids={s.tracking_number: s.id for s in batch},
                    results=results,
                    now=datetime.now(UTC),
                )
                await writer.put(code, answer)

        # Enough workers to keep the carrier's rate busy despite latency; the HTTP layer
        # caps requests in flight and their rate.
        workers = max(1, info.rate_limit.concurrency * 2)
        await asyncio.gather(*(worker() for _ in range(min(workers, len(batches)))))

    jobs = [asyncio.create_task(carrier_job(code, items)) for code, items in by_carrier.items()]
    try:
        await asyncio.gather(*jobs)
    except BaseException:
        # One carrier failed (or the run was cancelled): stop the others, store what came.
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        raise
    finally:
        await writer.close()


async def fetch_and_store(
    engine: Engine, *, fetcher: Fetcher, due: Sequence[DueShipment], run_id: str
) -> PullReport:
    """Fetch `due` and store every answer (group commit) on a database thread of its own.

    What a worker's refresh batch runs; `pull` and `refresh` share `_fetch_all` the same way.
    """
    report = PullReport(run_id=run_id, shipments_due=len(due))
    db = _Db(engine)
    try:
        await _fetch_all(
            db=db, fetcher=fetcher, due=due, report=report, run_id=run_id, progress=None
        )
    finally:
        db.close()
    report.requests = fetcher.requests_sent()
    return report


# -- pull ------------------------------------------------------------------------------------


def _window(as_of: datetime, days: int) -> tuple[datetime, datetime]:
    return as_of - timedelta(days=days), as_of


def _ingest(
    engine: Engine,
    *,
    path: Path,
    tenant: str,
    run_id: str,
    carriers: Mapping[str, CarrierInfo],
    rejected: list[RejectedRow],
    report: PullReport,
    orders_file: OrdersFile | None = None,
) -> None:
    orders_file = orders_file or open_orders(path, tenant=tenant)
    chunk: list[dict[str, Any]] = []
    keys: list[tuple[str, str, str]] = []
    parcels: list[dict[str, Any]] = []
    now = datetime.now(UTC)

    def flush() -> None:
        if not chunk:
            return
        with transaction(engine) as connection:
            upsert_orders(connection, orders=chunk, shipments=keys)
        report.orders_stored += len(chunk)
        chunk.clear()
        keys.clear()

    source = str(path)
    for item in orders_file:
        report.rows_read += 1
        if isinstance(item, RejectedRow):
            report.rows_rejected += 1
            rejected.append(item)
            continue
        if isinstance(item, ParcelRow):  # another parcel of a split order: stored at the end
            parcels.append(
                order_row(item.order, carriers=carriers, run_id=run_id, now=now, source=source)
            )
            continue
        chunk.append(order_row(item, carriers=carriers, run_id=run_id, now=now, source=source))
        key = chunk[-1]["_shipment_key"]
        if key is not None:
            keys.append(key)
        if len(chunk) >= _ORDER_CHUNK:
            flush()
    flush()
    if parcels:
        with transaction(engine) as connection:
            report.parcels_stored = store_parcels(connection, parcels)
    report.rows_read = orders_file.rows_read
    report.orders_read = orders_file.orders_read
    report.item_rows = orders_file.item_rows
    report.source = describe(orders_file)


def describe(orders_file: OrdersFile) -> dict[str, str]:
    """How a file was read, for `pull` output: the export recognized, the sheet, the zone."""
    profile = orders_file.profile
    return {
        "profile": profile.key if profile is not None else "",
        "profile_name": profile.name if profile is not None else "",
        "sheet": orders_file.sheet,
        "timezone": orders_file.timezone,
    }


def order_row(
    row: OrderRow,
    *,
    carriers: Mapping[str, CarrierInfo],
    run_id: str,
    now: datetime,
    source: str,
) -> dict[str, Any]:
    carrier, how = _choose_carrier(row, carriers)
    return {
        "tenant": row.tenant,
        "order_id": row.order_id,
        "marketplace": row.marketplace,
        "order_date": row.order_date,
        "ship_date": row.ship_date,
        "tracking_number": row.tracking_number,
        "carrier": carrier,
        "carrier_declared": row.carrier_declared,
        "carrier_source": how,
        "destination_country": row.destination_country,
        "destination_postal_code": row.destination_postal_code,
        "destination_city": row.destination_city,
        "order_value": row.order_value,
        "currency": row.currency,
        "parcel_group": row.parcel_group,
        "source": f"{source}:{row.row_number}"[-1024:],
        "last_run_id": run_id,
        "created_at": now,
        "updated_at": now,
        "_shipment_key": (row.tenant, carrier, row.tracking_number) if carrier else None,
    }


def _start_run(engine: Engine, *, run_id: str, kind: str, source: str) -> None:
    with transaction(engine) as connection:
        connection.execute(
            sa.insert(table_of(RunRecord)),
            {
                "id": run_id,
                "kind": kind,
                "source": source[:1024],
                "started_at": datetime.now(UTC),
                "status": "running",
                "stats": "{}",
            },
        )


def _finish_run(engine: Engine, *, run_id: str, report: PullReport, status: str) -> None:
    table = table_of(RunRecord)
    with transaction(engine) as connection:
        connection.execute(
            sa.update(table)
            .where(table.c.id == run_id)
            .values(
                finished_at=datetime.now(UTC),
                status=status,
                stats=json.dumps(report.as_json(), sort_keys=True),
            )
        )


def _judge(
    engine: Engine,
    *,
    run_id: str | None,
    order_ids: Iterable[list[int]],
    as_of: datetime,
    policy: Policy,
    report: PullReport,
) -> None:
    counts: Counter[str] = Counter()
    per_carrier: dict[str, Counter[str]] = defaultdict(Counter)
    now = datetime.now(UTC)
    carrier_of: dict[int, str] = {}
    table = table_of(OrderRecord)
    for ids in order_ids:
        verdicts = recompute_verdicts(engine, order_ids=ids, as_of=as_of, policy=policy, now=now)
        with engine.connect() as connection:
            carrier_of = dict(
                connection.execute(
                    sa.select(table.c.id, table.c.carrier).where(table.c.id.in_(ids))
                ).all()
            )
        for order_pk, verdict in verdicts.items():
            counts[verdict.status] += 1
            per_carrier[carrier_of.get(order_pk) or "unknown"][verdict.status] += 1
        report.orders_in_window += len(verdicts)
    report.verdicts = {k: counts.get(k, 0) for k in ("pass", "fail", "pending")}
    for code, c in per_carrier.items():
        entry = report.by_carrier.setdefault(
            code, {"due": 0, "fetched": 0, "not_found": 0, "failed": 0}
        )
        entry.update({k: c.get(k, 0) for k in ("pass", "fail", "pending")})


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
    db = _Db(engine)
    try:
        source = str(orders_path) if orders_path is not None else f"tenant:{tenant}"
        await db.run(_start_run, run_id=run_id, kind="pull", source=source)
        if orders_path is not None:
            rejected: list[RejectedRow] = []
            await db.run(
                _ingest,
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
            await db.run(_claim_tenant_orders, tenant=tenant, run_id=run_id, window=window)
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
                await _fetch_all(
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
            run_id=run_id,
            order_ids=iter_order_ids(engine, run_id=run_id, window=window),
            as_of=as_of,
            policy=policy,
            report=report,
        )
        report.seconds = (datetime.now(UTC) - started).total_seconds()
        await db.run(_finish_run, run_id=run_id, report=report, status="done")
        return report
    finally:
        db.close()


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
    db = _Db(engine)
    try:
        await db.run(_start_run, run_id=run_id, kind="refresh", source="")
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
            await _fetch_all(
                db=db, fetcher=fetcher, due=due, report=report, run_id=run_id, progress=progress
            )
            report.requests = fetcher.requests_sent()
        touched = await db.run(orders_touching, shipment_ids=[s.id for s in due])
        await db.run(
            _judge,
            run_id=None,
            order_ids=(touched[i : i + _ORDER_CHUNK] for i in range(0, len(touched), _ORDER_CHUNK)),
            as_of=as_of,
            policy=policy,
            report=report,
        )
        report.seconds = (datetime.now(UTC) - started).total_seconds()
        await db.run(_finish_run, run_id=run_id, report=report, status="done")
        return report
    finally:
        db.close()


def _probe_other_carriers(engine: Engine, *, run_id: str, codes: Sequence[str]) -> int:
    """Ask another carrier for numbers the declared one does not know.

    When the number looks like another registered carrier's (the orders file named the
    wrong carrier or channel), that carrier is asked too, as a linked "probe" leg. A probe
    proves no milestone; when it finds the parcel the verdict says which carrier really has
    it (`carrier.actual_differs`). Returns how many probes were added.
    """
    from carriers.registry import all_carriers

    registry = {c: i for c, i in all_carriers().items() if c in codes}
    orders = table_of(OrderRecord)
    shipments = table_of(ShipmentRecord)
    with engine.connect() as connection:
        lost = connection.execute(
            sa.select(
                shipments.c.id,
                shipments.c.carrier,
                shipments.c.tracking_number,
                shipments.c.tenant,
            )
            .join(orders, orders.c.shipment_id == shipments.c.id)
            .where(
                orders.c.last_run_id == run_id,
                shipments.c.state == "not_found",
                shipments.c.role == "origin",
            )
            .distinct()
        ).all()
    probes: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for sid, carrier, number, tenant in lost:
        other = next(
            (c.carrier for c in detect(number, registry).candidates if c.carrier != carrier),
            None,
        )
        if other is not None:
            probes.append(
                {
                    "tenant": tenant,
                    "carrier": other,
                    "tracking_number": number,
                    "parent_id": sid,
                    "role": "probe",
                    "carrier_name": registry[other].name,
                    "state": "new",
                    "carrier_status": "",
                    "final": False,
                    "poll_count": 0,
                    "created_at": now,
                }
            )
    if probes:
        with transaction(engine) as connection:
            insert_ignore(
                connection, shipments, probes, conflict=("tenant", "carrier", "tracking_number")
            )
    return len(probes)


def _claim_tenant_orders(
    engine: Engine, *, tenant: str, run_id: str, window: tuple[datetime, datetime]
) -> None:
    """Mark a tenant's stored orders in the window as this run's (what a pull then fetches)."""
    table = table_of(OrderRecord)
    with transaction(engine) as connection:
        connection.execute(
            sa.update(table)
            .where(
                table.c.tenant == tenant,
                table.c.order_date >= window[0],
                table.c.order_date <= window[1],
            )
            .values(last_run_id=run_id)
        )


def orders_touching(engine: Engine, *, shipment_ids: Sequence[int]) -> list[int]:
    """The orders whose shipment, or one of its legs, is among `shipment_ids`."""
    table = table_of(OrderRecord)
    shipments = table_of(ShipmentRecord)
    found: set[int] = set()
    with engine.connect() as connection:
        for start in range(0, len(shipment_ids), 500):
            ids = list(shipment_ids[start : start + 500])
            parents = sa.select(shipments.c.parent_id).where(
                shipments.c.id.in_(ids), shipments.c.parent_id.is_not(None)
            )
            found.update(
                connection.execute(
                    sa.select(table.c.id).where(
                        sa.or_(table.c.shipment_id.in_(ids), table.c.shipment_id.in_(parents))
                    )
                ).scalars()
            )
            found.update(  # orders shipped in several parcels, through their other parcels
                connection.execute(
                    sa.select(PARCELS.c.order_pk).where(
                        sa.or_(PARCELS.c.shipment_id.in_(ids), PARCELS.c.shipment_id.in_(parents))
                    )
                ).scalars()
            )
    return sorted(found)

"""Fetching and storing at once: carrier answers stored by a group-commit writer.

`fetch_all` fetches the due shipments of every carrier concurrently (each under its own limits,
through a `Fetcher`) and hands each answer to a `GroupWriter`, which stores many answers per
transaction on one database thread (`DbThread`) while fetching goes on.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from tracking.core.runtime import get_or_timeout
from tracking.fetch.fetcher import Fetcher
from tracking.fetch.outcome import note_problems
from tracking.fetch.report import ProgressHook, PullReport, note_blocks
from tracking.store.answers import Answer, StoreStats, store_answers
from tracking.store.isolation import tenant_batches
from tracking.store.shipments import DueShipment

__all__ = ["DbThread", "GroupWriter", "fetch_all", "fetch_and_store"]

T = TypeVar("T")


class DbThread:
    """Runs storage work on one dedicated thread, off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="track-evidence-db")

    async def run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(self.engine, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class GroupWriter:
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
        db: DbThread,
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
                got, taken = await get_or_timeout(self._queue, wait)
                if not got:
                    break
                item = taken
        return batch, item is None


async def fetch_all(
    *,
    db: DbThread,
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
        counts = report.carrier(code)
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

    writer = GroupWriter(db, run_id=run_id, leg_carrier=fetcher.leg_carrier, on_stored=on_stored)

    async def carrier_job(code: str, shipments: list[DueShipment]) -> None:
        info = fetcher.info(code)
        batches = tenant_batches(shipments, info.batch_size)
        queue: asyncio.Queue[list[DueShipment]] = asyncio.Queue()
        for batch in batches:
            queue.put_nowait(batch)
        counts = report.carrier(code)
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

    What a worker's refresh batch runs; `pull` and `refresh` call `fetch_all` the same way.
    """
    report = PullReport(run_id=run_id, shipments_due=len(due))
    db = DbThread(engine)
    try:
        await fetch_all(
            db=db, fetcher=fetcher, due=due, report=report, run_id=run_id, progress=None
        )
    finally:
        db.close()
    report.requests = fetcher.requests_sent()
    return report

"""Background loops stop when they are cancelled, even when a wake-up lands at the same moment.

On Python 3.11 `asyncio.wait_for` swallows a cancellation that arrives in the loop step in
which its inner result does (python/cpython#86296). The job runner waited for its wake-up
event that way, so an app whose last job had just ended could not stop: the lifespan awaited
the runner for ever, and a CI run hung on the API pull test. These tests cancel the loops at
every step after a wake-up and require each one to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from tracking.api.dispatch import WebhookDispatcher
from tracking.api.jobs import JobRunner
from tracking.core.runtime import get_or_timeout, wait_or_timeout

STEPS = range(8)
"""Loop steps between the wake-up and the cancellation: the race sits within the first few."""


async def _stops(start: Callable[[], Awaitable[Any]], wake: Callable[[], None], steps: int) -> None:
    task = asyncio.create_task(start())
    await asyncio.sleep(0.3)  # the loop is now waiting to be woken
    wake()
    for _ in range(steps):
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done, f"still running 5 s after being cancelled {steps} steps after a wake-up"
    assert task.cancelled()


@pytest.mark.parametrize("steps", STEPS)
async def test_a_wait_for_an_event_gives_way_to_a_cancellation(steps: int) -> None:
    event = asyncio.Event()

    async def forever() -> None:
        while True:
            await wait_or_timeout(event, 60)
            event.clear()

    await _stops(forever, event.set, steps)


@pytest.mark.parametrize("steps", STEPS)
async def test_a_wait_for_a_queue_gives_way_to_a_cancellation(steps: int) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def forever() -> None:
        while True:
            await get_or_timeout(queue, 60)

    await _stops(forever, lambda: queue.put_nowait(1), steps)


async def test_waits_time_out_and_report_it() -> None:
    assert await wait_or_timeout(asyncio.Event(), 0.01) is False
    queue: asyncio.Queue[str] = asyncio.Queue()
    assert await get_or_timeout(queue, 0.01) == (False, None)
    queue.put_nowait("answer")
    assert await get_or_timeout(queue, 0.01) == (True, "answer")


@pytest.mark.parametrize("steps", STEPS)
async def test_the_job_runner_stops_when_cancelled_right_after_a_job_ended(
    sqlite_url: str, make_engine: Callable[[str], sa.Engine], steps: int
) -> None:
    runner = JobRunner(make_engine(sqlite_url), handlers={}, poll_seconds=60)
    await _stops(runner.run, runner.wake, steps)


@pytest.mark.parametrize("steps", STEPS)
async def test_the_webhook_dispatcher_stops_when_cancelled_right_after_a_wake_up(
    sqlite_url: str, make_engine: Callable[[str], sa.Engine], steps: int
) -> None:
    dispatcher = WebhookDispatcher(make_engine(sqlite_url), poll_seconds=60)
    await _stops(dispatcher.run, dispatcher.wake, steps)

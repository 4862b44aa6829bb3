"""Process-wide settings for long batch work (pull, refresh, workers), and waits that stop."""

from __future__ import annotations

import asyncio
import gc
from typing import TypeVar

__all__ = ["get_or_timeout", "tune_gc", "wait_or_timeout"]

_T = TypeVar("_T")

_YOUNG_THRESHOLD = 20_000
"""Allocations between young-generation collections (CPython's default is 700)."""


def tune_gc() -> None:
    """Fewer, cheaper cyclic-garbage collections for a process that parses many answers.

    A pull allocates millions of short-lived objects (parsed payloads, events, rows), and
    with CPython's defaults the collector runs every 700 allocations and regularly walks
    every object the imports left behind. Those are frozen out of its sight, and the young
    generation is collected every 20,000 allocations instead (on the order of a megabyte).
    Reference counting still frees almost everything at once; only cycles wait longer.
    """
    gc.freeze()
    gc.set_threshold(_YOUNG_THRESHOLD, 20, 20)


# On Python 3.11, `asyncio.wait_for` swallows a cancellation that arrives in the same loop step
# as its inner result (python/cpython#86296, fixed in 3.12 by rebuilding wait_for on
# `asyncio.timeout`). A loop that waits with it for a wake-up event then goes on running after
# it was cancelled, and whoever awaits it at shutdown (the app's lifespan) waits for ever.
# `asyncio.timeout` counts cancellations (Task.uncancel) and lets an outside one through.


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; whether it was set. A cancellation always propagates."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def get_or_timeout(queue: asyncio.Queue[_T], seconds: float) -> tuple[bool, _T | None]:
    """(True, item) from `queue` within `seconds`, else (False, None). A cancellation always
    propagates; an item taken as it arrives stays in the queue's hands (`Queue.get` is
    cancellation-safe)."""
    try:
        async with asyncio.timeout(seconds):
            return True, await queue.get()
    except TimeoutError:
        return False, None

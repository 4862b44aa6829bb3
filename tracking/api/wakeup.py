"""What the API's background loops share (the job runner, the webhook dispatcher, the
Procrastinate runner's planner): `wake()` from any thread starts their next round now, and
`_rest()` waits for it between rounds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from tracking.core.runtime import wait_or_timeout

__all__ = ["Wakeable"]


class Wakeable:
    """A loop on an event loop that `wake()` can hurry from any thread: it `_rest()`s between
    rounds, and `wake` ends the rest while the loop runs (inside `_running()`)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Start the next round now (callable from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._event.set)

    @contextlib.contextmanager
    def _running(self) -> Iterator[None]:
        """While the loop runs on the current event loop: `wake` reaches it."""
        self._loop = asyncio.get_running_loop()
        try:
            yield
        finally:
            self._loop = None

    async def _rest(self, seconds: float) -> None:
        """Wait between two rounds: until `wake()` (or a wake during the round just done) or
        `seconds`. A cancellation always goes through (`wait_or_timeout`)."""
        await wait_or_timeout(self._event, seconds)
        self._event.clear()

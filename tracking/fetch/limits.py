"""Carrier rate limits shared by every worker process: PostgreSQL or Redis (design §12).

Each carrier has one *theoretical arrival time* (TAT, the GCRA of telecom policing) in a
shared store. `acquire()` atomically reserves the next free slot - `max(TAT, now)` - moves the
TAT one interval (1/rate s) on, and sleeps until its slot. Requests of all workers together are
therefore spaced evenly at the carrier's rate: no bursts, no polling, first come first served,
with the store's clock as the one clock.

Why not pyrate-limiter's buckets: its Redis and PostgreSQL buckets are sliding-window logs that
admit a full window's burst at once and make waiters poll; carriers (and the sandbox) police
with token buckets of about one second, so a burst plus arrival jitter earns 429s. The
reservation here is one statement (PostgreSQL) or one Lua script (Redis) per request.

* `PostgresRateLimiter` - the default of `track-evidence worker`: the `rate_slots` table
  (migration 0003), one upsert per request; no service beyond the database.
* `RedisRateLimiter` - with `--redis-url`: one `EVAL` per request, for very high rates.

A reserved slot is used even if its request is then abandoned (a crash, a cancelled job): a
limit may be under-used, never exceeded.

Blocks (`carriers.blocking`) are shared the same way: each limiter carries a `SharedBlockGate`
whose state lives in the same store, under `<prefix><code>:blocked` (the instant the back-off
ends) and `<prefix><code>:block-level` (consecutive blocks; in `rate_slots` stored as that
many seconds after the Unix epoch, in Redis as an integer). A worker reads the gate at most
once a second; a block seen by one worker closes the carrier for all of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from carriers.base import RateLimit
from carriers.blocking import BLOCK_BACKOFF, BlockBackoff
from carriers.http import RequestLimiter
from tracking.store.rate_slots import RateSlots

__all__ = [
    "DEFAULT_PREFIX",
    "PostgresRateLimiter",
    "RedisRateLimiter",
    "SharedBlockGate",
    "SharedLimits",
]

DEFAULT_PREFIX = "track-evidence:rate:"
"""Key prefix of the carriers' slots (tests use their own to stay apart)."""


_REDIS_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', 60000 + math.ceil(interval / 1000))
return tat - now
"""


_REDIS_MAX = """
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
local new = tonumber(ARGV[1])
if old > new then return tostring(old) end
redis.call('SET', KEYS[1], ARGV[1], 'EX', 172800)
return ARGV[1]
"""


class _SharedRateLimiter:
    """One carrier's shared limit: reserve the next slot in the shared store, sleep until it."""

    def __init__(self, *, limits: SharedLimits, key: str, rate: RateLimit) -> None:
        self._limits = limits
        self._key = key
        self.interval = 1.0 / rate.per_second
        self.block_gate = SharedBlockGate(limits=limits, key=key)

    async def _reserve(self) -> float:
        raise NotImplementedError

    async def acquire(self) -> None:
        """Reserve the next slot of this carrier and sleep until it comes."""
        wait = await self._reserve()
        if wait > 0:
            await asyncio.sleep(wait)


class PostgresRateLimiter(_SharedRateLimiter):
    """One carrier's shared limit in the `rate_slots` table; see the module docstring."""

    async def _reserve(self) -> float:
        return await self._limits.pg_reserve(self._key, self.interval)


class RedisRateLimiter(_SharedRateLimiter):
    """One carrier's shared limit in a Redis key; see the module docstring."""

    async def _reserve(self) -> float:
        return await self._limits.redis_reserve(self._key, self.interval)


class SharedBlockGate:
    """One carrier's block back-off in the shared store; see the module docstring."""

    def __init__(
        self, *, limits: SharedLimits, key: str, backoff: BlockBackoff = BLOCK_BACKOFF
    ) -> None:
        self._limits = limits
        self._until_key = f"{key}:blocked"
        self._level_key = f"{key}:block-level"
        self.backoff = backoff
        self._cached: tuple[float, datetime | None] | None = None

    async def blocked_until(self) -> datetime | None:
        """When the carrier's block ends (None: not blocked); read at most once a second."""
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] >= 1.0:
            self._cached = (now, await self._limits.block_get(self._until_key))
        until = self._cached[1]
        return until if until is not None and until > datetime.now(UTC) else None

    def peek(self) -> datetime | None:
        """The block end last read from the store, if still ahead (no I/O)."""
        until = self._cached[1] if self._cached is not None else None
        return until if until is not None and until > datetime.now(UTC) else None

    async def record_block(self) -> datetime:
        """One more consecutive block for every worker; the end of the back-off it earns."""
        current = await self._limits.block_get(self._until_key)
        if current is not None and current > datetime.now(UTC):
            self._cached = (time.monotonic(), current)
            return current  # another request of the same episode (any worker's)
        level = await self._limits.block_level_up(self._level_key)
        until = datetime.now(UTC) + self.backoff.delay(level)
        until = await self._limits.block_extend(self._until_key, until)
        self._cached = (time.monotonic(), until)
        return until

    async def clear(self) -> None:
        """An answer came back normally: the carrier is open and the level starts over."""
        await self._limits.block_clear(self._until_key, self._level_key)
        self._cached = (time.monotonic(), None)


class SharedLimits:
    """The connection behind every carrier's shared limiter of one process.

    `factory` is the `limiter_factory` of `tracking.fetch.pipeline.open_fetcher`. The connection
    opens lazily in the running event loop; `aclose()` it when the process is done.
    """

    def __init__(
        self, *, database_url: str | None = None, redis_url: str | None = None, prefix: str = ""
    ) -> None:
        if (database_url is None) == (redis_url is None):
            raise ValueError("give exactly one of database_url or redis_url")
        self.backend = "redis" if redis_url else "postgresql"
        self._database_url = database_url
        self._redis_url = redis_url
        self.prefix = prefix or DEFAULT_PREFIX
        self._slots = RateSlots(database_url) if database_url else None
        self._redis: Any = None
        self._script: Any = None

    def factory(self) -> Callable[[str, RateLimit], RequestLimiter]:
        """`(carrier code, rate) -> limiter`, every limiter on this one connection."""

        def make(code: str, rate: RateLimit) -> RequestLimiter:
            key = f"{self.prefix}{code}"
            if self.backend == "redis":
                return RedisRateLimiter(limits=self, key=key, rate=rate)
            return PostgresRateLimiter(limits=self, key=key, rate=rate)

        return make

    def _pg(self) -> RateSlots:
        assert self._slots is not None  # the PostgreSQL backend
        return self._slots

    async def pg_reserve(self, key: str, interval: float) -> float:
        """Seconds until the slot reserved for `key` (negative or 0: now)."""
        return await self._pg().reserve(key, interval)

    async def redis_reserve(self, key: str, interval: float) -> float:
        """Seconds until the slot reserved for `key` (0: now)."""
        if self._redis is None:
            from redis import asyncio as aioredis

            assert self._redis_url is not None
            self._redis = aioredis.from_url(self._redis_url)
            self._script = self._redis.register_script(_REDIS_RESERVE)
        micros = await self._script(keys=[key], args=[round(interval * 1_000_000)])
        return int(micros) / 1_000_000

    def _redis_client(self) -> Any:
        if self._redis is None:
            from redis import asyncio as aioredis

            assert self._redis_url is not None
            self._redis = aioredis.from_url(self._redis_url)
            self._script = self._redis.register_script(_REDIS_RESERVE)
        return self._redis

    async def block_get(self, key: str) -> datetime | None:
        """The instant stored under a block key (None when there is none)."""
        if self.backend == "redis":
            raw = await self._redis_client().get(key)
            return datetime.fromtimestamp(float(raw), UTC) if raw is not None else None
        return await self._pg().get(key)

    async def block_level_up(self, key: str) -> int:
        """Add one to a carrier's consecutive-block count; the new count."""
        if self.backend == "redis":
            return int(await self._redis_client().incr(key))
        return await self._pg().level_up(key)

    async def block_extend(self, key: str, until: datetime) -> datetime:
        """Move a carrier's block end to `until` unless it is already later; the end."""
        if self.backend == "redis":
            raw = await self._redis_client().eval(_REDIS_MAX, 1, key, str(until.timestamp()))
            return datetime.fromtimestamp(float(raw), UTC)
        return await self._pg().extend(key, until)

    async def block_clear(self, *keys: str) -> None:
        """Forget a carrier's block (both keys)."""
        if self.backend == "redis":
            await self._redis_client().delete(*keys)
            return
        await self._pg().clear(list(keys))

    async def aclose(self) -> None:
        """Close the connection (if one was opened)."""
        if self._slots is not None:
            await self._slots.aclose()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

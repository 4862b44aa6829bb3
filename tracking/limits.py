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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from carriers.base import RateLimit
from carriers.http import RequestLimiter

__all__ = [
    "DEFAULT_PREFIX",
    "PostgresRateLimiter",
    "RedisRateLimiter",
    "SharedLimits",
    "libpq_url",
]

DEFAULT_PREFIX = "track-evidence:rate:"
"""Key prefix of the carriers' slots (tests use their own to stay apart)."""

_PG_RESERVE = """
INSERT INTO rate_slots (key, tat)
VALUES (%(key)s, clock_timestamp() + %(interval)s * interval '1 second')
ON CONFLICT (key) DO UPDATE
SET tat = GREATEST(rate_slots.tat, clock_timestamp()) + %(interval)s * interval '1 second'
RETURNING EXTRACT(EPOCH FROM (tat - clock_timestamp()))::float8 - %(interval)s AS wait
"""

_REDIS_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', 60000 + math.ceil(interval / 1000))
return tat - now
"""


def libpq_url(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL (`postgresql+psycopg://` -> `postgresql://`)."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresRateLimiter:
    """One carrier's shared limit in the `rate_slots` table; see the module docstring."""

    def __init__(self, *, limits: SharedLimits, key: str, rate: RateLimit) -> None:
        self._limits = limits
        self._key = key
        self.interval = 1.0 / rate.per_second

    async def acquire(self) -> None:
        """Reserve the next slot of this carrier and sleep until it comes."""
        wait = await self._limits.pg_reserve(self._key, self.interval)
        if wait > 0:
            await asyncio.sleep(wait)


class RedisRateLimiter:
    """One carrier's shared limit in a Redis key; see the module docstring."""

    def __init__(self, *, limits: SharedLimits, key: str, rate: RateLimit) -> None:
        self._limits = limits
        self._key = key
        self.interval = 1.0 / rate.per_second

    async def acquire(self) -> None:
        """Reserve the next slot of this carrier and sleep until it comes."""
        wait = await self._limits.redis_reserve(self._key, self.interval)
        if wait > 0:
            await asyncio.sleep(wait)


class SharedLimits:
    """The connection behind every carrier's shared limiter of one process.

    `factory` is the `limiter_factory` of `tracking.pipeline.open_fetcher`. The connection
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
        self._pg: Any = None
        self._pg_lock: asyncio.Lock | None = None
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

    async def pg_reserve(self, key: str, interval: float) -> float:
        """Seconds until the slot reserved for `key` (negative or 0: now)."""
        import psycopg

        if self._pg_lock is None:
            self._pg_lock = asyncio.Lock()
        async with self._pg_lock:  # one statement at a time on the process's connection
            if self._pg is None or self._pg.closed:
                assert self._database_url is not None
                self._pg = await psycopg.AsyncConnection.connect(
                    libpq_url(self._database_url), autocommit=True
                )
            cursor = await self._pg.execute(_PG_RESERVE, {"key": key, "interval": interval})
            row = await cursor.fetchone()
        return float(row[0]) if row else 0.0

    async def redis_reserve(self, key: str, interval: float) -> float:
        """Seconds until the slot reserved for `key` (0: now)."""
        if self._redis is None:
            from redis import asyncio as aioredis

            assert self._redis_url is not None
            self._redis = aioredis.from_url(self._redis_url)
            self._script = self._redis.register_script(_REDIS_RESERVE)
        micros = await self._script(keys=[key], args=[round(interval * 1_000_000)])
        return int(micros) / 1_000_000

    async def aclose(self) -> None:
        """Close the connection (if one was opened)."""
        if self._pg is not None:
            await self._pg.close()
            self._pg = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

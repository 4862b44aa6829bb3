"""The sandbox carrier server: each carrier's real wire format over a simulated world.

Every carrier that ships a `sandbox.py` renderer is served under `/<code>` followed by the
path of its real API (`/cainiao/global/detail.json`, `/yunexpress/api/Tracking/...`). The
server can add latency, enforce each carrier's rate limit (429 + `Retry-After`) and inject
faults (5xx, 429, hangs, truncated bodies) at given rates, reproducibly from a seed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from carriers.base import CarrierInfo, SandboxReply, SandboxRequest
from carriers.kit.network import Network
from tracking.sandbox.world import World

__all__ = [
    "SANDBOX_ROOT",
    "CarrierStats",
    "SandboxOptions",
    "SandboxServer",
    "sandbox_network",
]

SANDBOX_ROOT = "http://sandbox.invalid"
"""Base of sandbox URLs when it runs in-process (the host name is never resolved)."""


_CHALLENGE = SandboxReply(
    200,
    b"<!DOCTYPE html><html><head><title>Verification needed</title></head><body>"
    b'<div class="baxia-dialog"><iframe src="/_____tmd_____/punish?x5secdata=sandbox">'
    b"</iframe></div></body></html>",
    content_type="text/html; charset=utf-8",
)
"""An invented Alibaba-style captcha wall (the markers `carriers.blocking` recognises)."""


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """How the sandbox behaves.

    **Parameters:**

    * **latency_ms** - (low, high) of a uniform per-request delay.
    * **enforce_limits** - answer 429 + Retry-After when a client exceeds a carrier's rate.
    * **rate_limits** - per-carrier requests/second overriding the carriers' defaults.
    * **fault_5xx / fault_429 / fault_timeout / fault_malformed** - injection rates (0..1).
    * **hang_seconds** - how long a timeout fault keeps the client waiting.
    * **now** - a fixed world clock (reproducible runs); the real clock when None.
    * **seed** - seed of fault injection and latency.
    * **blocked** - carriers that answer every request with an anti-bot challenge page (as
      Cainiao's captcha wall does), to see a block end to end.
    """

    latency_ms: tuple[float, float] = (0.0, 0.0)
    enforce_limits: bool = True
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    fault_5xx: float = 0.0
    fault_429: float = 0.0
    fault_timeout: float = 0.0
    fault_malformed: float = 0.0
    hang_seconds: float = 30.0
    now: datetime | None = None
    seed: int = 0
    blocked: frozenset[str] = frozenset()


@dataclass
class CarrierStats:
    """What the sandbox saw of one carrier's traffic."""

    requests: int = 0
    numbers: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    limited: int = 0
    max_per_second: int = 0
    _window: deque[float] = field(default_factory=deque)

    def record_arrival(self, at: float) -> None:
        self.requests += 1
        self._window.append(at)
        while self._window and at - self._window[0] >= 1.0:
            self._window.popleft()
        self.max_per_second = max(self.max_per_second, len(self._window))


class _Bucket:
    """Token bucket: `rate` tokens per second, room for `capacity`."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()

    def take(self) -> float:
        """0 when a token was taken, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class SandboxServer:
    """The sandbox as an ASGI app (`.app`), for every carrier that has a renderer.

    **Parameters:**

    * **carriers** - registered carriers by code; those without `sandbox` are not served.
    * **options** - latency, limits, faults, clock.
    """

    def __init__(
        self,
        carriers: Mapping[str, CarrierInfo],
        options: SandboxOptions | None = None,
    ) -> None:
        self.options = options or SandboxOptions()
        self.carriers = {code: c for code, c in carriers.items() if c.sandbox is not None}
        self.stats: dict[str, CarrierStats] = {code: CarrierStats() for code in self.carriers}
        self._random = random.Random(self.options.seed)
        # About one second of tolerance, as carriers police: a second's worth of requests, and
        # for rates under one a second (Cainiao's one per 3 s) one request that may arrive up
        # to a second early - network jitter, not a burst (two at once are still refused).
        self._buckets = {
            code: _Bucket(rate, capacity=max(1.0, rate) if rate >= 1.0 else 1.0 + rate)
            for code, info in self.carriers.items()
            for rate in [self.options.rate_limits.get(code, info.rate_limit.per_second)]
        }
        self.app = Starlette(
            routes=[
                Route("/", self._index, methods=["GET"]),
                Route("/{carrier}/{path:path}", self._handle, methods=["GET", "POST"]),
            ]
        )

    def clock(self) -> datetime:
        return self.options.now or datetime.now(UTC)

    def base_url(self, code: str, root: str = SANDBOX_ROOT) -> str:
        """The base URL an adapter uses to reach this carrier on the sandbox."""
        return _carrier_base(root, self.carriers[code])

    def credentials(self, code: str) -> dict[str, str]:
        sandbox = self.carriers[code].sandbox
        assert sandbox is not None
        return dict(sandbox.credentials)

    def network(self) -> Network:
        """This sandbox as a `Network`: its app in-process, each carrier's sandbox account."""
        return Network(
            transport=httpx.ASGITransport(app=self.app),
            accounts={
                code: {"base_url": self.base_url(code), **self.credentials(code)}
                for code in self.carriers
            },
            name="the built-in sandbox",
        )

    async def _index(self, request: Request) -> Response:
        return JSONResponse(
            {
                "sandbox": "track-evidence",
                "carriers": {
                    code: {
                        "routes": [f"{m} /{code}{p}" for m, p in info.sandbox.routes],
                        "credentials": dict(info.sandbox.credentials),
                        "rate_per_second": self._buckets[code].rate,
                    }
                    for code, info in self.carriers.items()
                    if info.sandbox is not None
                },
                "stats": {
                    code: {
                        "requests": s.requests,
                        "max_per_second": s.max_per_second,
                        "limited": s.limited,
                        "statuses": dict(s.statuses),
                    }
                    for code, s in self.stats.items()
                },
            }
        )

    async def _handle(self, request: Request) -> Response:
        code = request.path_params["carrier"]
        info = self.carriers.get(code)
        if info is None or info.sandbox is None:
            return JSONResponse({"error": f"no sandbox carrier {code!r}"}, status_code=404)
        sandbox = info.sandbox
        path = "/" + request.path_params["path"]
        if (request.method, path) not in sandbox.routes:
            return JSONResponse({"error": f"{request.method} {path} is not a route"}, 404)
        stats = self.stats[code]
        stats.record_arrival(time.monotonic())
        body = await request.body()
        sreq = SandboxRequest(
            method=request.method,
            path=path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        low, high = self.options.latency_ms
        if high > 0:
            await asyncio.sleep(self._random.uniform(low, high) / 1000.0)
        if self.options.enforce_limits:
            wait = self._buckets[code].take()
            if wait > 0:
                stats.limited += 1
                return self._reply(stats, sandbox.render_error("rate_limited", retry_after=1))
        if code in self.options.blocked:
            return self._reply(stats, _CHALLENGE)
        fault = self._fault()
        if fault is not None:
            stats.faults[fault] += 1
            if fault == "timeout":
                await asyncio.sleep(self.options.hang_seconds)
                return self._reply(stats, sandbox.render_error("server_error"))
            if fault == "429":
                return self._reply(stats, sandbox.render_error("rate_limited", retry_after=1))
            if fault == "5xx":
                return self._reply(stats, sandbox.render_error("server_error"))
        if not sandbox.authorized(sreq):
            return self._reply(stats, sandbox.render_error("auth"))
        try:
            numbers = sandbox.numbers(sreq)
        except ValueError:
            return self._reply(stats, sandbox.render_error("bad_request"))
        if len(numbers) > info.batch_size:
            return self._reply(stats, sandbox.render_error("bad_request"))
        stats.numbers += len(numbers)
        world = World(now=self.clock())
        # A carrier knows only numbers of its own formats (the world itself is carrier-blind).
        patterns = info.number_patterns
        shipments = [
            (
                n,
                world.lookup(code, n)
                if not patterns or any(p.fullmatch(n) for p in patterns)
                else None,
            )
            for n in numbers
        ]
        reply = sandbox.render(sreq, shipments, now=world.now)
        if fault == "malformed" and len(reply.body) > 2:
            cut = self._random.randint(1, len(reply.body) - 1)
            reply = SandboxReply(reply.status, reply.body[:cut], reply.content_type, reply.headers)
        return self._reply(stats, reply)

    def _fault(self) -> str | None:
        o = self.options
        roll = self._random.random()
        for name, rate in (
            ("5xx", o.fault_5xx),
            ("429", o.fault_429),
            ("timeout", o.fault_timeout),
            ("malformed", o.fault_malformed),
        ):
            if roll < rate:
                return name
            roll -= rate
        return None

    @staticmethod
    def _reply(stats: CarrierStats, reply: SandboxReply) -> Response:
        stats.statuses[reply.status] += 1
        headers = dict(reply.headers)
        if reply.status == 429 and "retry-after" not in {k.lower() for k in headers}:
            headers["Retry-After"] = "1"
        return Response(
            content=reply.body,
            status_code=reply.status,
            media_type=reply.content_type,
            headers=headers,
        )


def sandbox_network(url: str, carriers: Mapping[str, CarrierInfo]) -> Network:
    """A running `track-evidence sandbox` at `url`, over the real network, as a `Network`.

    Each carrier it serves (the registered ones with a renderer) is reached under
    `<url>/<code>` with that renderer's sandbox account.
    """
    return Network(
        accounts={
            code: {
                "base_url": _carrier_base(url, info),
                **dict(info.sandbox.credentials),
            }
            for code, info in carriers.items()
            if info.sandbox is not None
        },
        name=f"the sandbox at {url.rstrip('/')}",
    )


def _carrier_base(root: str, info: CarrierInfo) -> str:
    """Where a carrier's API is on a sandbox at `root`: `/<code>` + its real base path."""
    return f"{root.rstrip('/')}/{info.code}{urlsplit(info.default_base_url).path.rstrip('/')}"

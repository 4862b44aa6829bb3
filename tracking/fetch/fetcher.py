"""The fetcher: one run's carrier adapters, each under its carrier's rate limit.

`open_fetcher` binds an adapter per carrier, reached through a `carriers.kit.Network` (the
real APIs by default, a sandbox when the CLI, API or worker hands one in), each with its own
`httpx.AsyncClient` and request limiter; `Fetcher.track` asks a carrier about a batch of
numbers, with the tenant's own account when it has one. It also names the carrier that
tracks last-mile legs revealed in the run (`last_mile_carrier`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from carriers.base import CarrierAdapter, CarrierInfo, RateLimit
from carriers.http import CarrierHttp, RequestLimiter, default_timeout
from carriers.kit.factory import create_adapter
from carriers.kit.network import Network
from tracking.core.config import Settings, load_carrier_settings
from tracking.fetch.tenant_carriers import TenantCarriers

__all__ = ["LAST_MILE_TRACKER", "Fetcher", "last_mile_carrier", "open_fetcher"]

LAST_MILE_TRACKER = "17track"
"""The aggregator that tracks a last-mile number revealed at hand-over."""


def last_mile_carrier(reachable: Iterable[str]) -> str:
    """The carrier that tracks legs whose carrier is not named: the last-mile tracker when the
    run can reach it (a carrier of the run, with a sandbox in a sandbox run), else "" (none).

    The one rule for every run: a pull, a refresh and a worker's batch job (which fetches one
    carrier but reaches them all, `open_fetcher(only=...)`) pick the same carrier.
    """
    return LAST_MILE_TRACKER if LAST_MILE_TRACKER in set(reachable) else ""


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
        self._leg_carrier = leg_carrier

    @property
    def leg_carrier(self) -> str:
        """Carrier that tracks last-mile legs whose carrier is not named ("" for none)."""
        return self._leg_carrier

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
    only: Collection[str] | None = None,
) -> AsyncIterator[Fetcher]:
    """Adapters for `carriers`, reached through `network` (the real APIs by default).

    A `network` with its own accounts (a sandbox's) reaches only the carriers it has an
    account for, with that account; tenants' own accounts are not used then.
    `limiter_factory(code, rate)` supplies each carrier's request limiter; a shared one keeps
    the carrier's limit across worker processes. In-process limiters when not given.
    `only`: bind just these of `carriers` (a job that fetches one carrier); the others still
    count as reachable for `last_mile_carrier`.
    """
    network = network or Network()
    plans: list[tuple[str, CarrierInfo, Any, RateLimit]] = []
    reachable: list[str] = []
    for code, info in carriers.items():
        if not network.reaches(code):
            continue  # e.g. no sandbox for this carrier: not fetched in a sandbox run
        reachable.append(code)
        if only is not None and code not in only:
            continue
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
        yield Fetcher(bound, leg_carrier=last_mile_carrier(reachable), tenants=tenants)

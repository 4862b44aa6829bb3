"""Per-tenant quotas, checked before a request queues work (429 with a problem detail).

* `job_quota_per_tenant`: pulls and bundles queued or running at once for one tenant.
* `order_quota_per_tenant`: orders one tenant may store; an import is refused once reached.
* one orders import at a time per tenant in this process (a second one gets 429).

The numbers are settings (`TRACK_EVIDENCE_JOB_QUOTA_PER_TENANT`, ...); 0 turns a quota off.
Routes take them as dependencies: `job_quota` (pulls, bundles) and `import_slot` (imports,
checked before the upload is read and held until the import ends).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from tracking.api.deps import ContextDep, PrincipalDep
from tracking.api.problems import ApiProblem
from tracking.store.jobs import active_jobs
from tracking.store.tenant_orders import count_orders

__all__ = [
    "check_job_quota",
    "check_order_quota",
    "import_slot",
    "job_quota",
    "one_import_at_a_time",
]

_importing: set[str] = set()
_lock = threading.Lock()


def _exceeded(detail: str, *, retry_after: int | None = None) -> ApiProblem:
    """The 429 problem of a quota, with `Retry-After` when waiting helps."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return ApiProblem(429, detail, kind="quota-exceeded", headers=headers)


def _reached(quota: int, count: Callable[[], int]) -> int | None:
    """The tenant's `count` when it reaches `quota`; None below it or when the quota is off
    (0 or less: then nothing is counted)."""
    if quota <= 0:
        return None
    counted = count()
    return counted if counted >= quota else None


def check_job_quota(engine: Engine, *, tenant: str, quota: int) -> None:
    """429 when the tenant already has `quota` jobs queued or running."""
    active = _reached(quota, lambda: active_jobs(engine, tenant=tenant))
    if active is not None:
        raise _exceeded(
            f"{active} jobs of this tenant are queued or running, the most allowed at once;"
            " wait for one to finish",
            retry_after=60,
        )


def check_order_quota(engine: Engine, *, tenant: str, quota: int) -> None:
    """429 when the tenant already stores `quota` orders."""
    stored = _reached(quota, lambda: count_orders(engine, tenant=tenant))
    if stored is not None:
        raise _exceeded(
            f"this tenant stores {stored:,} orders, its quota; ask the operator for more"
        )


@contextmanager
def one_import_at_a_time(tenant: str) -> Iterator[None]:
    """429 while another import of the same tenant runs in this process."""
    with _lock:
        if tenant in _importing:
            raise _exceeded(
                "another orders import of this tenant is running; send the next one after it",
                retry_after=5,
            )
        _importing.add(tenant)
    try:
        yield
    finally:
        with _lock:
            _importing.discard(tenant)


async def job_quota(context: ContextDep, principal: PrincipalDep) -> None:
    """Dependency of the routes that queue a job: the tenant's job quota."""
    await run_in_threadpool(
        check_job_quota,
        context.engine,
        tenant=principal.tenant,
        quota=context.settings.job_quota_per_tenant,
    )


async def import_slot(context: ContextDep, principal: PrincipalDep) -> AsyncIterator[None]:
    """Dependency of the import route: the order quota, then the tenant's one import slot."""
    await run_in_threadpool(
        check_order_quota,
        context.engine,
        tenant=principal.tenant,
        quota=context.settings.order_quota_per_tenant,
    )
    with one_import_at_a_time(principal.tenant):
        yield

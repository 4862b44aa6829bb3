"""What the job resources (pulls, bundles) share: queue one for the caller's tenant, find one."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from fastapi.concurrency import run_in_threadpool

from tracking.api.deps import ContextDep, PrincipalDep
from tracking.api.problems import ApiProblem
from tracking.store.jobs import Job, create_job, get_job

__all__ = ["queue_job", "tenant_job"]


async def queue_job(
    context: ContextDep,
    principal: PrincipalDep,
    response: Response,
    *,
    kind: str,
    params: dict[str, Any],
) -> Job:
    """Insert a `kind` job for the caller's tenant, wake the runner, point `Location` at it."""
    job = await run_in_threadpool(
        lambda: create_job(
            context.engine,
            tenant=principal.tenant,
            kind=kind,
            params=params,
            on_insert=context.defer_job,
        )
    )
    context.jobs_changed()
    response.headers["Location"] = f"/v1/{kind}s/{job.id}"
    return job


def tenant_job(context: ContextDep, tenant: str, kind: str, job_id: str) -> Job:
    """The tenant's `kind` job `job_id`; a 404 problem if there is none."""
    job = get_job(context.engine, tenant=tenant, kind=kind, job_id=job_id)
    if job is None:
        raise ApiProblem(404, f"no {kind} {job_id!r}", kind="not-found")
    return job

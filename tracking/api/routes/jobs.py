"""What the job resources (pulls, bundles) share: queue one for the caller's tenant, find one."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Response
from fastapi.concurrency import run_in_threadpool

from tracking.api.deps import ContextDep, PrincipalDep
from tracking.api.problems import ApiProblem
from tracking.api.quotas import job_quota
from tracking.api.routes import problem_responses
from tracking.store.jobs import Job, create_job, get_job

__all__ = ["QUEUES_A_JOB", "queue_job", "tenant_job"]

QUEUES_A_JOB: dict[str, Any] = {
    "status_code": 202,
    "responses": problem_responses(400, 401, 413, 422, 429),
    "dependencies": [Depends(job_quota)],
}
"""What a route that queues a job declares: 202 with the job at once, the tenant's job quota
checked first (429), the errors it answers."""


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

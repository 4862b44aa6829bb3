"""What the job resources (pulls, bundles) share: queue one for the caller's tenant, find one."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from tracking.api.deps import Caller
from tracking.api.problems import ApiProblem
from tracking.api.quotas import job_quota
from tracking.api.routes import answers
from tracking.store.jobs import Job, create_job, get_job

__all__ = ["queue_job", "queues_a_job", "tenant_job"]


def queues_a_job(model: type[BaseModel], summary: str) -> dict[str, Any]:
    """What a route that queues a job declares: 202 with the job (`model`) at once, the
    tenant's job quota checked first (429), the errors it answers."""
    return {
        **answers(model, summary, 400, 401, 413, 422, 429),
        "status_code": 202,
        "dependencies": [Depends(job_quota)],
    }


async def queue_job(caller: Caller, response: Response, *, kind: str, body: BaseModel) -> Job:
    """Insert a `kind` job with the request's `body` as its parameters for the caller's tenant,
    wake the runner, point `Location` at it."""
    context = caller.context
    params = body.model_dump(mode="json", exclude_none=True)
    job = await run_in_threadpool(
        lambda: create_job(
            context.engine,
            tenant=caller.tenant,
            kind=kind,
            params=params,
            on_insert=context.defer_job,
        )
    )
    context.jobs_changed()
    response.headers["Location"] = f"/v1/{kind}s/{job.id}"
    return job


def tenant_job(caller: Caller, kind: str, job_id: str) -> Job:
    """The caller's tenant's `kind` job `job_id`; a 404 problem if there is none."""
    job = get_job(caller.engine, tenant=caller.tenant, kind=kind, job_id=job_id)
    if job is None:
        raise ApiProblem(404, f"no {kind} {job_id!r}", kind="not-found")
    return job

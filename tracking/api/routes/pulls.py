"""Pulls: start one (a job), follow its progress and read its report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from fastapi.concurrency import run_in_threadpool

from tracking.api.deps import ContextDep, PrincipalDep
from tracking.api.models import PullCreate, PullPublic
from tracking.api.problems import ApiProblem
from tracking.api.quotas import job_quota
from tracking.api.routes import problem_responses
from tracking.judge.validator import POLICIES
from tracking.store.jobs import Job, create_job, get_job

__all__ = ["pull_public", "router"]

router = APIRouter(tags=["pulls"])


def pull_public(job: Job) -> PullPublic:
    """A pull job as the API shows it."""
    return PullPublic(
        id=job.id,
        status=job.status,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        params=job.params,
        progress=job.progress,
        result=job.result,
        error=job.error,
    )


@router.post(
    "/pulls",
    response_model=PullPublic,
    status_code=202,
    summary="Start a pull",
    responses=problem_responses(400, 401, 413, 422, 429),
    dependencies=[Depends(job_quota)],
)
async def create_pull_route(
    body: PullCreate, context: ContextDep, principal: PrincipalDep, response: Response
) -> PullPublic:
    """Queue a pull of the tenant's stored orders in the window; returns the job at once."""
    policy = body.policy or context.settings.policy
    if policy not in POLICIES:
        raise ApiProblem(
            422, f"unknown policy {policy!r}; known: {', '.join(POLICIES)}", kind="invalid-request"
        )
    unknown = sorted(set(body.carriers or ()) - set(context.carriers))
    if unknown:
        raise ApiProblem(
            422,
            f"unknown carrier {', '.join(unknown)}; known: {', '.join(sorted(context.carriers))}",
            kind="invalid-request",
        )
    job = await run_in_threadpool(
        lambda: create_job(
            context.engine,
            tenant=principal.tenant,
            kind="pull",
            params=body.model_dump(mode="json", exclude_none=True),
            on_insert=context.defer_job,
        )
    )
    context.jobs_changed()
    response.headers["Location"] = f"/v1/pulls/{job.id}"
    return pull_public(job)


@router.get(
    "/pulls/{pull_id}",
    response_model=PullPublic,
    summary="A pull's progress and report",
    responses=problem_responses(401, 404, 422),
)
def get_pull_route(
    context: ContextDep,
    principal: PrincipalDep,
    pull_id: Annotated[str, Path(max_length=64)],
) -> PullPublic:
    """Status, per-carrier progress and, once it succeeded, the pull report."""
    job = get_job(context.engine, tenant=principal.tenant, kind="pull", job_id=pull_id)
    if job is None:
        raise ApiProblem(404, f"no pull {pull_id!r}", kind="not-found")
    return pull_public(job)

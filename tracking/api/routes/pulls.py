"""Pulls: start one (a job), follow its progress and read its report."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tracking.api.deps import ContextDep, PrincipalDep
from tracking.api.models import PullCreate, PullPublic
from tracking.api.problems import ApiProblem
from tracking.api.routes import ResourceId, problem_responses
from tracking.api.routes.jobs import QUEUES_A_JOB, queue_job, tenant_job
from tracking.judge.validator import POLICIES
from tracking.store.jobs import Job

__all__ = ["pull_public", "router"]

router = APIRouter(tags=["pulls"])


def pull_public(job: Job) -> PullPublic:
    """A pull job as the API shows it."""
    return PullPublic.model_validate(job, from_attributes=True)


@router.post(
    "/pulls",
    response_model=PullPublic,
    summary="Start a pull",
    **QUEUES_A_JOB,
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
    params = body.model_dump(mode="json", exclude_none=True)
    return pull_public(await queue_job(context, principal, response, kind="pull", params=params))


@router.get(
    "/pulls/{pull_id}",
    response_model=PullPublic,
    summary="A pull's progress and report",
    responses=problem_responses(401, 404, 422),
)
def get_pull_route(context: ContextDep, principal: PrincipalDep, pull_id: ResourceId) -> PullPublic:
    """Status, per-carrier progress and, once it succeeded, the pull report."""
    return pull_public(tenant_job(context, principal.tenant, "pull", pull_id))

"""Pulls: start one (a job), follow its progress and read its report."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tracking.api.deps import CallerDep
from tracking.api.models import PullCreate, PullPublic
from tracking.api.problems import ApiProblem
from tracking.api.routes import ResourceId, answers
from tracking.api.routes.jobs import queue_job, queues_a_job, tenant_job
from tracking.judge.validator import POLICIES
from tracking.store.jobs import Job

__all__ = ["pull_public", "router"]

router = APIRouter(tags=["pulls"])


def pull_public(job: Job) -> PullPublic:
    """A pull job as the API shows it."""
    return PullPublic.model_validate(job, from_attributes=True)


@router.post("/pulls", **queues_a_job(PullPublic, "Start a pull"))
async def create_pull_route(body: PullCreate, caller: CallerDep, response: Response) -> PullPublic:
    """Queue a pull of the tenant's stored orders in the window; returns the job at once."""
    context = caller.context
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
    return pull_public(await queue_job(caller, response, kind="pull", body=body))


@router.get(
    "/pulls/{pull_id}", **answers(PullPublic, "A pull's progress and report", 401, 404, 422)
)
def get_pull_route(caller: CallerDep, pull_id: ResourceId) -> PullPublic:
    """Status, per-carrier progress and, once it succeeded, the pull report."""
    return pull_public(tenant_job(caller, "pull", pull_id))

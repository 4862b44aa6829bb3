"""The portfolio summary an appeal letter quotes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tracking.api.crud import portfolio_summary
from tracking.api.deps import ContextDep, PrincipalDep
from tracking.api.models import SummaryPublic
from tracking.api.routes import AsOf, problem_responses, window_before

__all__ = ["router"]

router = APIRouter(tags=["summary"])


@router.get(
    "/summary",
    response_model=SummaryPublic,
    summary="Portfolio figures for the appeal letter",
    responses=problem_responses(401, 422),
)
def summary_route(
    context: ContextDep,
    principal: PrincipalDep,
    window_days: Annotated[int, Query(ge=1, le=3660)] = 90,
    as_of: AsOf = None,
) -> SummaryPublic:
    """Orders in the window, verdicts, milestones proven, by carrier and destination."""
    return portfolio_summary(
        context.engine, tenant=principal.tenant, window=window_before(as_of, window_days)
    )

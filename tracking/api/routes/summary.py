"""The portfolio summary an appeal letter quotes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from tracking.api.crud import portfolio_summary
from tracking.api.deps import ContextDep, PrincipalDep
from tracking.api.models import IsoDateTime, SummaryPublic
from tracking.api.routes import problem_responses

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
    as_of: Annotated[
        IsoDateTime | None, Query(description="End of the window (default: now).")
    ] = None,
) -> SummaryPublic:
    """Orders in the window, verdicts, milestones proven, by carrier and destination."""
    end = as_of or datetime.now(UTC)
    return portfolio_summary(
        context.engine, tenant=principal.tenant, window=(end - timedelta(days=window_days), end)
    )

"""The portfolio summary an appeal letter quotes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tracking.api.crud import portfolio_summary
from tracking.api.deps import CallerDep
from tracking.api.models import SummaryPublic
from tracking.api.routes import AsOf, answers, window_before

__all__ = ["router"]

router = APIRouter(tags=["summary"])


@router.get(
    "/summary", **answers(SummaryPublic, "Portfolio figures for the appeal letter", 401, 422)
)
def summary_route(
    caller: CallerDep,
    window_days: Annotated[int, Query(ge=1, le=3660)] = 90,
    as_of: AsOf = None,
) -> SummaryPublic:
    """Orders in the window, verdicts, milestones proven, by carrier and destination."""
    return portfolio_summary(
        caller.engine, tenant=caller.tenant, window=window_before(as_of, window_days)
    )

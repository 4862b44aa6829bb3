"""One router per resource, all mounted under `/v1`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel

from tracking.api.models import IsoDateTime
from tracking.api.problems import ApiProblem, Problem

__all__ = [
    "AsOf",
    "ResourceId",
    "answers",
    "invalid_cursor",
    "problem_responses",
    "window_before",
]

AsOf = Annotated[IsoDateTime | None, Query(description="End of the window (default: now).")]
"""The `as_of` query parameter: where a window of days ends."""

ResourceId = Annotated[str, Path(max_length=64)]
"""A path parameter naming a resource by the id this API gave it (a job, webhook, delivery)."""

_DESCRIPTIONS = {
    400: "The body cannot be parsed (e.g. not UTF-8).",
    401: "No API key, or an invalid or revoked one.",
    404: "No such resource for this tenant.",
    409: "The resource is not in a state that allows this.",
    413: "The body is larger than the endpoint's limit.",
    415: "The upload's content type is not supported.",
    422: "The request is invalid.",
    429: "A per-tenant quota is reached (jobs at once, stored orders, imports at once).",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of the error statuses a route answers (as problem details)."""
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in codes}


def answers(model: type[BaseModel], summary: str, *codes: int) -> dict[str, Any]:
    """The decorator keywords of a route that answers with `model`: its summary and the error
    statuses it answers (spread into `@router.get(path, **answers(...))`)."""
    return {"response_model": model, "summary": summary, "responses": problem_responses(*codes)}


def invalid_cursor() -> ApiProblem:
    """The 422 problem of a paging cursor this API did not hand out."""
    return ApiProblem(422, "the cursor is not one this API returned", kind="invalid-cursor")


def window_before(as_of: datetime | None, days: int) -> tuple[datetime, datetime]:
    """The `days` days that end at `as_of` (now when None)."""
    end = as_of or datetime.now(UTC)
    return end - timedelta(days=days), end

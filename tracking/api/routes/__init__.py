"""One router per resource, all mounted under `/v1`."""

from __future__ import annotations

from typing import Any

from tracking.api.problems import ApiProblem, Problem

__all__ = ["invalid_cursor", "problem_responses"]

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


def invalid_cursor() -> ApiProblem:
    """The 422 problem of a paging cursor this API did not hand out."""
    return ApiProblem(422, "the cursor is not one this API returned", kind="invalid-cursor")

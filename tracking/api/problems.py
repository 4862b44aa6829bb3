"""One error shape for every 4xx and 5xx: problem details (RFC 9457), never a stack trace."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "ApiProblem",
    "FieldError",
    "Problem",
    "install_problem_handlers",
    "problem_response",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_ROOT = "urn:track-evidence:problem:"
_log = logging.getLogger(__name__)


class FieldError(BaseModel):
    """One invalid part of a request."""

    loc: list[str | int] = Field(description="Where: e.g. ['body', 0, 'order_id'].")
    msg: str
    type: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(
        default="about:blank",
        description="A URI naming the kind of problem; `about:blank` for plain HTTP errors.",
    )
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong this time.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldError] | None = Field(
        default=None, description="Per-field errors of an invalid request."
    )


class ApiProblem(Exception):
    """Raised by routes and dependencies to answer with a problem.

    **Parameters:**

    * **status** - the HTTP status.
    * **detail** - what went wrong, in words a user understands.
    * **kind** - a short slug giving the problem type `urn:track-evidence:problem:<kind>`;
      empty for `about:blank`.
    * **headers** - extra response headers (e.g. `WWW-Authenticate`).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request,
    status: int,
    *,
    detail: str | None = None,
    kind: str = "",
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem-details response for `request`."""
    body = Problem(
        type=_TYPE_ROOT + kind if kind else "about:blank",
        title=_title(status),
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _loc(parts: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in parts]


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        request, exc.status, detail=exc.detail, kind=exc.kind, headers=exc.headers
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == _title(exc.status_code):
        detail = None
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.NOT_FOUND and detail is None:
        detail = f"no resource at {request.url.path}"
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        allowed = _allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    return problem_response(request, exc.status_code, detail=detail, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at the request's path (Starlette names one route's)."""
    allowed: list[str] = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(loc=_loc(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type")))
        for e in exc.errors()
    ]
    first = errors[0] if errors else None
    detail = (
        f"{'.'.join(str(p) for p in first.loc)}: {first.msg}"
        if first is not None
        else "the request is invalid"
    )
    return problem_response(request, 422, detail=detail, kind="invalid-request", errors=errors)


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    _log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        500,
        detail="internal error; the server log has the details",
        kind="internal",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of `app` (routing, validation, routes, crashes) with a problem."""
    app.add_exception_handler(ApiProblem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Exception, _on_crash)

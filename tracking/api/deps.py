"""Dependencies of the routes: the app's context and the caller's tenant (`Annotated` aliases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine

from tracking.api.context import ApiContext
from tracking.api.keys import Principal, authenticate
from tracking.api.problems import ApiProblem

__all__ = [
    "Caller",
    "CallerDep",
    "ContextDep",
    "PrincipalDep",
    "get_caller",
    "get_context",
    "get_principal",
    "known_query_only",
]

_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="te_live_...",
    description="An API key from `track-evidence keys create --tenant T`.",
)


def get_context(request: Request) -> ApiContext:
    """The context the app's lifespan set up."""
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]


def _unauthorized(detail: str, challenge: str) -> ApiProblem:
    """The 401 problem, with the `WWW-Authenticate` challenge that says what to send."""
    return ApiProblem(401, detail, kind="unauthorized", headers={"WWW-Authenticate": challenge})


async def get_principal(
    request: Request,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from `Authorization: Bearer <key>`; 401 without a valid, unrevoked key.

    The request guard (`tracking.api.guard`) already checked the key before the body was
    read; its answer is reused.
    """
    checked = getattr(request.state, "principal", None)
    if isinstance(checked, Principal):
        return checked
    if credentials is None:
        raise _unauthorized("an API key is required: send `Authorization: Bearer <key>`", "Bearer")
    principal = await run_in_threadpool(authenticate, context.engine, credentials.credentials)
    if principal is None:
        raise _unauthorized("the API key is invalid or was revoked", 'Bearer error="invalid_token"')
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True, slots=True)
class Caller:
    """What most routes need: the app's context and the authenticated caller's tenant."""

    context: ApiContext
    tenant: str

    @property
    def engine(self) -> Engine:
        """The context's database engine."""
        return self.context.engine


async def get_caller(context: ContextDep, principal: PrincipalDep) -> Caller:
    """The context and the caller's tenant together (401 without a valid key, as `principal`)."""
    return Caller(context, principal.tenant)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def known_query_only(request: Request, principal: PrincipalDep) -> None:
    """422 for a query parameter the route does not declare (a typo never widens a filter).

    Runs after authentication, so a caller without a key always gets 401 first.
    """
    dependant = getattr(request.scope.get("route"), "dependant", None)
    declared = {f.alias for f in getattr(dependant, "query_params", ())}
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        raise ApiProblem(
            422,
            f"unknown query parameter {unknown[0]!r}"
            + (f"; this endpoint takes {', '.join(sorted(declared))}" if declared else ""),
            kind="invalid-request",
        )

"""Raw carrier exchanges, by the sha256 of their body (only those the tenant's orders cite)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from tracking.api.crud import exchange_body
from tracking.api.deps import CallerDep
from tracking.api.problems import ApiProblem
from tracking.api.routes import problem_responses

__all__ = ["router"]

router = APIRouter(tags=["exchanges"])


@router.get(
    "/exchanges/{sha256}",
    response_class=Response,
    summary="A raw carrier response body",
    responses={
        200: {
            "description": "The body exactly as the carrier sent it, with its content type.",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 404, 422),
    },
)
def exchange_route(
    caller: CallerDep,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="Lowercase hex digest.")],
) -> Response:
    """The stored body; 404 unless one of the tenant's orders cites this exchange."""
    found = exchange_body(caller.engine, tenant=caller.tenant, sha256=sha256)
    if found is None:
        raise ApiProblem(404, f"no exchange {sha256}", kind="not-found")
    body, content_type = found
    return Response(
        content=body,
        media_type=content_type,
        headers={
            "ETag": f'"{sha256}"',
            "X-Content-SHA256": sha256,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )

"""Carrier pushes: `POST /v1/carriers/17track/push`, 17TRACK's webhook.

17TRACK cannot send an API key of ours, so this route is not behind `Authorization:
Bearer`: it is authenticated by 17TRACK's own `sign` header (`carriers.track17.push`),
checked over the raw body before anything is parsed or stored.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from carriers.track17.push import SIGN_HEADER
from tracking.api.deps import ContextDep
from tracking.api.problems import ApiProblem
from tracking.api.routes import problem_responses
from tracking.core.exceptions import BadPayloadError, ConfigError
from tracking.fetch.pushes import push_keys, receive_17track_push, sign_ok
from tracking.store.webhook_events import emit_verdict_changes

__all__ = ["router"]

router = APIRouter(tags=["carriers"])

_MAX_PUSH_BYTES = 5 * 1024 * 1024
"""A push is one number's tracking; anything larger is not one."""


@router.post(
    "/carriers/17track/push",
    summary="Receive a 17TRACK push (webhook)",
    responses={
        200: {"description": "Stored; the orders using the number were judged again."},
        **problem_responses(401, 404, 413, 422),
    },
)
async def track17_push(request: Request, context: ContextDep) -> dict[str, Any]:
    """Check the `sign` header, store the raw body as an exchange, parse it, judge again.

    Every order referencing the number is judged again, whatever its tenant: 17TRACK
    tracks a number once per account, whichever seller it belongs to.
    """
    try:
        keys = await run_in_threadpool(push_keys, context.settings)
    except ConfigError as exc:
        raise ApiProblem(404, str(exc), kind="push-not-configured") from None
    if not keys:
        raise ApiProblem(
            404,
            "17TRACK pushes are not set up here: set TRACK_EVIDENCE_17TRACK__TOKEN (the API key "
            "17TRACK signs pushes with) or TRACK_EVIDENCE_17TRACK__PUSH_KEY",
            kind="push-not-configured",
        )
    body = await request.body()
    if len(body) > _MAX_PUSH_BYTES:
        raise ApiProblem(413, "a 17TRACK push is never this large", kind="too-large")
    sign = request.headers.get(SIGN_HEADER)
    if not sign:
        raise ApiProblem(401, "the push has no `sign` header", kind="bad-signature")
    if not sign_ok(body, sign, keys):
        raise ApiProblem(
            401,
            "the `sign` header does not match the body under the configured 17TRACK key",
            kind="bad-signature",
        )
    try:
        receipt = await run_in_threadpool(
            receive_17track_push,
            context.engine,
            body=body,
            content_type=request.headers.get("content-type", ""),
            settings=context.settings,
            now=datetime.now(UTC),
        )
    except BadPayloadError as exc:
        raise ApiProblem(422, str(exc), kind="invalid-push") from None
    if receipt.orders_judged:
        await asyncio.to_thread(emit_verdict_changes, context.engine)
        context.webhooks_changed()
    return receipt.as_json()

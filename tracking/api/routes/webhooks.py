"""Webhooks of the appeal builder: register, list, delete; delivery log and replay."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from tracking.api.deps import Caller, CallerDep
from tracking.api.models import in_range, public
from tracking.api.outbound import check_target
from tracking.api.problems import ApiProblem
from tracking.api.routes import ResourceId, answers, invalid_cursor, problem_responses
from tracking.api.webhook_models import (
    AttemptPublic,
    DeliveryDetail,
    DeliveryPage,
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookPublic,
)
from tracking.api.webhooks import decode_cursor, encode_cursor
from tracking.store.webhooks import (
    Delivery,
    Webhook,
    create_webhook,
    delete_webhook,
    get_delivery,
    get_webhook,
    list_deliveries,
    list_webhooks,
    replay_delivery,
)

__all__ = ["router"]

router = APIRouter(tags=["webhooks"])


def _public(hook: Webhook) -> WebhookPublic:
    return WebhookPublic.model_validate(hook, from_attributes=True)


def _delivery(d: Delivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(d, from_attributes=True)


def _not_found(what: str) -> ApiProblem:
    return ApiProblem(404, f"no {what}", kind="not-found")


def _webhook(caller: Caller, webhook_id: str) -> Webhook:
    hook = get_webhook(caller.engine, tenant=caller.tenant, webhook_id=webhook_id)
    if hook is None:
        raise _not_found(f"webhook {webhook_id!r}")
    return hook


@router.post(
    "/webhooks",
    status_code=201,
    **answers(WebhookCreated, "Register a webhook", 400, 401, 422),
)
def create_webhook_route(
    body: WebhookCreate, caller: CallerDep, response: Response
) -> WebhookCreated:
    """Register an endpoint; the answer holds its signing secret, shown only this once.

    The URL must resolve to public internet addresses only (unless the operator allows
    internal targets); it is checked again at every delivery.
    """
    refused = check_target(body.url, allow_internal=caller.context.settings.allow_internal_webhooks)
    if refused is not None:
        raise ApiProblem(422, f"url: {refused}", kind="refused-target")
    hook, secret = create_webhook(
        caller.engine,
        tenant=caller.tenant,
        url=body.url,
        events=body.events,
        description=body.description,
    )
    response.headers["Location"] = f"/v1/webhooks/{hook.id}"
    return public(WebhookCreated, hook, secret=secret)


@router.get("/webhooks", **answers(WebhookList, "List webhooks", 401))
def list_webhooks_route(caller: CallerDep) -> WebhookList:
    """The tenant's webhooks (without their secrets)."""
    return WebhookList(
        items=[_public(h) for h in list_webhooks(caller.engine, tenant=caller.tenant)]
    )


@router.get("/webhooks/{webhook_id}", **answers(WebhookPublic, "One webhook", 401, 404, 422))
def get_webhook_route(caller: CallerDep, webhook_id: ResourceId) -> WebhookPublic:
    """One of the tenant's webhooks."""
    return _public(_webhook(caller, webhook_id))


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a webhook",
    responses=problem_responses(401, 404, 422),
)
def delete_webhook_route(caller: CallerDep, webhook_id: ResourceId) -> Response:
    """Stop notifying a webhook; its pending deliveries are cancelled."""
    if not delete_webhook(caller.engine, tenant=caller.tenant, webhook_id=webhook_id):
        raise _not_found(f"webhook {webhook_id!r}")
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    **answers(DeliveryPage, "A webhook's delivery log", 401, 404, 422),
)
def list_deliveries_route(
    caller: CallerDep,
    webhook_id: ResourceId,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """Deliveries of a webhook, newest first."""
    _webhook(caller, webhook_id)  # 404 for another tenant's or none
    before = None
    if cursor is not None:
        parts = decode_cursor(cursor, 3)
        try:
            if parts is None or parts[0] != "d":
                raise ValueError(cursor)
            before = (datetime.fromisoformat(parts[1]), parts[2])
        except ValueError:
            raise invalid_cursor() from None
        if before[0].tzinfo is None or not in_range(before[0]):
            raise invalid_cursor()
    items, last = list_deliveries(
        caller.engine, tenant=caller.tenant, webhook_id=webhook_id, before=before, limit=limit
    )
    return DeliveryPage(
        items=[_delivery(d) for d in items],
        next_cursor=encode_cursor("d", last[0].isoformat(), last[1]) if last else None,
    )


@router.get(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}",
    **answers(DeliveryDetail, "One delivery with its body and attempts", 401, 404, 422),
)
def get_delivery_route(
    caller: CallerDep, webhook_id: ResourceId, delivery_id: ResourceId
) -> DeliveryDetail:
    """A delivery, the exact JSON it sends, and every attempt so far."""
    found = get_delivery(
        caller.engine, tenant=caller.tenant, webhook_id=webhook_id, delivery_id=delivery_id
    )
    if found is None:
        raise _not_found(f"delivery {delivery_id!r}")
    delivery, attempts = found
    return public(
        DeliveryDetail,
        delivery,
        payload=json.loads(delivery.payload),
        log=[AttemptPublic.model_validate(a, from_attributes=True) for a in attempts],
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    **answers(DeliveryPublic, "Send a delivery again", 401, 404, 422),
)
def replay_delivery_route(
    caller: CallerDep, webhook_id: ResourceId, delivery_id: ResourceId
) -> DeliveryPublic:
    """Send the same event again now (e.g. after fixing the receiver), with a fresh
    retry schedule; the attempt appears in the delivery log."""
    delivery = replay_delivery(
        caller.engine, tenant=caller.tenant, webhook_id=webhook_id, delivery_id=delivery_id
    )
    if delivery is None:
        raise _not_found(f"delivery {delivery_id!r}")
    caller.context.webhooks_changed()
    return _delivery(delivery)

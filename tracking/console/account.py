"""Settings: which carriers are ready, API keys (created once-shown, revoked), webhooks.

Readiness names the credential fields that are missing, never a value. Keys and webhooks go
through the API's own functions (`tracking.api.keys`, `tracking.api.webhooks`), scoped to the
session's tenant: a key or webhook id of another tenant is "not found". A new key or webhook
secret is shown in the answer to the POST that made it, once, and never stored readable.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import Response

from tracking.api.context import ApiContext
from tracking.api.keys import create_key, list_keys, revoke_key
from tracking.api.outbound import check_target
from tracking.api.webhook_models import WebhookCreate
from tracking.console.web import ConsoleError, Page, PageDep, Posted, redirect, render
from tracking.core.config import load_carrier_settings
from tracking.core.exceptions import ConfigError, InputError
from tracking.store.console_sessions import end_tenant_sessions
from tracking.store.webhooks import (
    create_webhook,
    delete_webhook,
    get_webhook,
    list_deliveries,
    list_webhooks,
)

__all__ = ["carrier_readiness", "router"]

router = APIRouter()


def carrier_readiness(context: ApiContext) -> list[dict[str, Any]]:
    """Per carrier: code, name, the missing credential field names ("" when ready)."""
    rows = []
    for code, info in sorted(context.carriers.items()):
        try:
            configured = load_carrier_settings(
                info.settings_model, settings=context.settings, code=code
            )
            missing = ", ".join(configured.missing_credentials())
            invalid = False
        except ConfigError:
            missing, invalid = "", True
        rows.append(
            {
                "code": code,
                "name": info.name,
                "missing": missing,
                "invalid": invalid,
                "sandbox": context.network is not None and context.network.reaches(code),
            }
        )
    return rows


def _settings_values(page: Page) -> dict[str, Any]:
    engine, tenant = page.context.engine, page.tenant
    return {
        "carriers": carrier_readiness(page.context),
        "keys": list_keys(engine, tenant),
        "hooks": list_webhooks(engine, tenant=tenant),
        "new_key": None,
        "new_secret": None,
        "problem": "",
        "current_key": page.session.key_id,
    }


@router.get("/settings")
async def settings_page(page: PageDep) -> Response:
    """Carriers, keys and webhooks of the tenant."""
    values = await run_in_threadpool(_settings_values, page)
    return render(page, "settings.html", **values)


@router.post("/settings/keys")
async def create_key_action(page: Posted) -> Response:
    """A new API key for the tenant, shown in this answer only."""
    form = await page.request.form()
    name = str(form.get("name") or "").strip()[:128]

    def run() -> dict[str, Any]:
        key = create_key(page.context.engine, page.tenant, name=name or "console")
        values = _settings_values(page)
        values["new_key"] = key
        return values

    try:
        values = await run_in_threadpool(run)
    except InputError as exc:
        raise ConsoleError(422, page.t("error.refused", detail=str(exc))) from None
    return render(page, "settings.html", **values)


@router.post("/settings/keys/{key_id}/revoke")
async def revoke_key_action(page: Posted, key_id: str) -> Response:
    """Revoke one of the tenant's keys (its console sessions end with it)."""

    def run() -> bool:
        if not any(k.id == key_id for k in list_keys(page.context.engine, page.tenant)):
            return False
        revoke_key(page.context.engine, key_id)
        end_tenant_sessions(page.context.engine, tenant=page.tenant, key_id=key_id)
        return True

    if not await run_in_threadpool(run):
        raise ConsoleError(404, page.t("settings.no_key"))
    return redirect("/settings" if key_id != page.session.key_id else "/sign-in")


@router.post("/settings/webhooks")
async def create_webhook_action(page: Posted) -> Response:
    """Register a webhook; its signing secret is shown in this answer only."""
    form = await page.request.form()
    events = [e for e in form.getlist("events") if isinstance(e, str)]
    try:
        body = WebhookCreate.model_validate(
            {
                "url": str(form.get("url") or "").strip(),
                "events": events or ["verdict.changed", "bundle.ready"],
                "description": str(form.get("description") or "").strip(),
            }
        )
    except ValidationError as exc:
        problem = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        return await _with_problem(page, problem)
    refused = await run_in_threadpool(
        check_target, body.url, allow_internal=page.context.settings.allow_internal_webhooks
    )
    if refused is not None:
        return await _with_problem(page, f"URL: {refused}")

    def run() -> dict[str, Any]:
        _, secret = create_webhook(
            page.context.engine,
            tenant=page.tenant,
            url=body.url,
            events=body.events,
            description=body.description,
        )
        values = _settings_values(page)
        values["new_secret"] = secret
        return values

    values = await run_in_threadpool(run)
    return render(page, "settings.html", **values)


async def _with_problem(page: Page, problem: str) -> Response:
    values = await run_in_threadpool(_settings_values, page)
    values["problem"] = problem
    return render(page, "settings.html", status=422, **values)


@router.post("/settings/webhooks/{webhook_id}/delete")
async def delete_webhook_action(page: Posted, webhook_id: str) -> Response:
    """Stop notifying one of the tenant's webhooks."""
    done = await run_in_threadpool(
        lambda: delete_webhook(page.context.engine, tenant=page.tenant, webhook_id=webhook_id)
    )
    if not done:
        raise ConsoleError(404, page.t("settings.no_webhook"))
    page.context.webhooks_changed()
    return redirect("/settings")


@router.get("/settings/webhooks/{webhook_id}")
async def deliveries_page(page: PageDep, webhook_id: str) -> Response:
    """A webhook's delivery log, newest first."""

    def load() -> dict[str, Any] | None:
        hook = get_webhook(page.context.engine, tenant=page.tenant, webhook_id=webhook_id)
        if hook is None:
            return None
        items, _ = list_deliveries(
            page.context.engine, tenant=page.tenant, webhook_id=webhook_id, limit=100
        )
        return {"hook": hook, "deliveries": items}

    values = await run_in_threadpool(load)
    if values is None:
        raise ConsoleError(404, page.t("settings.no_webhook"))
    return render(page, "deliveries.html", **values)

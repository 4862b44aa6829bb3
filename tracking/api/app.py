"""The HTTP API application: `create_app(settings)` and `serve(settings)`.

Nothing connects at import time: the engine is opened (or taken from the caller) when the
app starts, and the job runner, the webhook dispatcher and an optional background task (the
refresh schedule) run as asyncio tasks of the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.engine import Engine

from carriers.kit.network import Network
from carriers.registry import all_carriers
from tracking import __version__
from tracking.api.context import ApiContext, ApiOptions
from tracking.api.deps import known_query_only
from tracking.api.dispatch import WebhookDispatcher
from tracking.api.guard import RequestGuard
from tracking.api.jobs import JobRunner, bundle_handler, pull_handler
from tracking.api.models import OrderIn
from tracking.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from tracking.api.procrastinate_jobs import defer_api_job, uses_procrastinate
from tracking.api.procrastinate_runner import ProcrastinateRunner
from tracking.api.routes import bundles, carrier_push, exchanges, orders, pulls, summary, webhooks
from tracking.api.webhooks import after_job
from tracking.core.config import Settings
from tracking.core.redaction import install_log_redaction
from tracking.store.engine import open_engine
from tracking.store.webhook_events import init_verdict_cursor

__all__ = ["Background", "create_app", "serve"]

Background = Callable[[], Awaitable[None]]
"""A coroutine function run for the app's whole life (e.g. the refresh schedule)."""

_log = logging.getLogger(__name__)

_DESCRIPTION = """\
Carrier tracking evidence for marketplace appeals: import orders, pull their tracking,
read verdicts and evidence, build evidence bundles, and get notified by signed webhooks.

Every request needs `Authorization: Bearer <key>` (a key from
`track-evidence keys create --tenant T`); everything is scoped to the key's tenant.
Carriers' pushes (`POST /v1/carriers/17track/push`) are the exception: the carrier
authenticates them with its own signature.
Errors are problem details (RFC 9457, `application/problem+json`).
"""


class _App(FastAPI):
    """FastAPI whose OpenAPI document shows every error as problem details."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema:
            return self.openapi_schema
        schema = super().openapi()  # FastAPI's document, completed below (and kept)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        order_in = OrderIn.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(order_in.pop("$defs", {}))
        schemas["OrderIn"] = order_in
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for code, response in operation.get("responses", {}).items():
                    if str(code)[0] in "45":
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        return schema


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    network: Network | None = None,
    options: ApiOptions | None = None,
    background: Background | None = None,
) -> FastAPI:
    """The API app.

    **Parameters:**

    * **settings** - the database URL (used when no `engine` is given), policy, signing key.
    * **engine** - a migrated engine to use (and not dispose); opened at startup otherwise.
    * **network** - where pulls fetch from (`serve --sandbox`: the in-process sandbox's
      `SandboxServer.network()`); the real carriers' APIs when None.
    * **options** - data folder, job and webhook behaviour (see `ApiOptions`).
    * **background** - run for the app's whole life, e.g. the refresh schedule.
    """
    opts = options or ApiOptions()
    opts = replace(opts, data_dir=opts.data_dir.resolve())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = engine is None
        db = (
            engine
            if engine is not None
            else await asyncio.to_thread(open_engine, settings.database_url)
        )
        context = ApiContext(
            engine=db,
            settings=settings,
            options=opts,
            carriers=dict(opts.carriers) if opts.carriers is not None else all_carriers(),
            network=network,
        )
        await asyncio.to_thread(init_verdict_cursor, db)
        tasks: list[asyncio.Task[None]] = []
        handlers = {"pull": pull_handler(context), "bundle": bundle_handler(context)}
        if uses_procrastinate(db):
            # PostgreSQL: jobs and deliveries run on Procrastinate (procrastinate_jobs, _runner).
            queues = ProcrastinateRunner(
                context,
                handlers=handlers,
                after=after_job(context),
                jobs=opts.run_jobs,
                webhooks=opts.deliver_webhooks,
            )
            await queues.prepare()
            context.defer_job = defer_api_job
            if opts.run_jobs or opts.deliver_webhooks:
                context.wake_webhooks = queues.wake
                tasks.append(asyncio.create_task(queues.run(), name="track-evidence-queues"))
        elif opts.run_jobs:
            runner = JobRunner(
                db,
                handlers=handlers,
                concurrency=opts.job_concurrency,
                poll_seconds=opts.job_poll_seconds,
                after=after_job(context),
            )
            context.wake_jobs = runner.wake
            tasks.append(asyncio.create_task(runner.run(), name="track-evidence-jobs"))
        if opts.deliver_webhooks and not uses_procrastinate(db):
            dispatcher = WebhookDispatcher.for_api(context)
            context.wake_webhooks = dispatcher.wake
            tasks.append(asyncio.create_task(dispatcher.run(), name="track-evidence-webhooks"))
        if background is not None:

            async def run_background() -> None:
                await background()

            tasks.append(asyncio.create_task(run_background(), name="track-evidence-background"))
        app.state.context = context
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    try:
                        await task
                    except Exception:
                        _log.exception("background task %s failed", task.get_name())
            context.wake_jobs = context.wake_webhooks = context.defer_job = None
            if own:
                db.dispose()

    app = _App(
        title="track-evidence",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    install_problem_handlers(app)
    # Outermost: the key is checked and the body limited before any route reads a byte.
    app.add_middleware(
        RequestGuard, json_limit=opts.max_json_bytes, upload_limit=opts.max_upload_bytes
    )
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(known_query_only)])
    for module in (orders, pulls, exchanges, summary, bundles, webhooks):
        v1.include_router(module.router)
    app.include_router(v1)
    # Carriers' pushes authenticate with the carrier's own signature, not an API key.
    app.include_router(carrier_push.router, prefix="/v1")
    # The seller's console at `/` (session cookie). Imported here: the console calls the API's
    # use-case functions, so a module-level import would make the two packages a cycle.
    from tracking.console import install_console

    install_console(app)
    return app


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    options: ApiOptions | None = None,
    network: Network | None = None,
    background: Background | None = None,
) -> None:
    """Run the API with Uvicorn until interrupted.

    The database is opened (and migrated) first, so a wrong URL raises `StorageError` here
    rather than failing the server's startup.
    """
    import uvicorn

    engine = open_engine(settings.database_url)
    try:
        app = create_app(
            settings, engine=engine, network=network, options=options, background=background
        )
        config = uvicorn.Config(app, host=host, port=port, log_level="info", proxy_headers=False)
        # Uvicorn installs its handlers in Config(); every one of them redacts secrets too.
        install_log_redaction("uvicorn", "uvicorn.error", "uvicorn.access")
        uvicorn.Server(config).run()
    finally:
        engine.dispose()

"""The HTTP API for the appeal builder (design §13): `create_app`, `serve`, API keys.

```
tracking.api
├── app.py        create_app(settings) with its lifespan; serve()
├── context.py    ApiOptions, ApiContext (what routes and workers share)
├── deps.py       Annotated dependencies: the context, the caller's tenant
├── guard.py      the ASGI guard in front of /v1: the key first, then body and rate limits
├── keys.py       API keys: create (shown once), list, revoke; hashed, compared by digest
├── problems.py   RFC 9457 problem details for every error
├── quotas.py     per-tenant quotas checked before work is queued (429)
├── models.py     request and response bodies: orders, jobs, evidence, summary
├── webhook_models.py  ... and of the webhook routes
├── crud.py       keyword-only reads behind the routes: orders, evidence, exchanges, summary
├── orders_import.py   orders imported from JSON or an uploaded file
├── jobs.py       the in-process job runner and its handlers (pulls, bundles)
├── procrastinate_jobs.py    on PostgreSQL: jobs and deliveries queued on Procrastinate
├── procrastinate_runner.py  ... and run by the Procrastinate worker of serve (or worker)
├── webhooks.py   signing, event names and headers, the bundle.ready event
├── dispatch.py   the retrying webhook dispatcher (guarded transport, deadlines)
├── outbound.py   the guarded transport: public addresses only
└── routes/       one router per resource; routes/jobs.py queues and finds the job resources'
                  jobs (pulls, bundles) for both
```

A new route is a router in `routes/`, mounted under `/v1` by `app.py`; it calls the same
use-case functions as the command line. An entry point: no other package imports it.
No SQL here: every query is a function of `tracking.store` (`store.jobs`, `store.api_keys`,
`store.webhooks`, `store.webhook_events`, `store.task_queue`, `store.tenant_orders`,
`store.orders`).
"""

from __future__ import annotations

from tracking.api.app import Background, create_app, serve
from tracking.api.context import RETRY_SCHEDULE, ApiOptions
from tracking.api.keys import ApiKeyInfo, create_key, list_keys, revoke_key
from tracking.api.webhooks import SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "RETRY_SCHEDULE",
    "SIGNATURE_HEADER",
    "ApiKeyInfo",
    "ApiOptions",
    "Background",
    "create_app",
    "create_key",
    "list_keys",
    "revoke_key",
    "serve",
    "sign",
    "verify_signature",
]

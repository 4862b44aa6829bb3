"""The HTTP API for the appeal builder (design §13): `create_app`, `serve`, API keys.

```
tracking.api
├── app.py        create_app(settings) with its lifespan; serve()
├── context.py    ApiOptions, ApiContext (what routes and workers share)
├── deps.py       Annotated dependencies: the context, the caller's tenant
├── keys.py       API keys: create (shown once), list, revoke; hashed storage
├── problems.py   RFC 9457 problem details for every error
├── models.py     request and response bodies
├── crud.py       keyword-only reads and writes behind the routes
├── jobs.py       the jobs table and the in-process runner (pulls, bundles)
├── procrastinate_jobs.py    on PostgreSQL: jobs and deliveries queued on Procrastinate
├── procrastinate_runner.py  ... and run by the Procrastinate worker of serve (or worker)
├── webhooks.py   signing, events, deliveries, the retrying dispatcher
├── tables.py     the API's tables (migration 0002)
└── routes/       one router per resource
```

A new route is a router in `routes/`, mounted under `/v1` by `app.py`; it calls the same
use-case functions as the command line. An entry point: no other package imports it.
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

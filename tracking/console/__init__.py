"""The seller's web console (design §17): server-rendered pages from export file to bundle.

```
tracking.console
├── web.py        templates, the signed-in page (session cookie), CSRF, security headers
├── i18n.py       every text in English and Chinese (Simplified); the language choice
├── auth.py       sign in (API key or one-time link), sign out, the language switch
├── uploads.py    upload an orders file: profile, preview, column mapping, rejected rows, import
├── work.py       pull and bundle jobs (the API's), with live progress by htmx polling
├── orders.py     the orders table (filters, search, keyset paging) and one order's evidence
├── account.py    settings: carrier readiness, API keys, webhooks and their deliveries
├── templates/    Jinja2 pages (autoescaped)
└── static/       console.css, console.js (drag and drop), vendored htmx.min.js
```

`install_console(app)` adds it to the API app (`create_app`): the console answers `/`, the
API stays under `/v1`. Pages call the same use-case functions as the API (`tracking.api.crud`,
`tracking.api.jobs`, `tracking.api.keys`, `tracking.api.webhooks`, `tracking.read`), always
with the session's tenant; SQL of its own lives in `tracking.store.console_sessions` and
`tracking.store.order_pages`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from tracking.console import account, auth, orders, uploads, work
from tracking.console.auth import LINK_PATH, link_path
from tracking.console.uploads import UPLOAD_PATH
from tracking.console.web import ConsoleError, ConsoleHeaders, is_console_path, on_console_error
from tracking.evidence.fonts import get_font_ttf

__all__ = ["LINK_PATH", "UPLOAD_PATH", "install_console", "is_console_path", "link_path"]


def install_console(app: FastAPI) -> None:
    """Serve the console from `app` (the API app): its pages, static files and headers."""
    app.add_exception_handler(ConsoleError, on_console_error)
    app.add_middleware(ConsoleHeaders)
    for module in (auth, uploads, orders, work, account):
        app.include_router(module.router, include_in_schema=False)
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="console-static")
    app.add_api_route(CJK_FONT_PATH, _cjk_font, methods=["GET"], include_in_schema=False)


CJK_FONT_PATH = "/fonts/cjk.ttf"
"""The evidence PDFs' font (WenQuanYi Micro Hei), for a browser with no Chinese font of its
own: console.css names it last, for CJK characters only, so most browsers never fetch it."""


async def _cjk_font() -> Response:
    data = await run_in_threadpool(get_font_ttf)
    return Response(
        data, media_type="font/ttf", headers={"Cache-Control": "public, max-age=604800"}
    )

"""What every console page shares: templates, the signed-in seller, CSRF, headers, errors.

A page's handler takes `Page` (the session's tenant, language and CSRF token; an anonymous
browser is sent to the sign-in page instead) and answers with `render`. Every POST handler
also takes `Posted`, which refuses with 403 a form whose `csrf` field (or `X-CSRF-Token`
header, for htmx) is not the session's synchronizer token.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracking.api.context import ApiContext
from tracking.api.keys import list_keys
from tracking.console.i18n import LANGUAGES, Translator, choose_language
from tracking.store.console_sessions import ConsoleSession, get_session

__all__ = [
    "CSP",
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "ConsoleError",
    "ConsoleHeaders",
    "Page",
    "PageDep",
    "Posted",
    "context_of",
    "is_console_path",
    "language_of",
    "on_console_error",
    "redirect",
    "render",
    "safe_next",
]

SESSION_COOKIE = "te_console"
LANG_COOKIE = "te_lang"
_HERE = Path(__file__).parent

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
"""No inline script or style anywhere: htmx and the drag-and-drop helper are files."""

_NOT_CONSOLE = ("/v1", "/docs", "/openapi.json", "/redoc")


def is_console_path(path: str) -> bool:
    """Whether a path belongs to the console (everything but the API and its docs)."""
    return not any(path == p or path.startswith(p + "/") for p in _NOT_CONSOLE)


class ConsoleHeaders:
    """ASGI middleware: the console's security headers on every console response."""

    _HEADERS = (
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console_path(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in self._HEADERS if k not in names]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _utc_text(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _local_text(value: datetime | None, offset_minutes: int | None) -> str:
    if value is None:
        return ""
    if offset_minutes is None:
        return ""
    zone = timezone(timedelta(minutes=offset_minutes))
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return (
        value.astimezone(zone).strftime("%Y-%m-%d %H:%M") + f" (UTC{sign}{hours:02}:{minutes:02})"
    )


def _day(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d") if value else ""


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


_env.filters["utc"] = _utc_text
_env.filters["local"] = _local_text
_env.filters["day"] = _day
_env.filters["num"] = _number
_env.filters["q"] = lambda value: quote(str(value), safe="")
_env.globals["urlencode"] = urlencode


@dataclass(frozen=True, slots=True)
class Page:
    """A signed-in request: its context, session, language and translator."""

    request: Request
    context: ApiContext
    session: ConsoleSession
    session_id: str
    lang: str
    t: Translator

    @property
    def tenant(self) -> str:
        return self.session.tenant


class ConsoleError(Exception):
    """Answered with the console's error page (or a redirect, when `location` is set)."""

    def __init__(self, status: int, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.location = location


def context_of(request: Request) -> ApiContext:
    """The app's context (set by the lifespan)."""
    context: ApiContext = request.app.state.context
    return context


def language_of(request: Request) -> str:
    """The language of the switch's cookie, else of `Accept-Language`."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return choose_language(request.headers.get("accept-language", ""))


_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\s]*$")


def safe_next(value: str | None, default: str = "/orders") -> str:
    """`value` when it is a path of this site (never another host), else `default`."""
    if value and len(value) <= 2048 and _SAFE_NEXT.match(value) and "\\" not in value:
        return value
    return default


def _key_active(context: ApiContext, session: ConsoleSession) -> bool:
    if session.key_id is None:
        return True
    for key in list_keys(context.engine, session.tenant):
        if key.id == session.key_id:
            return key.revoked_at is None
    return False


async def current_page(request: Request) -> Page:
    """The signed-in seller; anonymous browsers are sent to the sign-in page."""
    context = context_of(request)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    session = None
    if session_id:

        def lookup() -> ConsoleSession | None:
            found = get_session(context.engine, session_id)
            return found if found is not None and _key_active(context, found) else None

        session = await run_in_threadpool(lookup)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET" or request.headers.get("hx-request"):
            target = "/orders"
        raise ConsoleError(
            303, "sign in", location="/sign-in?" + urlencode({"next": safe_next(target)})
        )
    lang = language_of(request)
    return Page(
        request=request,
        context=context,
        session=session,
        session_id=session_id,
        lang=lang,
        t=Translator(lang),
    )


PageDep = Annotated[Page, Depends(current_page)]


async def posted(request: Request, page: PageDep) -> Page:
    """`page`, after checking the form's CSRF token against the session's (403 otherwise)."""
    given = request.headers.get("x-csrf-token", "")
    if not given:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else ""
    if not given or not hmac.compare_digest(given.encode(), page.session.csrf.encode()):
        raise ConsoleError(403, page.t("error.csrf"))
    return page


Posted = Annotated[Page, Depends(posted)]


def render(
    page: Page | None,
    template: str,
    *,
    request: Request | None = None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A template rendered for `page` (or for an anonymous `request`: the sign-in pages)."""
    req = page.request if page is not None else request
    assert req is not None
    lang = page.lang if page is not None else language_of(req)
    here = req.url.path + (f"?{req.url.query}" if req.url.query else "")
    html = _env.get_template(template).render(
        t=page.t if page is not None else Translator(lang),
        lang=lang,
        csrf=page.session.csrf if page is not None else "",
        tenant=page.tenant if page is not None else "",
        signed_in=page is not None,
        here=here,
        path=req.url.path,
        **values,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(location: str) -> Response:
    """303 See Other to `location` (after a POST, the browser GETs it)."""
    return RedirectResponse(location, status_code=303)


async def on_console_error(request: Request, exc: Exception) -> Response:
    """The exception handler of `ConsoleError`."""
    assert isinstance(exc, ConsoleError)
    if exc.location is not None:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": exc.location})
        return RedirectResponse(exc.location, status_code=exc.status)
    return render(None, "error.html", request=request, status=exc.status, message=exc.message)

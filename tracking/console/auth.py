"""Sign in (an API key, or a one-time link), sign out, and the language switch.

A sign-in always opens a new server-side session with a fresh random id (the id a browser
sent before is ended, never promoted: no session fixation). The cookie is HttpOnly,
SameSite=Strict, and Secure when the console is reached over https. The sign-in form itself
carries a pre-session token (a cookie and a hidden field that must match), so another site
cannot sign a browser into its own store.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from tracking.api.keys import authenticate
from tracking.console.i18n import LANGUAGES, Translator
from tracking.console.web import (
    LANG_COOKIE,
    SESSION_COOKIE,
    ConsoleError,
    Posted,
    context_of,
    language_of,
    redirect,
    render,
    safe_next,
)
from tracking.store.console_sessions import (
    SESSION_TTL,
    create_session,
    end_session,
    get_session,
    redeem_link,
)
from tracking.store.tenant_orders import count_orders

__all__ = ["LINK_PATH", "router"]

router = APIRouter()

LINK_PATH = "/sign-in/link"
"""`track-evidence console` prints `<base>/sign-in/link?token=...`."""

_PRE_COOKIE = "te_pre"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _signed_in(request: Request, response: Response, session_id: str) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(_PRE_COOKIE, path="/sign-in")
    return response


@router.get("/")
async def home(request: Request) -> Response:
    """The orders page when signed in (the upload page for a store with none), else sign-in."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    engine = context_of(request).engine
    found = await run_in_threadpool(get_session, engine, session_id) if session_id else None
    if found is None:
        return redirect("/sign-in")
    return redirect(await _landing(request, found.tenant))


async def _landing(request: Request, tenant: str) -> str:
    """The orders page, or the upload page while the store has no orders yet."""
    engine = context_of(request).engine
    stored = await run_in_threadpool(lambda: count_orders(engine, tenant=tenant))
    return "/upload" if stored == 0 else "/orders"


def _form(request: Request, *, failed: str = "", status: int = 200) -> Response:
    pre = secrets.token_urlsafe(24)
    response = render(
        None,
        "sign_in.html",
        request=request,
        status=status,
        pre=pre,
        next=safe_next(request.query_params.get("next"), default=""),
        failed=failed,
    )
    response.set_cookie(
        _PRE_COOKIE,
        pre,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/sign-in",
    )
    return response


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    """The sign-in form."""
    return _form(request)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the API key and open a session for its tenant."""
    t = Translator(language_of(request))
    form = await request.form()
    pre, cookie = str(form.get("pre") or ""), request.cookies.get(_PRE_COOKIE, "")
    if not pre or not cookie or not hmac.compare_digest(pre.encode(), cookie.encode()):
        raise ConsoleError(403, t("error.csrf"))
    key = str(form.get("api_key") or "").strip()
    engine = context_of(request).engine
    principal = await run_in_threadpool(authenticate, engine, key) if key else None
    if principal is None:
        return _form(request, failed=t("signin.bad_key"), status=401)
    session_id = await run_in_threadpool(
        lambda: create_session(
            engine,
            tenant=principal.tenant,
            key_id=principal.key_id,
            replaces=request.cookies.get(SESSION_COOKIE),
        )
    )
    wanted = str(form.get("next") or "")
    if wanted:  # the page the browser was sent away from
        target = safe_next(wanted)
    else:  # a plain sign-in: the orders, or the upload page while the store has none
        target = await _landing(request, principal.tenant)
    return _signed_in(request, redirect(target), session_id)


@router.get(LINK_PATH)
async def sign_in_link(request: Request) -> Response:
    """Redeem a one-time link: a session for its tenant, then the token leaves the address."""
    token = request.query_params.get("token", "")
    engine = context_of(request).engine
    tenant = await run_in_threadpool(redeem_link, engine, token) if token else None
    if tenant is None:
        t = Translator(language_of(request))
        return _form(request, failed=t("signin.bad_link"), status=401)
    session_id = await run_in_threadpool(
        lambda: create_session(
            engine, tenant=tenant, key_id=None, replaces=request.cookies.get(SESSION_COOKIE)
        )
    )
    return _signed_in(request, redirect("/upload"), session_id)


@router.post("/sign-out")
async def sign_out(page: Posted) -> Response:
    """End the session at once."""
    await run_in_threadpool(end_session, page.context.engine, page.session_id)
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language/{lang}")
async def choose(request: Request, lang: str) -> Response:
    """The language switch: remembered in a cookie, back to the page it was used on."""
    response = redirect(safe_next(request.query_params.get("next"), default="/"))
    if lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
            path="/",
        )
    return response


def link_path(token: str) -> str:
    """The path of a one-time sign-in link."""
    return f"{LINK_PATH}?{urlencode({'token': token})}"

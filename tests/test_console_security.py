"""The console's security bars (issue 17): no cross-tenant access through any page or download,
CSRF refused, no session fixation, one-time links used once, expired sessions refused, and no
secret value in any page.

The app is the one `serve` runs (`create_app`), driven in process by a cookie-keeping client,
as a browser would: sign in through the form, then pages and forms with the CSRF token the
pages carry. Tenant B fills its store through the API (orders, a pull from the sandbox, a zip
bundle, a webhook) and through the console (an upload); tenant A then asks for each of B's
things by id and must get 404, never B's data.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from tests.test_api import client, finished, make_app, running, settings
from tests.test_pull import AS_OF, write_orders
from tracking.api import ApiOptions, create_app, create_key, list_keys
from tracking.console import link_path
from tracking.store.console_sessions import create_link, create_session
from tracking.store.webhooks import list_webhooks

SESSION_COOKIE = "te_console"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PRE = re.compile(r'name="pre" value="([^"]+)"')


@dataclass
class Browser:
    """A cookie-keeping client that signs in through the form and posts with the page's token."""

    http: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.get(path, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(
        self, path: str, data: dict[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.post(path, data={"csrf": self.csrf, **(data or {})}, **kw)

    async def sign_in(self, key: str) -> httpx.Response:
        form = await self.http.get("/sign-in")
        assert form.status_code == 200
        pre = PRE.search(form.text)
        assert pre is not None, form.text
        done = await self.http.post(
            "/sign-in", data={"pre": pre.group(1), "api_key": key, "next": "/orders"}
        )
        assert done.status_code == 303, done.text
        await self.get("/orders")
        return done

    @property
    def session_id(self) -> str | None:
        return self.http.cookies.get(SESSION_COOKIE)


@asynccontextmanager
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://console.test"
    ) as http:
        yield Browser(http)


@pytest.fixture
def engine(sqlite_url: str, make_engine: Any) -> sa.Engine:
    engine: sa.Engine = make_engine(sqlite_url)
    return engine


def _type(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type}


def assert_not_found(response: httpx.Response, *secrets: str) -> None:
    """404, and none of `secrets` in the answer but those the request itself named."""
    assert response.status_code == 404, (response.request.url, response.status_code)
    asked = unquote(str(response.request.url))
    for secret in secrets:
        if secret not in asked:
            assert secret not in response.text, (asked, secret)


# -- no cross-tenant access ------------------------------------------------------------------


async def test_no_page_or_download_of_another_tenant(engine: sa.Engine, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, ["cainiao"], per_scenario=1)
    b_orders = orders.read_text(encoding="utf-8").replace("\ncainiao-", "\nB-cainiao-")
    key_a, key_b = create_key(engine, "shop-a"), create_key(engine, "shop-b")
    app = make_app(engine, tmp_path)
    async with running(app), client(app, key_b) as api_b:
        # B's store: orders, a pull (raw carrier bodies), a zip bundle, a webhook
        imported = await api_b.post(
            "/v1/orders", content=b_orders.encode(), headers=_type("text/csv")
        )
        assert imported.json()["rows_accepted"] == len(expected)
        pull = await api_b.post("/v1/pulls", json={"as_of": AS_OF.isoformat()})
        assert (await finished(api_b, pull.headers["location"]))["status"] == "succeeded"
        made = await api_b.post(
            "/v1/bundles",
            json={"reference_id": "EVR-B-1", "as_of": AS_OF.isoformat(), "format": "zip"},
        )
        bundle = await finished(api_b, made.headers["location"])
        assert bundle["status"] == "succeeded", bundle
        hook = await api_b.post(
            "/v1/webhooks",
            json={"url": "https://appeals.example.com/hook", "events": ["bundle.ready"]},
        )
        assert hook.status_code == 201, hook.text
        evidence = (await api_b.get("/v1/orders/B-cainiao-delivered-0/evidence")).json()
        b_number = evidence["order"]["tracking_number"]
        b_sha = evidence["exchanges"][0]["sha256"]
        (b_key,) = list_keys(engine, "shop-b")
        (b_hook,) = list_webhooks(engine, tenant="shop-b")

        # B's upload through the console
        async with browser(app) as b:
            await b.sign_in(key_b)
            await b.get("/upload")
            uploaded = await b.post(
                "/upload", files={"file": ("b.csv", b_orders.encode(), "text/csv")}
            )
            assert uploaded.status_code == 303, uploaded.text
            b_upload = uploaded.headers["location"]
            assert re.fullmatch(r"/upload/[0-9a-f]{32}", b_upload), b_upload
            assert (await b.get(b_upload)).status_code == 200
            # B itself sees its order, raw body and bundle (so the 404s below are isolation)
            assert (
                await b.get("/order", params={"id": "B-cainiao-delivered-0"})
            ).status_code == 200
            assert (await b.get(f"/raw/{b_sha}")).status_code == 200
            assert (await b.get(f"/bundle/{bundle['id']}/download")).status_code == 200

        # A, signed in to the console, asks for each of B's things by id
        async with browser(app) as a:
            await a.sign_in(key_a)
            b_ids = ("B-cainiao-", b_number, b_sha)
            for path in (
                "/order?id=B-cainiao-delivered-0",
                "/order/image.png?id=B-cainiao-delivered-0",
                f"/raw/{b_sha}",
                f"/raw/{b_sha}/download",
                f"/pull/{pull.json()['id']}",
                f"/pull/{pull.json()['id']}/progress",
                f"/bundle/{bundle['id']}",
                f"/bundle/{bundle['id']}/progress",
                f"/bundle/{bundle['id']}/download",
                b_upload,
                f"/settings/webhooks/{b_hook.id}",
            ):
                assert_not_found(await a.get(path), *b_ids)
            for path in (
                f"{b_upload}/map",
                f"{b_upload}/import",
                f"/settings/keys/{b_key.id}/revoke",
                f"/settings/webhooks/{b_hook.id}/delete",
            ):
                assert_not_found(await a.post(path, {"map_destination_country": "country"}))
            # ... and B's key, webhook and orders are untouched
            assert [k.id for k in list_keys(engine, "shop-b") if k.revoked_at is None] == [b_key.id]
            assert [h.id for h in list_webhooks(engine, tenant="shop-b")] == [b_hook.id]
            # A's own pages list nothing of B's, even when A searches for it
            for path in (
                "/orders",
                "/orders?q=B-cainiao",
                f"/orders?q={b_number}",
                "/orders?verdict=pass",
                "/bundle",
                "/pull",
                "/upload",
                "/settings",
            ):
                page = await a.get(path)
                assert page.status_code == 200, path
                assert 'data-testid="order-row"' not in page.text, path
                for secret in (*b_ids, b_key.id, b_hook.id, "appeals.example.com"):
                    if secret not in path:  # the language links repeat the page's own address
                        assert secret not in page.text, (path, secret)


# -- CSRF ------------------------------------------------------------------------------------


async def test_forms_without_the_sessions_token_are_refused(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    async with running(app), browser(app) as a:
        await a.sign_in(key)
        assert a.csrf
        forms: list[tuple[str, dict[str, Any]]] = [
            ("/pull", {"window_days": "90"}),
            ("/bundle", {"reference_id": "EVR-1"}),
            ("/settings/keys", {"name": "stolen"}),
            ("/settings/webhooks", {"url": "https://evil.example.com/"}),
            ("/sign-out", {}),
        ]
        for path, data in forms:
            for token in (None, "", "x" * 43, a.csrf[:-1] + ("A" if a.csrf[-1] != "A" else "B")):
                body = dict(data) if token is None else {**data, "csrf": token}
                refused = await a.http.post(path, data=body)
                assert refused.status_code == 403, (path, token, refused.status_code)
                assert "Traceback" not in refused.text
            # htmx's header with a wrong token is refused too
            refused = await a.http.post(path, data=data, headers={"X-CSRF-Token": "nope"})
            assert refused.status_code == 403, path
        upload = await a.http.post(
            "/upload", files={"file": ("o.csv", b"order_id\n1\n", "text/csv")}, data={}
        )
        assert upload.status_code == 403
        # nothing happened: no key made, no job queued, still signed in
        assert len(list_keys(engine, "shop-a")) == 1
        assert list_webhooks(engine, tenant="shop-a") == []
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM api_jobs")).scalar_one() == 0
        assert (await a.get("/orders")).status_code == 200
        # the right token works
        made = await a.post("/settings/keys", {"name": "mine"})
        assert made.status_code == 200
        assert len(list_keys(engine, "shop-a")) == 2


async def test_sign_in_form_needs_its_own_token(engine: sa.Engine, tmp_path: Path) -> None:
    """A page on another site cannot post a key (its own) into the victim's browser."""
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    async with running(app), browser(app) as a:
        refused = await a.http.post("/sign-in", data={"api_key": key})
        assert refused.status_code == 403
        await a.http.get("/sign-in")
        refused = await a.http.post("/sign-in", data={"api_key": key, "pre": "forged"})
        assert refused.status_code == 403
        assert a.session_id is None


# -- sessions --------------------------------------------------------------------------------


def _set_session(b: Browser, value: str) -> None:
    b.http.cookies.set(SESSION_COOKIE, value, domain="console.test", path="/")


async def test_a_planted_session_id_never_becomes_a_session(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    async with running(app), browser(app) as victim, browser(app) as attacker:
        planted = "attacker-chosen-session-id-0123456789abcdef"
        _set_session(victim, planted)
        done = await victim.sign_in(key)
        cookie = done.headers["set-cookie"]
        assert "httponly" in cookie.lower()
        assert "samesite=strict" in cookie.lower()
        assert victim.session_id not in (None, planted)
        # the planted id opens nothing
        _set_session(attacker, planted)
        assert (await attacker.get("/orders")).headers["location"].startswith("/sign-in")
        # a session id the attacker got before the victim signed in again dies at sign-in
        first = victim.session_id
        assert first is not None
        await victim.sign_in(key)
        assert victim.session_id != first
        _set_session(attacker, first)
        assert (await attacker.get("/orders")).headers["location"].startswith("/sign-in")
        # signing out ends the session at once
        await victim.post("/sign-out")
        _set_session(attacker, str(victim.session_id or first))
        assert (await attacker.get("/orders")).status_code == 303


async def test_expired_sessions_and_links_are_refused(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    (info,) = list_keys(engine, "shop-a")
    long_ago = datetime.now(UTC) - timedelta(hours=13)
    stale = create_session(engine, tenant="shop-a", key_id=info.id, now=long_ago)
    live = create_session(engine, tenant="shop-a", key_id=info.id)
    old_link = create_link(engine, tenant="shop-a", now=datetime.now(UTC) - timedelta(hours=1))
    app = make_app(engine, tmp_path)
    async with running(app), browser(app) as b:
        _set_session(b, stale)
        refused = await b.get("/orders")
        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/sign-in")
        _set_session(b, live)
        assert (await b.get("/orders")).status_code == 200
        # a revoked key ends the sessions opened with it
        _set_session(b, live)
        await b.get("/settings")
        assert (await b.post(f"/settings/keys/{info.id}/revoke")).status_code == 303
        assert (await b.get("/orders")).status_code == 303
        assert (await b.http.post("/sign-in", data={"api_key": key})).status_code == 403
        b.http.cookies.clear()
        expired = await b.get(link_path(old_link))
        assert expired.status_code == 401
        assert b.session_id is None


async def test_a_one_time_link_works_once(engine: sa.Engine, tmp_path: Path) -> None:
    create_key(engine, "shop-a")
    token = create_link(engine, tenant="shop-a")
    app = make_app(engine, tmp_path)
    async with running(app), browser(app) as first, browser(app) as second:
        opened = await first.http.get(link_path(token))
        assert opened.status_code == 303
        assert token not in opened.headers["location"]
        assert first.session_id is not None
        page = await first.get(opened.headers["location"])
        assert page.status_code == 200
        assert "shop-a" in page.text
        again = await second.http.get(link_path(token))
        assert again.status_code == 401
        assert second.session_id is None
        wrong = await second.http.get(link_path(token[:-2] + "zz"))
        assert wrong.status_code == 401


# -- no secrets in pages ---------------------------------------------------------------------


CARRIER_SECRETS = {
    "TRACK_EVIDENCE_17TRACK__TOKEN": "s3cret-17track-token-9f8e7d",
    "TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE": "C-SECRET-0042",
    "TRACK_EVIDENCE_YUNEXPRESS__API_SECRET": "s3cret-yun-api-5c4b3a",
}


async def test_no_secret_value_in_any_page(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CARRIER_SECRETS.items():
        monkeypatch.setenv(name, value)
    tenant_file = tmp_path / "tenants.toml"
    tenant_file.write_text(
        '[shop-a.yunexpress]\ncustomer_code = "C-TENANT-7777"\napi_secret = "s3cret-tenant-yun"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TRACK_EVIDENCE_TENANT_CREDENTIALS_FILE", str(tenant_file))
    key = create_key(engine, "shop-a")
    # real carriers (no sandbox): the server's and the tenant's own credentials are in use
    app = create_app(
        settings(), engine=engine, options=ApiOptions(data_dir=tmp_path / "data", run_jobs=False)
    )
    secrets = [*CARRIER_SECRETS.values(), "C-TENANT-7777", "s3cret-tenant-yun", key]
    async with running(app), browser(app) as a:
        await a.sign_in(key)
        session_id = a.session_id
        assert session_id is not None
        # a new API key and a webhook's signing secret are shown once, in their own answer
        made = await a.post("/settings/keys", {"name": "appeal builder"})
        new_key = re.search(r"te_live_[A-Za-z0-9_\-]+", made.text)
        assert new_key is not None, "the new key is shown once"
        hook = await a.post("/settings/webhooks", {"url": "https://appeals.example.com/hook"})
        assert hook.status_code == 200, hook.text
        signing = re.search(r"whsec_[A-Za-z0-9_\-]+", hook.text)
        assert signing is not None, "the webhook's signing secret is shown once"
        assert new_key.group(0) not in hook.text
        (webhook,) = list_webhooks(engine, tenant="shop-a")
        secrets += [new_key.group(0), signing.group(0), session_id]
        for path in (
            "/orders",
            "/upload",
            "/pull",
            "/bundle",
            "/settings",
            f"/settings/webhooks/{webhook.id}",
            "/orders?q=s3cret",
        ):
            page = await a.get(path)
            assert page.status_code == 200, path
            for secret in secrets:
                assert secret not in page.text, (path, secret)
        # readiness is shown (which carriers are configured), never the values
        readiness = (await a.get("/settings")).text.lower()
        assert "yunexpress" in readiness
        assert "17track" in readiness


async def test_pages_load_nothing_from_other_hosts(engine: sa.Engine, tmp_path: Path) -> None:
    """Strict CSP on every page, and no script, style or image from another host."""
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    async with running(app), browser(app) as a:
        pages = [await a.http.get("/sign-in")]
        await a.sign_in(key)
        for path in ("/orders", "/upload", "/pull", "/bundle", "/settings"):
            pages.append(await a.get(path))
        for page in pages:
            assert page.status_code == 200
            policy = page.headers["content-security-policy"]
            assert "default-src 'self'" in policy
            assert "script-src 'self'" in policy
            assert "unsafe-inline" not in policy
            assert "unsafe-eval" not in policy
            assert page.headers["x-frame-options"] == "DENY"
            sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assert sources
            assert not [s for s in sources if re.match(r"(?:https?:)?//", s)], sources
            assert "<script>" not in page.text  # no inline script (CSP would block it)
        for asset in ("/static/htmx.min.js", "/static/console.js", "/static/console.css"):
            served = await a.http.get(asset)
            assert served.status_code == 200, asset

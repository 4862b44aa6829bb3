"""The seller's console, server side: sign-in and sessions, CSRF, tenants, pages, languages.

The app is driven in process over `httpx.ASGITransport` (as tests/test_api.py does), with the
sandbox carriers; Starlette's `TestClient` is its synchronous wrapper, which now warns on
import (and warnings are errors here). A real browser walks the same pages in the browser
tests.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from carriers.registry import all_carriers
from tests.test_api import make_app, running
from tests.test_pull import write_orders
from tracking.api import create_key, list_keys
from tracking.console import link_path
from tracking.console.i18n import CATALOGUE, Translator, choose_language
from tracking.core.domain import Stage
from tracking.ingest.profiles import FIELDS
from tracking.store.console_sessions import create_link, create_session
from tracking.store.jobs import create_job
from tracking.store.order_pages import OrderFilter, order_page

CONSOLE = Path(__file__).resolve().parent.parent / "tracking" / "console"


@pytest.fixture
def engine(sqlite_url: str, make_engine: Any) -> sa.Engine:
    made: sa.Engine = make_engine(sqlite_url)
    return made


def browser(app: FastAPI) -> httpx.AsyncClient:
    """A browser: keeps cookies, does not follow redirects (tests look at them)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, key: str) -> str:
    """Sign in with `key`; the CSRF token of the session."""
    form = await http.get("/sign-in")
    pre = re.search(r'name="pre" value="([^"]+)"', form.text)
    assert pre is not None
    done = await http.post(
        "/sign-in", data={"pre": pre.group(1), "api_key": key, "next": "/orders"}
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/orders"
    page = await http.get("/upload")
    assert page.status_code == 200
    return csrf_of(page.text)


@asynccontextmanager
async def console(engine: sa.Engine, tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = make_app(engine, tmp_path)
    async with running(app):
        yield app


async def finished(http: httpx.AsyncClient, location: str, *, seconds: float = 60) -> str:
    """Poll a job's progress fragment as the page does, until the job ends; its HTML."""
    deadline = time.monotonic() + seconds
    while True:
        fragment = await http.get(location + "/progress")
        assert fragment.status_code == 200
        status = re.search(r'data-status="(\w+)"', fragment.text)
        assert status is not None
        if status.group(1) in ("succeeded", "failed"):
            return fragment.text
        assert time.monotonic() < deadline, "the job did not finish"
        await asyncio.sleep(0.1)


async def upload(http: httpx.AsyncClient, csrf: str, name: str, data: bytes) -> str:
    """Post a file; the preview's location."""
    sent = await http.post("/upload", data={"csrf": csrf}, files={"file": (name, data)})
    assert sent.status_code == 303, sent.text
    location: str = sent.headers["location"]
    return location


async def import_file(http: httpx.AsyncClient, csrf: str, data: bytes) -> None:
    location = await upload(http, csrf, "orders.csv", data)
    done = await http.post(location + "/import", data={"csrf": csrf})
    assert done.status_code == 303
    shown = await http.get(location)
    assert 'data-testid="import-result"' in shown.text


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- sign in, sessions -----------------------------------------------------------------------


async def test_sign_in_with_a_key_opens_a_session_and_sign_out_ends_it(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        anonymous = await http.get("/orders?verdict=fail")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/sign-in?next=%2Forders%3Fverdict%3Dfail"

        form = await http.get("/sign-in")
        pre = re.search(r'name="pre" value="([^"]+)"', form.text)
        assert pre is not None
        done = await http.post("/sign-in", data={"pre": pre.group(1), "api_key": key})
        cookie = done.headers["set-cookie"]
        assert cookie.startswith("te_console=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        session_id = http.cookies["te_console"]

        page = await http.get("/orders")
        assert page.status_code == 200
        assert 'data-testid="tenant">' in page.text
        assert "shop-a" in page.text

        out = await http.post("/sign-out", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        http.cookies.set("te_console", session_id, domain="console.test")  # the old id, replayed
        again = await http.get("/orders")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/sign-in")


async def test_a_wrong_or_revoked_key_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        form = await http.get("/sign-in")
        pre = re.search(r'name="pre" value="([^"]+)"', form.text)
        assert pre is not None
        wrong = await http.post("/sign-in", data={"pre": pre.group(1), "api_key": key + "x"})
        assert wrong.status_code == 401
        assert "not valid or was revoked" in wrong.text
        assert "te_console" not in http.cookies

        csrf = await sign_in(http, key)
        (info,) = list_keys(engine, "shop-a")
        # Revoking the key the session was opened with ends the session.
        revoked = await http.post(f"/settings/keys/{info.id}/revoke", data={"csrf": csrf})
        assert revoked.status_code == 303
        after = await http.get("/orders")
        assert after.status_code == 303


async def test_the_sign_in_form_refuses_a_post_without_its_pre_session_token(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """Another site cannot sign a browser into its own store (login CSRF)."""
    key = create_key(engine, "attacker")
    async with console(engine, tmp_path) as app, browser(app) as http:
        forged = await http.post("/sign-in", data={"pre": "guess", "api_key": key})
        assert forged.status_code == 403
        assert "te_console" not in http.cookies


async def test_sign_in_never_keeps_a_session_id_chosen_before_it(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """Session fixation: an id planted in the browser is never the signed-in session's."""
    key = create_key(engine, "shop-a")
    planted = create_session(engine, tenant="shop-a", key_id=None)  # a live id, known to Eve
    async with console(engine, tmp_path) as app, browser(app) as http:
        http.cookies.set("te_console", planted, domain="console.test")
        await sign_in(http, key)
        fresh = http.cookies["te_console"]
        assert fresh != planted
        async with browser(app) as eve:
            eve.cookies.set("te_console", planted, domain="console.test")
            assert (await eve.get("/orders")).status_code == 303  # ended by the sign-in


async def test_a_one_time_link_signs_in_once(engine: sa.Engine, tmp_path: Path) -> None:
    token = create_link(engine, tenant="shop-a")
    stale = create_link(engine, tenant="shop-a", now=datetime.now(UTC) - timedelta(hours=1))
    async with console(engine, tmp_path) as app:
        async with browser(app) as http:
            first = await http.get(link_path(token))
            assert first.status_code == 303
            assert first.headers["location"] == "/upload"
            assert (await http.get("/upload")).status_code == 200
        async with browser(app) as other:
            second = await other.get(link_path(token))
            assert second.status_code == 401
            assert "already used or has expired" in second.text
            expired = await other.get(link_path(stale))
            assert expired.status_code == 401
            assert "te_console" not in other.cookies


# -- CSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        pytest.param("/pull", {"window_days": "90"}, id="pull"),
        pytest.param("/bundle", {"reference_id": "R-1"}, id="bundle"),
        pytest.param("/settings/keys", {"name": "x"}, id="create-key"),
        pytest.param("/settings/webhooks", {"url": "https://example.com/h"}, id="webhook"),
        pytest.param("/sign-out", {}, id="sign-out"),
    ],
)
async def test_a_form_without_the_sessions_csrf_token_is_refused(
    engine: sa.Engine, tmp_path: Path, path: str, data: dict[str, str]
) -> None:
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        csrf = await sign_in(http, key)
        missing = await http.post(path, data=data)
        assert missing.status_code == 403
        assert "did not come from this page" in missing.text
        wrong = await http.post(path, data={**data, "csrf": csrf[:-2] + "xx"})
        assert wrong.status_code == 403
        assert len(list_keys(engine, "shop-a")) == 1  # nothing was created
        # the same token in the header htmx sends is accepted
        accepted = await http.post(path, data=data, headers={"X-CSRF-Token": csrf})
        assert accepted.status_code in (200, 303)
        # A job started here may still run when the app stops: the runner must stop anyway.


# -- tenants ---------------------------------------------------------------------------------


async def test_no_page_shows_or_acts_on_another_stores_data(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key_a, key_b = create_key(engine, "shop-a"), create_key(engine, "shop-b")
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao"], per_scenario=1)
    data = orders.read_bytes()
    async with console(engine, tmp_path) as app, browser(app) as a, browser(app) as b:
        csrf_a = await sign_in(a, key_a)
        csrf_b = await sign_in(b, key_b)
        await import_file(a, csrf_a, data)
        upload_a = await upload(a, csrf_a, "orders.csv", data)
        pulled = await a.post("/pull", data={"csrf": csrf_a})
        pull_a = pulled.headers["location"]
        await finished(a, pull_a)
        built = await a.post(
            "/bundle", data={"csrf": csrf_a, "reference_id": "REF-A", "verdicts": "pass"}
        )
        bundle_a = built.headers["location"]
        assert "bundle-verified" in await finished(a, bundle_a)
        listing = await a.get("/orders")
        order_id = re.findall(r'data-order-id="([^"]+)"', listing.text)[0]
        evidence = await a.get("/order", params={"id": order_id})
        sha = re.findall(r"/raw/([0-9a-f]{64})", evidence.text)[0]
        assert (await a.get(f"/raw/{sha}")).status_code == 200
        hook = await a.post(
            "/settings/webhooks", data={"csrf": csrf_a, "url": "https://example.com/hook"}
        )
        hook_id = re.findall(r'data-webhook-id="([^"]+)"', hook.text)[0]
        (key_a_info,) = list_keys(engine, "shop-a")

        for url in (
            f"/order?id={order_id}",
            f"/order/image.png?id={order_id}",
            f"/raw/{sha}",
            f"/raw/{sha}/download",
            pull_a,
            pull_a + "/progress",
            bundle_a,
            bundle_a + "/progress",
            bundle_a + "/download",
            upload_a,
            f"/settings/webhooks/{hook_id}",
        ):
            answer = await b.get(url)
            assert answer.status_code == 404, url
            assert order_id not in text_of(answer.text)
        for url in (
            upload_a + "/import",
            upload_a + "/map",
            f"/settings/keys/{key_a_info.id}/revoke",
            f"/settings/webhooks/{hook_id}/delete",
        ):
            assert (await b.post(url, data={"csrf": csrf_b})).status_code == 404, url
        assert list_keys(engine, "shop-a")[0].revoked_at is None
        theirs = await b.get("/orders")
        assert 'data-testid="order-row"' not in theirs.text
        assert order_id not in (await b.get(f"/orders?q={order_id[:4]}")).text
        assert (await a.get(f"/order?id={order_id}")).status_code == 200  # still A's


# -- settings --------------------------------------------------------------------------------


async def test_settings_show_readiness_and_a_new_key_once_never_a_secret(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_4PX__APP_KEY", "px-key-SHOULD-NOT-SHOW")
    monkeypatch.setenv("TRACK_EVIDENCE_4PX__APP_SECRET", "px-secret-SHOULD-NOT-SHOW")
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        csrf = await sign_in(http, key)
        page = await http.get("/settings")
        assert page.status_code == 200
        assert "SHOULD-NOT-SHOW" not in page.text
        assert key not in page.text
        ready = re.search(r'data-testid="carrier-4px">(.*?)</tr>', page.text, re.S)
        assert ready is not None
        assert ">ready<" in ready.group(1)
        missing = re.search(r'data-testid="carrier-yunexpress">(.*?)</tr>', page.text, re.S)
        assert missing is not None
        assert "no credentials (missing" in missing.group(1)

        created = await http.post("/settings/keys", data={"csrf": csrf, "name": "erp"})
        shown = re.search(r'data-testid="new-key"[^>]*>([^<]+)<', created.text)
        assert shown is not None
        assert created.headers["cache-control"] == "no-store"
        later = await http.get("/settings")
        assert shown.group(1) not in later.text
        assert "erp" in later.text


# -- languages -------------------------------------------------------------------------------


def _keys_used() -> set[str]:
    used: set[str] = set()
    sources = [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("*.py")]
    for path in (p for p in sources if p.name != "i18n.py"):
        used.update(
            re.findall(r"(?<![A-Za-z_])t\(\s*['\"]([a-z_.]+)['\"]", path.read_text("utf-8"))
        )
    return used


def test_the_console_names_stages_and_verdicts_in_chinese_as_the_evidence_does() -> None:
    """A seller reads the console beside the precheck PDF: one Chinese word for each stage
    and verdict (the console's English is written for sentences, the PDF's for labels)."""
    from tracking.evidence.labels import STAGE_LABELS, VERDICT_LABELS

    console = {
        key: CATALOGUE[key][1] for key in CATALOGUE if key.startswith(("stage.", "verdict."))
    }
    evidence = {f"stage.{k}": zh for k, (_, zh) in STAGE_LABELS.items()} | {
        f"verdict.{k}": zh for k, (_, zh) in VERDICT_LABELS.items()
    }
    assert {k: console[k] for k in evidence if k in console} == {
        k: evidence[k] for k in evidence if k in console
    }
    assert {f"stage.{s.value}" for s in Stage} <= console.keys()


def test_every_console_text_is_in_both_languages() -> None:
    used = _keys_used()
    assert len(used) > 150
    dynamic = (
        {f"field.{f}" for f in FIELDS}
        | {f"verdict.{v}" for v in ("pass", "fail", "pending", "none")}
        | {f"job.status.{s}" for s in ("queued", "running", "succeeded", "failed")}
        | {f"mstatus.{s}" for s in ("explicit", "inferred", "missing")}
        | {f"mstatus.short.{s}" for s in ("explicit", "inferred", "missing")}
        | {f"milestone.{m}" for m in ("departed_origin", "arrived_destination", "delivered")}
        | {f"severity.{s}" for s in ("error", "warning", "info")}
        | {f"stage.{s.value}" for s in Stage}
        | {"job.title_pull", "job.title_bundle", "role.origin", "role.last_mile"}
        | {"job.recent_pull", "job.recent_bundle"}
        | {f"nav.{n}" for n in ("upload", "pull", "orders", "bundle", "settings")}
    )
    built = {k for k in used if k.endswith((".", "_"))}  # "field." + name: the `dynamic` set
    missing = sorted((used - built | dynamic) - set(CATALOGUE))
    assert missing == []
    for key, (en, zh) in CATALOGUE.items():
        assert en.strip(), key
        assert zh.strip(), key
        assert re.search(r"[\u4e00-\u9fff]", zh) or key.startswith("mstatus.short"), key
        assert set(re.findall(r"\{(\w+)\}", en)) == set(re.findall(r"\{(\w+)\}", zh)), key


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        pytest.param("zh-CN,zh;q=0.9,en;q=0.8", "zh", id="chinese-first"),
        pytest.param("en-US,en;q=0.9,zh;q=0.8", "en", id="english-first"),
        pytest.param("fr-FR,zh-TW;q=0.5", "zh", id="chinese-among-others"),
        pytest.param("en;q=0.2,zh;q=0.7", "zh", id="by-quality"),
        pytest.param("de", "en", id="neither"),
        pytest.param("", "en", id="none"),
    ],
)
def test_the_language_follows_accept_language(header: str, lang: str) -> None:
    assert choose_language(header) == lang


async def test_every_page_speaks_the_browsers_language_and_the_switch_wins(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    zh = Translator("zh")
    async with console(engine, tmp_path) as app, browser(app) as http:
        http.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
        await sign_in(http, key)
        for path in ("/upload", "/pull", "/orders", "/bundle", "/settings"):
            page = await http.get(path)
            assert '<html lang="zh-Hans">' in page.text, path
            assert zh("nav.sign_out") in page.text, path
            assert 'id="lang-en"' in page.text, path
        switched = await http.get("/language/en", params={"next": "/orders"})
        assert switched.status_code == 303
        assert switched.headers["location"] == "/orders"
        page = await http.get("/orders")
        assert '<html lang="en">' in page.text
        assert "Sign out" in page.text
        away = await http.get("/language/zh", params={"next": "//evil.example/x"})
        assert away.headers["location"] == "/"


async def test_pages_load_no_inline_script_or_style_and_carry_a_strict_csp(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        await sign_in(http, key)
        for path in ("/sign-in", "/upload", "/pull", "/orders", "/bundle", "/settings"):
            page = await http.get(path)
            csp = page.headers["content-security-policy"]
            assert "default-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert page.headers["x-frame-options"] == "DENY"
            assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), path
            assert not re.search(r"\sstyle=|<style", page.text), path
            assert not re.search(r"\son[a-z]+=", page.text), path
        htmx = await http.get("/static/htmx.min.js")
        assert htmx.status_code == 200
        assert htmx.text.startswith("/*! htmx.org 2.0.11 | Zero-Clause BSD")
        assert "/v1" not in (await http.get("/docs")).headers.get("content-security-policy", "")


# -- upload ----------------------------------------------------------------------------------


def _orders_csv(rows: list[list[str]], header: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def test_upload_asks_for_an_unrecognized_column_then_previews_and_imports(
    engine: sa.Engine, tmp_path: Path
) -> None:
    header = ["Ref", "When it happened", "Carrier", "Tracking No", "Country", "SKU"]
    rows = [
        ["A-1", "2026-10-01 10:00", "Cainiao", "LP00123456789012", "RU", "sku-1"],
        ["A-1", "2026-10-01 10:00", "Cainiao", "LP00123456789012", "RU", "sku-2"],
        ["A-2", "2026-10-02 11:00", "Cainiao", "LP00123456789013", "FR", "sku-1"],
        ["A-3", "2026-10-03 12:00", "Cainiao", "LP00123456789014", "Narnia", "sku-9"],
    ]
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        csrf = await sign_in(http, key)
        location = await upload(http, csrf, "export.csv", _orders_csv(rows, header))
        first = await http.get(location)
        assert first.status_code == 200
        assert 'id="map-order_date"' in first.text
        assert 'id="map-order_id"' in first.text
        assert 'id="map-tracking_number"' not in first.text
        assert '<option value="When it happened">' in first.text
        assert 'data-testid="preview-row"' not in first.text

        mapped = await http.post(
            location + "/map",
            data={"csrf": csrf, "map_order_date": "When it happened", "map_order_id": "Ref"},
        )
        assert mapped.status_code == 303
        preview = await http.get(location)
        assert 'id="map-order_date"' not in preview.text
        shown = text_of(preview.text)
        assert "4 rows → 2 orders (1 further item rows" in shown
        assert preview.text.count('data-testid="preview-row"') == 2
        rejected = re.findall(r'data-testid="rejected-row">(.*?)</tr>', preview.text, re.S)
        assert len(rejected) == 1
        cells = re.findall(r"<td[^>]*>(.*?)</td>", rejected[0])
        assert cells[0] == "5"  # the spreadsheet row
        assert "Narnia" in cells[2]
        assert cells[3]  # the reason, in words
        assert (await http.get("/orders")).text.count('data-testid="order-row"') == 0

        done = await http.post(location + "/import", data={"csrf": csrf})
        assert done.status_code == 303
        result = await http.get(location)
        assert 'data-testid="import-result"' in result.text
        orders = await http.get("/orders")
        assert sorted(re.findall(r'data-order-id="([^"]+)"', orders.text)) == ["A-1", "A-2"]
        unjudged = await http.get("/order", params={"id": "A-1"})
        assert 'data-testid="not-judged"' in unjudged.text
        assert (await http.get("/order/image.png", params={"id": "A-1"})).status_code == 404
        assert (await http.get("/order", params={"id": "A-9"})).status_code == 404


async def test_an_excel_export_is_previewed_with_its_profile(
    engine: sa.Engine, tmp_path: Path
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["order_id", "order_date", "carrier", "tracking_number", "country"])
    sheet.append(["X-1", "2026-10-01 10:00", "YunExpress", "YT0000000000104729", "RU"])
    buffer = io.BytesIO()
    book.save(buffer)
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        csrf = await sign_in(http, key)
        location = await upload(http, csrf, "orders.xlsx", buffer.getvalue())
        preview = await http.get(location)
        assert preview.status_code == 200
        assert preview.text.count('data-testid="preview-row"') == 1
        assert "YT0000000000104729" in preview.text


async def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path, max_upload_bytes=1000)
    async with running(app), browser(app) as http:
        csrf = await sign_in(http, key)
        big = await http.post(
            "/upload", data={"csrf": csrf}, files={"file": ("big.csv", b"x," * 2000)}
        )
        assert big.status_code == 413


# -- orders: filters, paging ------------------------------------------------------------------


async def test_orders_filter_search_and_page_by_key(engine: sa.Engine, tmp_path: Path) -> None:
    header = ["order_id", "order_date", "carrier", "tracking_number", "country"]
    start = datetime.now(UTC) - timedelta(days=150)
    rows = [
        [
            f"N-{i:03}",
            (start + timedelta(days=i)).strftime("%Y-%m-%d %H:%M"),
            "Cainiao",
            f"LP{i:014}",
            "RU" if i % 3 else "FR",
        ]
        for i in range(1, 121)
    ]
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        csrf = await sign_in(http, key)
        await import_file(http, csrf, _orders_csv(rows, header))
        seen: list[str] = []
        page = await http.get("/orders")
        assert re.search(r'id="count-none"[^>]*><b>120</b>', page.text)
        while True:
            seen += re.findall(r'data-order-id="([^"]+)"', page.text)
            following = re.search(
                r'id="page-next"[^>]*href="([^"]+)"|href="([^"]+)" id="page-next"', page.text
            )
            if following is None:
                break
            page = await http.get((following.group(1) or following.group(2)).replace("&amp;", "&"))
        assert seen == [f"N-{i:03}" for i in range(120, 0, -1)]  # newest first, each once

        french = await http.get("/orders", params={"destination": "FR"})
        ids = re.findall(r'data-order-id="([^"]+)"', french.text)
        assert ids
        assert all(int(i[2:]) % 3 == 0 for i in ids)
        assert re.search(r'id="count-none"[^>]*><b>40</b>', french.text)

        found = await http.get("/orders", params={"q": "LP0000000000005"})
        assert re.findall(r'data-order-id="([^"]+)"', found.text) == [
            f"N-{i:03}" for i in range(59, 49, -1)
        ]
        recent = await http.get("/orders", params={"window": "60"})  # N-090 .. N-120
        assert 29 <= len(re.findall(r'data-order-id="([^"]+)"', recent.text)) <= 31
        judged = await http.get("/orders", params={"verdict": "fail"})
        assert 'data-testid="orders-empty"' in judged.text
        odd = await http.get("/orders", params={"verdict": "everything", "after": "bogus"})
        assert odd.status_code == 200  # unknown values are dropped, never widened or a 500
        assert 'id="filter-verdict"' in odd.text


def test_a_page_of_orders_is_read_through_the_tenant_date_index(engine: sa.Engine) -> None:
    """EXPLAIN on SQLite: no OFFSET, no full scan, no temporary sort, whatever the page."""
    from tracking.store import order_pages

    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        order_page(
            engine,
            tenant="shop-a",
            where=OrderFilter(verdict="fail", carrier="cainiao"),
            after=(datetime.now(UTC), 10**6),
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    ((statement, parameters),) = statements
    assert parameters[-1] == 0  # SQLAlchemy writes `LIMIT ? OFFSET ?` on SQLite: always 0
    with engine.connect() as connection:
        plan = " | ".join(
            str(row[-1])
            for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )
    # the verdict filter reads the orders' own verdict_status index, newest first
    assert "SEARCH orders USING INDEX ix_orders_tenant_verdict_date" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert order_pages.OT.name == "orders"


def test_counts_by_verdict_read_one_index_and_follow_every_new_verdict(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """The counts at the top of every page: the tenant's orders counted on the covering
    (tenant, verdict_status, order_date) index alone (no join with verdicts, no table row),
    and what they say follows each verdict `recompute_verdicts` stores. An import of 50 rows
    or more leaves SQLite's planner statistics (sqlite_stat1) for the orders table."""
    from tracking.api.orders_import import import_orders
    from tracking.judge.validator import POLICIES
    from tracking.store import order_pages
    from tracking.store.verdicts import recompute_verdicts

    path = tmp_path / "orders.csv"
    write_orders(path, ["cainiao", "yanwen", "4px"], per_scenario=3)
    data = path.read_bytes()
    import_orders(engine, tenant="shop-a", data=data, source="o.csv", carriers=all_carriers())
    with engine.connect() as connection:
        pks = list(
            connection.exec_driver_sql(
                "SELECT id FROM orders WHERE tenant = 'shop-a' ORDER BY id"
            ).scalars()
        )
        analyzed = connection.exec_driver_sql(
            "SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_orders_tenant_verdict_date'"
        ).scalar_one()
    assert len(pks) >= 50
    assert analyzed.split()[0] == str(len(pks))
    now = datetime.now(UTC)
    half = pks[: len(pks) // 2]
    recompute_verdicts(engine, order_ids=half, as_of=now, policy=POLICIES["default"], now=now)

    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        before = order_pages.verdict_counts(engine, tenant="shop-a", where=OrderFilter())
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    ((statement, parameters),) = statements
    with engine.connect() as connection:
        plan = " | ".join(
            str(row[-1])
            for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )
    assert plan.startswith("SEARCH orders USING COVERING INDEX ix_orders_tenant_"), plan
    assert "verdicts" not in plan, plan
    with engine.connect() as connection:
        joined = dict(
            connection.exec_driver_sql(
                "SELECT coalesce(v.status, 'none'), count(*) FROM orders o"
                " LEFT JOIN verdicts v ON v.order_pk = o.id WHERE o.tenant = 'shop-a'"
                " GROUP BY 1"
            ).all()
        )
    assert before == joined  # what the join with verdicts says, without it
    assert before["none"] == len(pks) - len(half)
    recompute_verdicts(engine, order_ids=pks, as_of=now, policy=POLICIES["default"], now=now)
    after = order_pages.verdict_counts(engine, tenant="shop-a", where=OrderFilter())
    assert "none" not in after
    assert sum(after.values()) == len(pks)
    for status, count in after.items():
        shown, _ = order_page(
            engine, tenant="shop-a", where=OrderFilter(verdict=status), limit=len(pks)
        )
        assert len(shown) == count
        assert {line.verdict for line in shown} == {status}


# -- pulls and bundles -------------------------------------------------------------------------


async def test_pull_then_bundle_from_the_console_end_to_end(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao", "yunexpress"], per_scenario=1)
    async with console(engine, tmp_path) as app, browser(app) as http:
        csrf = await sign_in(http, key)
        await import_file(http, csrf, orders.read_bytes())
        pull_page = await http.get("/pull")
        assert 'data-testid="sandbox-mode"' in pull_page.text
        started = await http.post("/pull", data={"csrf": csrf, "window_days": "365"})
        location = started.headers["location"]
        page = await http.get(location)
        assert 'hx-trigger="every 1s"' in page.text or 'data-status="succeeded"' in page.text
        report = await finished(http, location)
        assert 'data-status="succeeded"' in report
        assert "hx-trigger" not in report  # polling stops once the pull ended
        assert re.search(r'data-carrier="cainiao"', report)
        assert "Verdicts:" in text_of(report)

        failing = await http.get("/orders", params={"verdict": "fail"})
        ids = re.findall(r'data-order-id="([^"]+)"', failing.text)
        assert ids
        assert all(
            'data-verdict="fail"' in row
            for row in re.findall(r'<tr data-testid="order-row"[^>]*>', failing.text)
        )
        evidence = await http.get("/order", params={"id": ids[0]})
        assert evidence.status_code == 200
        for part in ("milestones", "legs", "timeline", "exchanges", "todo", "finding"):
            assert f'data-testid="{part}"' in evidence.text, part
        image = await http.get("/order/image.png", params={"id": ids[0]})
        assert image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")
        sha = re.findall(r"/raw/([0-9a-f]{64})", evidence.text)[0]
        raw = await http.get(f"/raw/{sha}/download")
        import hashlib

        assert hashlib.sha256(raw.content).hexdigest() == sha == raw.headers["x-content-sha256"]

        form = await http.get("/bundle")
        assert 'data-testid="headline"' in form.text
        bad = await http.post("/bundle", data={"csrf": csrf, "reference_id": ""})
        assert bad.status_code == 422
        assert 'data-testid="bundle-problems"' in bad.text
        built = await http.post(
            "/bundle",
            data={
                "csrf": csrf,
                "reference_id": "EVR-2026-001",
                "seller": "Shop A Trading Co., Ltd.",
                "window_days": "365",
                "verdicts": "pass",
                "exclude": ids[0],
            },
        )
        assert built.status_code == 303
        done = await finished(http, built.headers["location"])
        assert 'data-ok="true"' in done
        listed = await http.get("/bundle")
        assert f'href="{built.headers["location"]}"' in listed.text  # found again later
        archive = await http.get(built.headers["location"] + "/download")
        assert archive.headers["content-type"] == "application/zip"
        assert hashlib.sha256(archive.content).hexdigest() == archive.headers["x-content-sha256"]


async def test_a_job_page_of_a_queued_job_polls_and_the_quota_is_explained(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path, run_jobs=False)
    async with running(app), browser(app) as http:
        csrf = await sign_in(http, key)
        queued = create_job(engine, tenant="shop-a", kind="pull", params={"window_days": 90})
        page = await http.get(f"/pull/{queued.id}")
        assert 'hx-get="/pull/' in page.text
        assert 'data-status="queued"' in page.text
        for _ in range(25):
            create_job(engine, tenant="shop-a", kind="bundle", params={"reference_id": "R"})
        refused = await http.post("/pull", data={"csrf": csrf})
        assert refused.status_code == 429
        assert "wait for one to finish" in refused.text


# -- the store on both databases ----------------------------------------------------------------


def test_sessions_links_and_order_pages_on_both_databases(db_url: str, make_engine: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from tracking.api.orders_import import import_orders
    from tracking.store.console_sessions import end_session, get_session, redeem_link

    engine: sa.Engine = make_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diff if "console_" in repr(d)] == []  # migration 0009 == the models

    session_id = create_session(engine, tenant="shop-a", key_id="key_1")
    found = get_session(engine, session_id)
    assert found is not None
    assert (found.tenant, found.key_id) == ("shop-a", "key_1")
    assert get_session(engine, session_id, now=found.expires_at) is None  # expired
    end_session(engine, session_id)
    assert get_session(engine, session_id) is None
    token = create_link(engine, tenant="shop-b")
    assert redeem_link(engine, token) == "shop-b"
    assert redeem_link(engine, token) is None

    start = datetime(2026, 9, 1, tzinfo=UTC)
    rows = [
        [f"P-{i:02}", (start + timedelta(hours=i // 2)).isoformat(), "Cainiao", f"LP{i:014}", "RU"]
        for i in range(30)  # pairs of orders share an order date: the key needs the id too
    ]
    data = _orders_csv(rows, ["order_id", "order_date", "carrier", "tracking_number", "country"])
    for tenant in ("shop-a", "shop-b"):
        import_orders(engine, tenant=tenant, data=data, source="t.csv", carriers=all_carriers())
    seen: list[str] = []
    after = None
    while True:
        lines, after = order_page(
            engine, tenant="shop-a", where=OrderFilter(), after=after, limit=7
        )
        seen += [line.order_id for line in lines]
        if after is None:
            break
    assert sorted(seen) == sorted(r[0] for r in rows)
    assert len(seen) == len(set(seen)) == 30
    searched, _ = order_page(engine, tenant="shop-a", where=OrderFilter(search="P-1"))
    assert sorted(line.order_id for line in searched) == [f"P-{i}" for i in range(10, 20)]


async def test_a_pull_says_in_plain_words_when_a_carrier_cannot_be_reached(
    engine: sa.Engine, tmp_path: Path
) -> None:
    from tests.test_api import settings
    from tests.test_pull import AS_OF
    from tracking.api import ApiOptions, create_app
    from tracking.sandbox.server import SandboxOptions, SandboxServer

    carriers = all_carriers()
    blocked = SandboxServer(
        carriers, SandboxOptions(now=AS_OF, enforce_limits=False, blocked=frozenset({"cainiao"}))
    )
    app = create_app(
        settings(),
        engine=engine,
        network=blocked.network(),
        options=ApiOptions(
            data_dir=tmp_path / "data",
            job_poll_seconds=0.05,
            deliver_webhooks=False,
            fetcher_options={
                "rate_overrides": dict.fromkeys(carriers, 500.0),
                "max_attempts": 1,
            },
        ),
    )
    key = create_key(engine, "shop-a")
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao"], per_scenario=1)
    async with running(app), browser(app) as http:
        csrf = await sign_in(http, key)
        await import_file(http, csrf, orders.read_bytes())
        started = await http.post("/pull", data={"csrf": csrf, "window_days": "365"})
        report = await finished(http, started.headers["location"])
        explained = re.search(r'data-testid="pull-explanations">(.*?)</ul>', report, re.S)
        assert explained is not None, text_of(report)
        assert "Cainiao (AliExpress) could not be reached" in text_of(explained.group(1))


def test_the_console_command_says_in_one_line_when_its_port_is_taken(tmp_path: Path) -> None:
    import socket

    from typer.testing import CliRunner

    from tracking.cli.app import app as cli

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli,
            ["--db", f"sqlite:///{tmp_path / 'c.db'}", "console", "--port", str(port)],
        )
    finally:
        taken.close()
    assert result.exit_code == 1
    assert result.output.strip().startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in result.output


def test_migration_0010_copies_each_verdict_onto_its_order(db_url: str) -> None:
    """A store judged before `orders.verdict_status` / `finding_codes`: the migration copies
    each verdict's status and finding codes onto its order, and the counts and the finding
    filter read them (an order never judged stays `none`)."""
    from alembic import command
    from alembic.config import Config

    from tracking.store.migrate import migrate
    from tracking.store.order_pages import verdict_counts

    engine = sa.create_engine(db_url)
    config = Config()
    config.set_main_option(
        "script_location", str(Path(__file__).resolve().parent.parent / "tracking/store/migrations")
    )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
        for pk in (1, 2, 3):
            connection.execute(
                sa.text(
                    "INSERT INTO orders (id, tenant, order_id, marketplace, order_date,"
                    " tracking_number, carrier, carrier_declared, carrier_source,"
                    " destination_country, destination_postal_code, destination_city, currency,"
                    " source, parcel_group, created_at, updated_at) VALUES (:pk, 'shop-a', :o, '',"
                    " '2026-11-01 00:00:00', :n, 'cainiao', '', 'declared', 'RU', '', '', '', '',"
                    " '', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
                ),
                {"pk": pk, "o": f"O-{pk}", "n": f"LP{pk}"},
            )
        findings = '[{"code":"milestone.missing"},{"code":"carrier.mismatch"}]'
        for pk, status, found in ((1, "fail", findings), (2, "pass", "[]")):
            connection.execute(
                sa.text(
                    "INSERT INTO verdicts (order_pk, status, policy, milestones, findings,"
                    " digest, computed_at) VALUES (:pk, :s, 'default', '{}', :f, 'd',"
                    " '2026-11-02 00:00:00')"
                ),
                {"pk": pk, "s": status, "f": found},
            )
        if engine.dialect.name == "postgresql":  # rows inserted with explicit ids
            connection.execute(sa.text("SELECT setval('orders_id_seq', 100)"))
    migrate(engine)
    with engine.connect() as connection:
        copied = connection.execute(
            sa.text("SELECT id, verdict_status, finding_codes FROM orders ORDER BY id")
        ).all()
    assert [tuple(r) for r in copied] == [
        (1, "fail", "|carrier.mismatch|milestone.missing|"),
        (2, "pass", ""),
        (3, None, None),
    ]
    everything = verdict_counts(engine, tenant="shop-a", where=OrderFilter())
    assert everything == {"fail": 1, "pass": 1, "none": 1}
    missing = verdict_counts(
        engine, tenant="shop-a", where=OrderFilter(finding="milestone.missing")
    )
    assert missing == {"fail": 1}
    engine.dispose()

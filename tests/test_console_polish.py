"""The console as a Chinese-speaking seller sees it: the preview's facts and every rejected
row's reason in Chinese (no command-line words), and where a new store lands on signing in."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.test_console import _orders_csv, browser, console, import_file, sign_in, upload
from tracking.api import create_key
from tracking.console.i18n import CATALOGUE, Translator
from tracking.ingest.model import REJECT_KINDS

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def engine(sqlite_url: str, make_engine: Any) -> sa.Engine:
    made: sa.Engine = make_engine(sqlite_url)
    return made


def test_every_kind_of_rejected_row_is_explained_in_both_languages() -> None:
    for kind in (*REJECT_KINDS, "other"):
        en, zh = CATALOGUE[f"reject.{kind}"]
        assert en.strip(), kind
        assert CJK.search(zh), kind


def _cells(page: str, testid: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", " ", cell))
        for cell in re.findall(rf'<td data-testid="{testid}"[^>]*>(.*?)</td>', page, re.S)
    ]


async def test_a_chinese_preview_says_everything_in_chinese_with_the_readers_words_beside(
    engine: sa.Engine, tmp_path: Path
) -> None:
    header = ["订单号", "运单号", "物流", "下单时间", "国家", "币种"]
    rows = [
        ["A-1", "LP00123456789012", "Cainiao", "2026-10-01 10:00", "RU", "USD"],
        ["A-2", "LP00123456789013", "Cainiao", "2026-10-02 11:00", "Narnia", "USD"],
        ["A-3", "LP00123456789014", "Cainiao", "yesterday-ish", "RU", "USD"],
        ["A-4", "LP00123456789015", "Cainiao", "2026-10-03 12:00", "RU", "dollars"],
        ["", "LP00123456789016", "Cainiao", "2026-10-03 12:00", "RU", "USD"],
    ]
    zh = Translator("zh")
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        http.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
        csrf = await sign_in(http, key)
        location = await upload(http, csrf, "店铺订单.csv", _orders_csv(rows, header))
        page = (await http.get(location)).text

        read_as = re.search(r'data-testid="read-as">(.*?)</dd>', page, re.S)
        zone = re.search(r'data-testid="read-timezone">(.*?)</dd>', page, re.S)
        assert read_as is not None
        assert zone is not None
        assert read_as.group(1) == zh("preview.read_as_row", row=1)
        assert html.unescape(zone.group(1)) == zh("preview.tz_default")
        assert "header row" not in page
        assert "--timezone" not in page
        assert "--map" not in page

        carriers = re.findall(
            r'data-testid="preview-row">(?:<td[^>]*>.*?</td>){4}<td>([^<]*)</td>', page
        )
        assert carriers == ["cainiao"]  # the 物流 column is the carrier (its code)

        kinds = re.findall(r'data-testid="reject-reason" data-kind="(\w+)"', page)
        assert kinds == [
            "country_unknown",
            "order_date_invalid",
            "currency_unknown",
            "order_id_empty",
        ]
        for kind, cell in zip(kinds, _cells(page, "reject-reason"), strict=True):
            assert zh(f"reject.{kind}") in cell
            assert zh("preview.reason_detail") in cell  # and the reader's own English words
        assert "Narnia" in _cells(page, "reject-reason")[0]

        http.headers["Accept-Language"] = "en"
        await http.get("/language/en")
        english = (await http.get(location)).text
        assert "header row 1" in english
        reasons = _cells(english, "reject-reason")
        assert "is not a country we know" in reasons[0]
        assert not any(CJK.search(reason.replace("俄罗斯", "")) for reason in reasons)


async def test_a_chinese_mapping_step_lists_the_columns_not_the_cli_advice(
    engine: sa.Engine, tmp_path: Path
) -> None:
    header = ["编号", "运单号", "时间", "国家"]
    rows = [["A-1", "LP00123456789012", "2026-10-01 10:00", "RU"]]
    key = create_key(engine, "shop-a")
    async with console(engine, tmp_path) as app, browser(app) as http:
        http.headers["Accept-Language"] = "zh-CN"
        csrf = await sign_in(http, key)
        location = await upload(http, csrf, "orders.csv", _orders_csv(rows, header))
        page = (await http.get(location)).text
        assert 'id="map-order_id"' in page
        assert "--map" not in page
        assert Translator("zh")("preview.headers_found") in page


async def _sign_in_plainly(http: httpx.AsyncClient, key: str) -> str:
    """Sign in from the sign-in page itself (no page to go back to); where it lands."""
    start = await http.get("/")
    assert start.headers["location"] == "/sign-in"
    form = await http.get("/sign-in")
    pre = re.search(r'name="pre" value="([^"]+)"', form.text)
    assert pre is not None
    done = await http.post("/sign-in", data={"pre": pre.group(1), "api_key": key, "next": ""})
    assert done.status_code == 303
    landing: str = done.headers["location"]
    return landing


async def test_a_new_store_lands_on_the_upload_page_and_a_store_with_orders_on_its_orders(
    engine: sa.Engine, tmp_path: Path
) -> None:
    new, stocked = create_key(engine, "shop-new"), create_key(engine, "shop-b")
    async with console(engine, tmp_path) as app:
        async with browser(app) as http:
            assert await _sign_in_plainly(http, new) == "/upload"
            assert (await http.get("/")).headers["location"] == "/upload"
        async with browser(app) as http:
            csrf = await sign_in(http, stocked)
            data = _orders_csv(
                [["A-1", "LP00123456789012", "2026-10-01 10:00", "RU"]],
                ["order_id", "tracking_number", "order_date", "destination_country"],
            )
            await import_file(http, csrf, data)
        async with browser(app) as http:
            assert await _sign_in_plainly(http, stocked) == "/orders"
            assert (await http.get("/")).headers["location"] == "/orders"
        async with browser(app) as http:  # sent to sign in from a page: back to that page
            sent = await http.get("/settings")
            assert sent.headers["location"] == "/sign-in?next=%2Fsettings"
            form = await http.get(sent.headers["location"])
            pre = re.search(r'name="pre" value="([^"]+)"', form.text)
            assert pre is not None
            assert 'name="next" value="/settings"' in form.text
            done = await http.post(
                "/sign-in", data={"pre": pre.group(1), "api_key": new, "next": "/settings"}
            )
            assert done.headers["location"] == "/settings"

"""The seller's whole path in a real Chromium, in Chinese: sign in, upload an Excel export whose
destination column no profile knows, map it, pull from the sandbox, filter the failing orders,
open one, build a bundle, download it and see it verified.

Every step saves a named screenshot in build/screenshots/<test>/ (look at them).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import Workbook
from playwright.sync_api import Locator, Page, expect

from carriers.registry import all_carriers
from tests.browser.conftest import WAIT_MS, Console, Shots
from tracking.api.orders_import import import_orders
from tracking.evidence import verify_bundle
from tracking.sandbox.world import SCENARIOS, World, number_for

pytestmark = pytest.mark.slow

CHINA = timezone(timedelta(hours=8))
CJK = re.compile(r"[\u4e00-\u9fff]")
UNKNOWN_HEADER = "Ship-to Area"
"""The destination column under a header no export profile and no alias knows."""
SELLER = "深圳市XX科技有限公司"
WRAPPED_CELLS = """() => Array.from(document.querySelectorAll(
    '#orders-table tbody td:not(.findings)')).filter(td => {
        // the tops of every piece of text in the cell: two lines are a line height apart
        const tops = [];
        const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
        for (let node = walk.nextNode(); node; node = walk.nextNode()) {
            const range = document.createRange();
            range.selectNodeContents(node);
            for (const rect of range.getClientRects()) tops.push(rect.top);
        }
        return tops.length > 0 && Math.max(...tops) - Math.min(...tops) > 8;
    }).map(td => td.textContent)"""
"""The orders table's cells (but the findings) whose text takes more than one line."""
CARRIERS = ("cainiao", "yunexpress")


def expected_verdict(world: World, now: datetime, carrier: str, number: str) -> str:
    """What a careful reviewer concludes from the world's own story (tests/test_pull.py's rule)."""
    shipment = world.shipment(carrier, number)
    age = now - world.order_date(number)
    if shipment is None:
        return "pending" if age < timedelta(days=7) else "fail"
    stages = {event.stage.value for event in shipment.events}
    if stages & {"returning", "returned", "exception"}:
        return "fail"
    if {"departed_origin", "arrived_destination", "delivered"} <= stages:
        return "pass"
    return "pending" if age < timedelta(days=60) else "fail"


def seller_workbook(now: datetime) -> tuple[bytes, dict[str, str], dict[str, str]]:
    """An .xlsx export (date cells in China time, one sheet) of two sandbox orders of every
    scenario for each of `CARRIERS`; (its bytes, expected verdict and tracking number by
    order id)."""
    world = World(now=now)
    registry = all_carriers()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "订单"
    sheet.append(["Order No", "Order Time", "Logistics", "Tracking No", UNKNOWN_HEADER])
    expected: dict[str, str] = {}
    numbers: dict[str, str] = {}
    for code in CARRIERS:
        make = registry[code].make_number
        assert make is not None
        for scenario in SCENARIOS:
            for index in range(2):
                number = number_for(make, scenario, index)
                order_id = f"{code[:2].upper()}-{scenario}-{index}"
                placed = world.order_date(number).astimezone(CHINA).replace(tzinfo=None)
                sheet.append(
                    [order_id, placed, registry[code].name, number, world.destination(number)]
                )
                expected[order_id] = expected_verdict(world, now, code, number)
                numbers[order_id] = number
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), expected, numbers


def sandbox_rows(now: datetime) -> list[tuple[str, str, str, str, str]]:
    """One Cainiao order of every scenario: (order id, China-time date, carrier, number,
    country)."""
    world = World(now=now)
    info = all_carriers()["cainiao"]
    assert info.make_number is not None
    rows = []
    for scenario in SCENARIOS:
        number = number_for(info.make_number, scenario, 0)
        placed = world.order_date(number).astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        rows.append((f"PG-{scenario}", placed, info.name, number, world.destination(number)))
    return rows


def chinese(locator: Locator) -> None:
    """The element shows Chinese text (a missing translation would fall back to English)."""
    expect(locator).to_have_text(CJK)


def sign_in(page: Page, console: Console, tenant: str = "shop-a") -> None:
    page.goto(console.at("/"))
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.get_by_test_id("api-key").fill(console.keys[tenant])
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("tenant")).to_contain_text(tenant)


def wait_finished(page: Page) -> None:
    """Wait (on the page, not a timer) for the htmx-polled job to end, and say how it ended."""
    progress = page.get_by_test_id("job-progress")
    expect(progress).to_have_attribute(
        "data-status", re.compile("succeeded|failed"), timeout=3 * WAIT_MS
    )
    if progress.get_attribute("data-status") == "failed":
        raise AssertionError(f"the job failed: {page.get_by_test_id('job-error').inner_text()}")


def test_export_to_verified_bundle_in_chinese(
    console: Console, page: Page, shots: Shots, tmp_path: Path
) -> None:
    workbook, expected, numbers = seller_workbook(console.now)
    export = tmp_path / "店铺订单导出.xlsx"
    export.write_bytes(workbook)

    # 1. sign in (the browser asks for English), then switch to Chinese
    page.goto(console.at("/"))
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shots(page, "sign-in")
    page.get_by_test_id("api-key").fill(console.keys["shop-a"])
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("tenant")).to_contain_text("shop-a")
    shots(page, "signed-in")
    page.get_by_test_id("lang-zh").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    for nav in ("nav-upload", "nav-pull", "nav-orders", "nav-bundle", "nav-settings"):
        chinese(page.get_by_test_id(nav))
    chinese(page.locator("h1"))
    shots(page, "chinese")

    # 2. upload the .xlsx: no profile knows "Ship-to Area", so the mapping step appears
    page.get_by_test_id("nav-upload").click()
    chinese(page.locator("h1"))
    page.get_by_test_id("orders-file").set_input_files(str(export))
    shots(page, "upload-chosen")
    page.get_by_test_id("upload-submit").click()
    mapping = page.get_by_test_id("mapping")
    expect(mapping).to_be_visible()
    chinese(mapping.locator("h2"))
    shots(page, "mapping-asked")
    page.get_by_test_id("map-destination_country").select_option(UNKNOWN_HEADER)
    page.get_by_test_id("mapping-submit").click()

    # 3. the preview: every row read, none rejected, then import
    expect(page.get_by_test_id("preview")).to_be_visible()
    expect(page.get_by_test_id("mapping")).to_have_count(0)
    expect(page.get_by_test_id("rejected-count")).to_have_text("0")
    expect(page.get_by_test_id("preview-row").first).to_contain_text("CA-delivered-0")
    expect(page.get_by_test_id("columns")).to_contain_text(UNKNOWN_HEADER)
    shots(page, "preview")
    page.get_by_test_id("import-submit").click()
    result = page.get_by_test_id("import-result")
    expect(result).to_be_visible()
    expect(result).to_contain_text(str(len(expected)))
    chinese(result.locator("h2"))
    shots(page, "imported")

    # 4. pull from the sandbox: progress per carrier until done
    page.get_by_test_id("pull-now").click()
    expect(page.get_by_test_id("job-progress")).to_be_visible()
    shots(page, "pull-started")
    wait_finished(page)
    rows = page.get_by_test_id("pull-carrier")
    expect(rows.first).to_be_visible()
    shown = {row.get_attribute("data-carrier") for row in rows.all()}
    # the declared carriers, and 17TRACK for the multi-leg orders' last-mile legs
    assert shown == {*CARRIERS, "17track"}, shown
    for row in rows.all():
        done = re.search(r"(\d+)\s*/\s*(\d+)", row.inner_text())
        assert done is not None, row.inner_text()
        assert done.group(1) == done.group(2), row.inner_text()
    chinese(page.get_by_test_id("job-status"))
    chinese(page.get_by_test_id("pull-summary"))
    shots(page, "pull-done")

    # 5. the orders, then only the failing ones (the filter form)
    page.get_by_test_id("nav-orders").click()
    for verdict in ("pass", "fail", "pending"):
        want = sum(1 for v in expected.values() if v == verdict)
        expect(page.get_by_test_id(f"count-{verdict}")).to_have_text(re.compile(rf"^\s*{want}\D"))
    shots(page, "orders")
    # judged orders with their findings, at a laptop's width: ids, dates and marks on one line
    assert page.evaluate(WRAPPED_CELLS) == []
    page.get_by_test_id("filter-verdict").select_option("fail")
    page.get_by_test_id("filter-apply").click()
    expect(page).to_have_url(re.compile(r"verdict=fail"))
    failing = sorted(o for o, v in expected.items() if v == "fail")
    assert failing, "the world has no failing order to filter"
    expect(page.get_by_test_id("order-row")).to_have_count(len(failing))
    shown = sorted(link.inner_text().strip() for link in page.get_by_test_id("order-link").all())
    assert shown == failing
    shots(page, "orders-failing")

    # 6. one failing order's evidence: verdict, milestones, findings with what to do, raw bodies
    returned = next(o for o in failing if "returned" in o)
    page.get_by_test_id("order-link").filter(has_text=returned).click()
    expect(page.get_by_test_id("order-id")).to_have_text(returned)
    chinese(page.get_by_test_id("order-verdict"))
    expect(page.get_by_test_id("milestone")).to_have_count(3)
    expect(page.get_by_test_id("finding").first).to_be_visible()
    chinese(page.get_by_test_id("todo"))
    expect(page.get_by_test_id("event-row").first).to_be_visible()
    image = page.get_by_test_id("delivered-image")
    image.scroll_into_view_if_needed()  # loading="lazy": it loads once in view
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    shots(page, "order")
    page.get_by_test_id("raw-view").first.click()
    digest = page.get_by_test_id("raw-sha256")
    expect(digest).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.get_by_test_id("raw-body")).to_contain_text(numbers[returned])
    shots(page, "raw-response")
    with page.expect_download() as raw_info:
        page.get_by_test_id("raw-download").click()
    raw = tmp_path / "raw-body"
    raw_info.value.save_as(raw)
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == digest.inner_text().strip()

    # 7. precheck and bundle: build it, wait, see it verified, download it
    page.get_by_test_id("nav-bundle").click()
    expect(page.get_by_test_id("portfolio")).to_be_visible()
    chinese(page.locator("h1"))
    page.get_by_test_id("reference-id").fill("EVR-2026-0042")
    page.get_by_test_id("seller").fill(SELLER)
    shots(page, "bundle-form")
    page.get_by_test_id("bundle-build").click()
    wait_finished(page)
    verified = page.get_by_test_id("bundle-verified")
    expect(verified).to_have_attribute("data-ok", "true")
    chinese(verified)
    shots(page, "bundle-verified")
    with page.expect_download() as download_info:
        page.get_by_test_id("bundle-download").click()
    download = download_info.value
    assert re.fullmatch(r"evidence-[\w-]+\.zip", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    check = verify_bundle(saved)
    assert check.ok, check.problem
    with zipfile.ZipFile(saved) as bundle:
        names = bundle.namelist()
    passing = [o for o, v in expected.items() if v == "pass"]
    assert any(passing[0] in name for name in names), names[:20]
    assert not any(returned in name and "upload/" in name for name in names)


def test_sign_out_ends_the_session(console: Console, page: Page, shots: Shots) -> None:
    sign_in(page, console)
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.goto(console.at("/orders"))
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.get_by_test_id("tenant")).to_have_count(0)
    shots(page, "signed-out")


def test_a_wrong_key_is_refused_in_the_browser(console: Console, page: Page, shots: Shots) -> None:
    page.goto(console.at("/sign-in"))
    page.get_by_test_id("api-key").fill(console.keys["shop-a"][:-2] + "xx")
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("sign-in-error")).to_be_visible()
    expect(page.get_by_test_id("tenant")).to_have_count(0)
    shots(page, "wrong-key")


def test_orders_fit_a_phone_and_work_with_the_keyboard(
    console: Console, page: Page, shots: Shots
) -> None:
    workbook, expected, _ = seller_workbook(console.now)
    import_orders(
        console.engine,
        tenant="shop-a",
        data=workbook,
        source="orders.xlsx",
        carriers=all_carriers(),
        columns={"destination_country": UNKNOWN_HEADER},
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(console.at("/sign-in"))
    # the key field has the focus; Enter submits the form
    page.keyboard.type(console.keys["shop-a"])
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("tenant")).to_contain_text("shop-a")
    page.goto(console.at("/orders"))
    expect(page.get_by_test_id("order-row")).to_have_count(len(expected))
    for path in ("/orders", f"/order?id={next(iter(expected))}", "/upload", "/bundle", "/settings"):
        page.goto(console.at(path))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
        shots(page, "phone" + path.split("?")[0].replace("/", "-"))
    # from the top of a page, Tab reaches the skip link first, and it leads to the content
    page.goto(console.at("/orders"))
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


@pytest.mark.postgres
def test_upload_and_pull_on_postgres(console_postgres: Console, page: Page, shots: Shots) -> None:
    """On PostgreSQL the pull runs as a Procrastinate job; the page follows it the same way."""
    console = console_postgres
    csv = "order_id,order_date,carrier,tracking_number,country\n" + "".join(
        f"{o},{d},{c},{n},{k}\n" for o, d, c, n, k in sandbox_rows(console.now)
    )
    sign_in(page, console)
    page.get_by_test_id("nav-upload").click()
    page.get_by_test_id("orders-file").set_input_files(
        files=[{"name": "orders.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_test_id("upload-submit").click()
    expect(page.get_by_test_id("mapping")).to_have_count(0)
    page.get_by_test_id("import-submit").click()
    page.get_by_test_id("pull-now").click()
    wait_finished(page)
    shots(page, "pull-done-postgres")
    page.get_by_test_id("see-failing").click()
    expect(page.get_by_test_id("order-row").first).to_be_visible()
    for row in page.get_by_test_id("order-row").all():
        assert row.get_attribute("data-verdict") == "fail"


@pytest.mark.parametrize("locale", ["zh-CN"])
def test_a_chinese_browser_drops_a_csv_and_sees_its_rejected_rows(
    console: Console, page: Page, shots: Shots
) -> None:
    """Chinese from the browser's own language, no switch; a file dropped on the zone."""
    rows = sandbox_rows(console.now)
    csv = "订单号,下单时间,物流,运单号,目的国\n" + "".join(
        f"{o},{d},{c},{n},{k}\n" for o, d, c, n, k in rows
    )
    csv += "BAD-DATE,not a date,Cainiao,LP00123456789014,RU\n"
    page.goto(console.at("/sign-in"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    chinese(page.get_by_test_id("sign-in"))
    sign_in(page, console)
    chinese(page.get_by_test_id("nav-orders"))
    page.get_by_test_id("nav-upload").click()
    dropped = page.evaluate_handle(
        """text => {
            const data = new DataTransfer();
            data.items.add(new File([text], "订单.csv", {type: "text/csv"}));
            return data;
        }""",
        csv,
    )
    page.get_by_test_id("drop-zone").dispatch_event("drop", {"dataTransfer": dropped})
    expect(page.locator("#file-name")).to_have_text("订单.csv")
    shots(page, "dropped")
    page.get_by_test_id("upload-submit").click()
    expect(page.get_by_test_id("preview")).to_be_visible()
    expect(page.get_by_test_id("preview-row")).to_have_count(len(rows))
    rejected = page.get_by_test_id("rejected-row")
    expect(rejected).to_have_count(1)
    # row 1 is the header: the bad row is the file's last line, named with its column
    expect(rejected).to_contain_text(str(len(rows) + 2))
    expect(rejected).to_contain_text("not a date")
    expect(page.get_by_test_id("rejected-count")).to_have_text("1")
    shots(page, "rejected-rows")

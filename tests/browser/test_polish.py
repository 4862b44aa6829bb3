"""The console as a seller sees it at a laptop's and a phone's width, in English and Chinese:
the preview's carrier column from the header 物流 and its rejected rows' reasons, the orders
table's one-line cells, the settings' carrier badges inside a phone's width, and bold Chinese
headings. Screenshots in build/screenshots/<test>/ (look at them)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from carriers.registry import all_carriers
from tests.browser.conftest import Console, Shots
from tests.browser.test_walk import (
    CJK,
    UNKNOWN_HEADER,
    WRAPPED_CELLS,
    sandbox_rows,
    seller_workbook,
    sign_in,
)
from tracking.api.orders_import import import_orders

pytestmark = pytest.mark.slow

_OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_console_reads_well_at_both_widths_in_both_languages(
    console: Console, page: Page, shots: Shots, locale: str, width: int
) -> None:
    workbook, _, _ = seller_workbook(console.now)
    import_orders(
        console.engine,
        tenant="shop-a",
        data=workbook,
        source="orders.xlsx",
        carriers=all_carriers(),
        columns={"destination_country": UNKNOWN_HEADER},
    )
    page.set_viewport_size({"width": width, "height": 844})
    chinese = locale.startswith("zh")
    sign_in(page, console)

    # the preview: 物流 is the carrier column; a rejected row says why in the page's language
    rows = sandbox_rows(console.now)[:3]
    csv = "订单号,下单时间,物流,运单号,目的国\n" + "".join(
        f"{o},{d},{c},{n},{k}\n" for o, d, c, n, k in rows
    )
    csv += "BAD-DATE,not a date,Cainiao,LP00123456789014,RU\n"
    page.get_by_test_id("nav-upload").click()
    page.get_by_test_id("orders-file").set_input_files(
        files=[{"name": "订单.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_test_id("upload-submit").click()
    for row in page.get_by_test_id("preview-row").all():
        expect(row.locator("td").nth(4)).to_have_text("cainiao")
    reason = page.get_by_test_id("reject-reason")
    expect(reason).to_have_attribute("data-kind", "order_date_invalid")
    if chinese:
        expect(reason).to_contain_text("下单时间无法识别")
        expect(page.get_by_test_id("read-as")).to_have_text(CJK)
    else:
        expect(reason).to_contain_text("is not a date")
        expect(reason).not_to_contain_text("下单时间")
    assert page.evaluate(_OVERFLOW) <= 0
    shots(page, "preview")

    # the orders: ids, dates, numbers and marks on one line (a phone shows each order as a card)
    page.get_by_test_id("nav-orders").click()
    expect(page.get_by_test_id("order-row").first).to_be_visible()
    if width >= 1280:
        assert page.evaluate(WRAPPED_CELLS) == []
    assert page.evaluate(_OVERFLOW) <= 0
    shots(page, "orders")

    # the settings: every carrier's readiness badge inside the page's width
    page.get_by_test_id("nav-settings").click()
    badges = page.locator("[data-testid^='carrier-'] .badge")
    expect(badges.first).to_be_visible()
    for badge in badges.all():
        box = badge.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
    # the API keys: every value and the revoke button on screen, not in a sideways scroll
    cells = page.locator("[data-testid='key-row'] td")
    expect(cells.first).to_be_visible()
    for cell in cells.all():
        box = cell.bounding_box()
        if box is not None:  # an empty cell is hidden on a phone
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width, cell.inner_text()
    assert page.evaluate(_OVERFLOW) <= 0
    # the console's Chinese face is declared regular only, so a bold heading is drawn bold
    weights = page.evaluate(
        "Array.from(document.fonts).filter(f => f.family.includes('TE CJK')).map(f => f.weight)"
    )
    assert weights == ["400"]
    assert page.evaluate("getComputedStyle(document.body).fontSynthesisWeight") == "auto"
    shots(page, "settings")

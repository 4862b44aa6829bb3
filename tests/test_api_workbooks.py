"""POST /v1/orders takes workbooks, `map` and `timezone` by the command line's rules."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from tests.test_api import assert_problem, client, make_app, running
from tracking.api import create_key


@pytest.fixture
def engine(sqlite_url: str, make_engine: Any) -> sa.Engine:
    made: sa.Engine = make_engine(sqlite_url)
    return made


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Orders"
    sheet.append(["Order export"])
    sheet.append(["Order ID", "Tracking Number", "Placed On", "Country", "Item"])
    sheet.append(["A-1", "LP00123456789CN", "2026-07-01 12:00", "GB", "case"])
    sheet.append(["A-1", "LP00123456789CN", "2026-07-01 12:00", "GB", "cable"])
    sheet.append(["A-2", "LP00123456780CN", "2026-07-02 12:00", "GB", "strap"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_workbook_upload_with_map_and_timezone(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    data = _workbook()
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    async with running(app), client(app, key) as http:
        missing = await http.post("/v1/orders", files={"file": ("orders.xlsx", data, xlsx)})
        problem = assert_problem(missing, 422)
        assert 'Name each missing column with --map field="Header"' in problem["detail"]

        response = await http.post(
            "/v1/orders",
            files={"file": ("orders.xlsx", data, xlsx)},
            data={"map": 'order_date="Placed On"', "timezone": "Europe/London"},
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["rows_read"], result["orders_read"], result["item_rows"]) == (3, 2, 1)
        assert result["rows_rejected"] == 0

        raw = await http.post(
            "/v1/orders",
            content=data,
            headers={"content-type": xlsx},
            params={"map": 'order_date="Placed On"', "timezone": "+01:00"},
        )
        assert raw.status_code == 200, raw.text
    with engine.connect() as connection:
        dates = dict(connection.execute(sa.text("SELECT order_id, order_date FROM orders")).all())
    assert str(dates["A-1"]).startswith("2026-07-01 11:00")  # 12:00 in London is 11:00 UTC

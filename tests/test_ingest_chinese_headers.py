"""Chinese ERP carrier headers ("物流", "物流方式" ...) are read as the carrier column."""

from __future__ import annotations

import pytest

from tracking.ingest import OrderRow, read_orders_bytes


@pytest.mark.parametrize("header", ["物流", "物流方式", "物流商", "承运商", "快递公司", "物流公司"])
def test_a_chinese_carrier_header_is_the_carrier_column(header: str) -> None:
    data = (
        f"订单号,运单号,{header},下单时间,国家\nA-1,LP00123456789CN,Cainiao,2026-11-02 10:00,RU\n"
    ).encode()

    orders = read_orders_bytes(data, source="erp.csv", tenant="t1")
    rows = [row for row in orders if isinstance(row, OrderRow)]

    assert orders.columns["carrier"] == header
    assert [row.carrier_declared for row in rows] == ["Cainiao"]


def test_a_specific_carrier_header_wins_over_the_bare_logistics_one() -> None:
    data = (
        "订单号,运单号,物流,物流方式,下单时间,国家\n"
        "A-1,LP00123456789CN,速卖通,Cainiao,2026-11-02 10:00,RU\n"
    ).encode()

    orders = read_orders_bytes(data, source="erp.csv", tenant="t1")
    rows = [row for row in orders if isinstance(row, OrderRow)]

    assert orders.columns["carrier"] == "物流方式"
    assert [row.carrier_declared for row in rows] == ["Cainiao"]

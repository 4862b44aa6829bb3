"""Issue 15, finding 10 (ingest): damaged UTF-8 and header rows longer than 64 KiB.

Today a UTF-8 orders file with one bad byte is read as a legacy code page (cp1250, cp852...)
and every non-ASCII value is silently garbled; a header row longer than the 64 KiB sniffing
sample is cut, so columns past it are "missing". The fixes belong in the ingest package
(`tracking/ingest`, issue 12); these tests show them.
"""

from __future__ import annotations


def test_damaged_utf8_is_never_read_as_a_legacy_code_page() -> None:
    from tracking.ingest import OrderRow, RejectedRow, read_orders_bytes

    rows = b"".join(
        f"A{i},2026-11-01,YT24111111111111{i:02d},DE,Zürich 苏州\n".encode() for i in range(20)
    )
    data = b"order_id,order_date,tracking_number,destination_country,city\n" + rows
    damaged = data.replace("Zürich".encode(), b"Z\xfcrich", 1)
    read = list(read_orders_bytes(damaged, source="orders.csv"))
    assert isinstance(read[0], RejectedRow)
    assert read[0].column == "city"
    assert "save the file as CSV UTF-8" in read[0].reason
    kept = [r for r in read if isinstance(r, OrderRow)]
    assert len(kept) == 19
    assert {r.destination_city for r in kept} == {"Zürich 苏州"}


def test_a_header_row_past_64_kib_is_read_whole() -> None:
    from tracking.ingest import OrderRow, read_orders_bytes

    extra = [f"extra_{i}_{'x' * 40}" for i in range(1600)]
    header = ",".join([*extra, "order_id", "order_date", "tracking_number", "destination_country"])
    assert len(header) > 64 * 1024
    row = ",".join([""] * len(extra) + ["A1", "2026-11-01", "YT2411111111111111", "DE"])
    read = list(read_orders_bytes(f"{header}\n{row}\n".encode(), source="wide.csv"))
    assert [r.order_id for r in read if isinstance(r, OrderRow)] == ["A1"]

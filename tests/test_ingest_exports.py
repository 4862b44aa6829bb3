"""Every verified export, as downloaded (its real headers, invented values), pulls cleanly.

The fixtures (`tests/profile_fixtures.py`) carry each export's real header row; here each is
written as the workbook or CSV the seller downloads and read by `open_orders`: the profile is
recognized, every row with a tracking number becomes an order, item rows are grouped, and a
report without tracking stops with its message.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from tests.profile_fixtures import FIXTURES
from tracking.core.exceptions import InputError
from tracking.ingest import RejectedRow, open_orders
from tracking.ingest.profiles import all_profiles

PROFILES = {p.key: p for p in all_profiles()}


def _write(tmp_path: Path, key: str, as_csv: bool) -> Path:
    table = FIXTURES[key].table()
    if as_csv:
        path = tmp_path / f"{key}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(table)
        return path
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in table:
        sheet.append(row)
    path = tmp_path / f"{key}.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("as_csv", [False, True], ids=["xlsx", "csv"])
@pytest.mark.parametrize("key", sorted(FIXTURES))
def test_the_export_as_downloaded_gives_its_orders(tmp_path: Path, key: str, as_csv: bool) -> None:
    profile = PROFILES[key]
    path = _write(tmp_path, key, as_csv)
    if profile.no_tracking:
        with pytest.raises(InputError, match="has no tracking numbers"):
            open_orders(path, timezone="UTC")
        return
    orders = open_orders(path, timezone="UTC")
    assert orders.profile is not None
    assert orders.profile.key == key
    items = list(orders)
    order_header = profile.columns["order_id"][0]
    track_header = next(h for h in profile.columns["tracking_number"] if h in FIXTURES[key].headers)
    shipped = [row for row in FIXTURES[key].rows if row.get(track_header, "").strip()]
    unshipped = len(FIXTURES[key].rows) - len(shipped)
    # Every row that carries a tracking number is accepted; an unshipped order has none yet.
    rejected = [i for i in items if isinstance(i, RejectedRow)]
    assert [r.reason for r in rejected] == ["tracking_number is empty"] * unshipped, (
        f"{key}: {[(r.row_number, r.column, r.reason) for r in rejected]}"
    )
    ids = {row[order_header] for row in shipped}
    assert {o.order_id for o in items if not isinstance(o, RejectedRow)} == ids
    assert orders.orders_read == len(ids)

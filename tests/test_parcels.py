"""Split orders: every parcel of an order is stored, fetched and judged; all are needed."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from carriers.registry import all_carriers
from tracking.cli.app import app
from tracking.sandbox.world import World, number_for

AS_OF = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)
CHINA = timezone(timedelta(hours=8))
FAST = {"TRACK_EVIDENCE_CAINIAO__RATE_PER_SECOND": "100"}


def _pair(first_index: int, second: str) -> tuple[str, str, str, datetime]:
    """A delivered Cainiao number and a `second`-scenario one to the same country."""
    world = World(now=AS_OF)
    make = all_carriers()["cainiao"].make_number
    assert make is not None
    first = number_for(make, "delivered", first_index)
    country = world.destination(first)
    for index in range(first_index + 1, first_index + 400):
        other = number_for(make, second, index)
        if world.destination(other) == country and other != first:
            placed = min(world.order_date(first), world.order_date(other))
            return first, other, country, placed
    raise AssertionError("no second number to the same country")


def test_each_parcel_is_judged_and_the_order_needs_all(tmp_path: Path) -> None:
    a1, a2, a_country, a_date = _pair(0, "delivered")
    b1, b2, b_country, b_date = _pair(500, "returned")
    path = tmp_path / "orders.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "order_date", "carrier", "tracking_number", "country", "sku"])
        for order, number, country, placed, sku in (
            ("A", a1, a_country, a_date, "case"),
            ("A", a1, a_country, a_date, "cable"),  # an item row of the first parcel
            ("A", a2, a_country, a_date, "strap"),  # the second parcel
            ("B", b1, b_country, b_date, "case"),
            ("B", b2, b_country, b_date, "film"),
        ):
            stamp = placed.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow([order, stamp, "Cainiao", number, country, sku])
    db = tmp_path / "split.db"
    result = CliRunner().invoke(
        app,
        [
            "--db",
            f"sqlite:///{db}",
            "pull",
            str(path),
            "--sandbox",
            "--as-of",
            "2026-11-20",
            "--json",
        ],
        env=FAST,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert (report["rows_read"], report["orders_read"], report["item_rows"]) == (5, 2, 1)
    assert report["parcels_stored"] == 2
    assert report["rows_rejected"] == 0
    assert report["shipments_fetched"] >= 4  # both parcels of both orders
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT o.order_id, v.status, v.findings FROM orders o"
                " JOIN verdicts v ON v.order_pk = o.id ORDER BY o.order_id"
            )
        ).all()
    got = {order_id: (status, json.loads(findings)) for order_id, status, findings in rows}
    assert got["A"][0] == "pass"
    assert got["B"][0] == "fail"  # its second parcel came back to the sender
    split_a = [f for f in got["A"][1] if f["code"] == "order.split"]
    assert len(split_a) == 1
    assert f"{a1}: pass, {a2}: pass" in split_a[0]["message"]
    assert "every parcel's milestones" in split_a[0]["message"]
    returned = [f for f in got["B"][1] if f["code"] == "shipment.returned"]
    assert returned
    assert returned[0]["message"].startswith(f"Parcel {b2}: ")


def _findings(db: Path) -> dict[str, set[str]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT o.order_id, v.findings FROM orders o JOIN verdicts v ON v.order_pk = o.id"
            )
        ).all()
    return {order_id: {f["code"] for f in json.loads(text)} for order_id, text in rows}


def test_a_parcel_the_export_merged_is_a_warning_else_shared(tmp_path: Path) -> None:
    make = all_carriers()["cainiao"].make_number
    assert make is not None
    world = World(now=AS_OF)
    merged, shared = number_for(make, "delivered", 900), number_for(make, "delivered", 901)
    path = tmp_path / "tiktok.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        # TikTok Shop's order export (tracking/ingest/profiles/data/tiktok-shop-orders.toml)
        writer.writerow(
            [
                "Order ID",
                "Seller SKU",
                "Created Time",
                "Tracking ID",
                "Shipping Provider Name",
                "Country",
                "Package ID",
            ]
        )
        for order_id, number, package in (
            ("O1", merged, "PKG-1"),  # one package, two orders: merged by the export
            ("O2", merged, "PKG-1"),
            ("O3", shared, "PKG-3"),  # the same number on two packages: not explained
            ("O4", shared, "PKG-4"),
        ):
            placed = world.order_date(number).astimezone(CHINA)
            writer.writerow(
                [
                    order_id,
                    "SKU-1",
                    placed.strftime("%Y-%m-%d %H:%M:%S"),
                    number,
                    "Cainiao",
                    world.destination(number),
                    package,
                ]
            )
    db = tmp_path / "merged.db"
    result = CliRunner().invoke(
        app,
        [
            "--db",
            f"sqlite:///{db}",
            "pull",
            str(path),
            "--sandbox",
            "--as-of",
            "2026-11-20",
            "--timezone",
            "+08:00",
            "--json",
        ],
        env=FAST,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["source"]["profile"] == "tiktok-shop-orders"
    codes = _findings(db)
    for order_id in ("O1", "O2"):
        assert "number.merged" in codes[order_id]
        assert "number.shared" not in codes[order_id]
    for order_id in ("O3", "O4"):
        assert "number.shared" in codes[order_id]
        assert "number.merged" not in codes[order_id]


def test_a_further_parcel_cited_by_another_order_is_shared(tmp_path: Path) -> None:
    a1, a2, country, placed = _pair(1000, "delivered")
    path = tmp_path / "orders.csv"
    stamp = placed.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
    path.write_text(
        "order_id,order_date,carrier,tracking_number,country\n"
        f"A,{stamp},Cainiao,{a1},{country}\n"
        f"A,{stamp},Cainiao,{a2},{country}\n"  # A's second parcel...
        f"C,{stamp},Cainiao,{a2},{country}\n",  # ...is also order C's only parcel
        encoding="utf-8",
    )
    db = tmp_path / "shared.db"
    result = CliRunner().invoke(
        app,
        ["--db", f"sqlite:///{db}", "pull", str(path), "--sandbox", "--as-of", "2026-11-20"],
        env=FAST,
    )
    assert result.exit_code == 0, result.output
    codes = _findings(db)
    assert "number.shared" in codes["C"]
    assert {"number.shared", "order.split"} <= codes["A"]

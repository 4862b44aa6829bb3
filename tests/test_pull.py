"""End-to-end pulls against the sandbox: verdicts match the simulated world, re-runs add nothing."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from carriers.registry import all_carriers
from tracking.cli.app import app
from tracking.core.config import Settings
from tracking.fetch.pipeline import pull
from tracking.judge.validator import POLICIES
from tracking.sandbox.server import SandboxOptions, SandboxServer
from tracking.sandbox.world import SCENARIOS, World, number_for

AS_OF = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC)
CHINA = timezone(timedelta(hours=8))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
runner = CliRunner()
# The carriers' real limits would make a 320-order pull take 25 s; the sandbox enforces
# whatever rate the client is set to, so both sides use these.
FAST_RATES = {
    f"TRACK_EVIDENCE_{c.upper()}__RATE_PER_SECOND": "100"
    for c in ("cainiao", "yunexpress", "17track", "yanwen", "4px")
}


def expected_verdict(carrier: str, number: str, order_date: datetime) -> str:
    """What a careful reviewer concludes from the world's own story of `number`."""
    shipment = World(now=AS_OF).shipment(carrier, number)
    age = AS_OF - order_date
    if shipment is None:
        return "pending" if age < timedelta(days=7) else "fail"
    stages = {event.stage.value for event in shipment.events}
    if stages & {"returning", "returned", "exception"}:
        return "fail"
    if {"departed_origin", "arrived_destination", "delivered"} <= stages:
        return "pass"
    return "pending" if age < timedelta(days=60) else "fail"


def write_orders(
    path: Path, carriers: list[str], per_scenario: int = 2, *, undeclared: bool = False
) -> dict[str, str]:
    """An orders CSV with `per_scenario` numbers of every scenario for each carrier.

    With `undeclared`, every other row leaves the carrier column empty (detected instead).
    """
    world = World(now=AS_OF)
    registry = all_carriers()
    expected: dict[str, str] = {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "order_date", "carrier", "tracking_number", "country"])
        for code in carriers:
            make = registry[code].make_number
            assert make is not None
            for scenario in SCENARIOS:
                for index in range(per_scenario):
                    number = number_for(make, scenario, index)
                    placed = world.order_date(number)
                    order_id = f"{code}-{scenario}-{index}"
                    writer.writerow(
                        [
                            order_id,
                            placed.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                            "" if undeclared and index % 2 else registry[code].name,
                            number,
                            world.destination(number),
                        ]
                    )
                    expected[order_id] = expected_verdict(code, number, placed.replace(second=0))
    return expected


def sandbox_carriers() -> list[str]:
    return [code for code, info in all_carriers().items() if info.sandbox is not None]


def verdicts(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT o.order_id, v.status FROM orders o JOIN verdicts v ON v.order_pk = o.id"
            )
        )
        return dict(rows.all())


def table_counts(engine: sa.Engine) -> dict[str, int]:
    tables = ("orders", "shipments", "exchanges", "exchange_bodies", "events", "verdict_history")
    with engine.connect() as connection:
        return {
            t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables
        }


async def run_pull(engine: sa.Engine, orders: Path, **kwargs: Any) -> Any:
    carriers = all_carriers()
    server = SandboxServer(carriers, SandboxOptions(now=AS_OF, enforce_limits=False))
    return await pull(
        engine=engine,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        orders_path=orders,
        carriers=carriers,
        as_of=AS_OF,
        window_days=90,
        policy=POLICIES["default"],
        network=server.network(),
        fetcher_options={"rate_overrides": {c: 500.0 for c in carriers}},
        **kwargs,
    )


async def test_verdicts_match_the_simulated_world(
    db_url: str, make_engine: Any, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, sandbox_carriers())
    engine = make_engine(db_url)
    report = await run_pull(engine, orders)
    assert report.rows_read == len(expected)
    assert report.rows_rejected == 0
    got = verdicts(engine)
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    assert not wrong, f"(got, expected) per order: {wrong}"
    assert report.verdicts["pass"] == sum(v == "pass" for v in expected.values())


async def test_undeclared_carriers_are_detected_and_judged_alike(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, sandbox_carriers(), undeclared=True)
    engine = make_engine(sqlite_url)
    report = await run_pull(engine, orders)
    assert report.rows_rejected == 0
    got = verdicts(engine)
    assert {k: v for k, v in expected.items() if got.get(k) != v} == {}
    with engine.connect() as connection:
        sources = dict(
            connection.execute(
                sa.text("SELECT carrier_source, count(*) FROM orders GROUP BY carrier_source")
            ).all()
        )
    assert sources.get("detected", 0) == len(expected) // 2
    assert set(sources) <= {"declared", "detected"}


async def test_second_pull_adds_nothing(sqlite_url: str, make_engine: Any, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, sandbox_carriers(), per_scenario=1)
    engine = make_engine(sqlite_url)
    first = await run_pull(engine, orders)
    before = table_counts(engine)
    second = await run_pull(engine, orders)
    assert table_counts(engine) == before
    assert second.requests == 0
    assert second.verdicts == first.verdicts


async def test_multi_leg_shipment_keeps_its_last_mile_leg(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, sandbox_carriers(), per_scenario=1)
    engine = make_engine(sqlite_url)
    await run_pull(engine, orders)
    with engine.connect() as connection:
        legs = connection.execute(
            sa.text(
                "SELECT o.order_id, leg.tracking_number, leg.carrier_name FROM orders o "
                "JOIN shipments leg ON leg.parent_id = o.shipment_id WHERE leg.role = 'last_mile'"
            )
        ).all()
    owners = {row.order_id for row in legs}
    assert {f"{code}-multi_leg-0" for code in sandbox_carriers()} <= owners
    assert all(row.carrier_name for row in legs)


def test_pull_cli_json_on_the_demo_file(tmp_path: Path) -> None:
    errors = tmp_path / "errors.csv"
    result = runner.invoke(
        app,
        [
            "--db",
            f"sqlite:///{tmp_path / 'demo.db'}",
            "pull",
            str(EXAMPLES / "orders.csv"),
            "--sandbox",
            "--as-of",
            "2026-11-20",
            "--errors",
            str(errors),
            "--json",
        ],
        env=FAST_RATES,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows_read"] == 320
    assert report["rows_rejected"] == 3
    assert report["errors_file"] == str(errors)
    assert sum(report["verdicts"].values()) == report["orders_in_window"]
    assert report["verdicts"]["pass"] > report["orders_in_window"] // 2
    with errors.open(encoding="utf-8-sig", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert sorted(int(r["row"]) for r in rejected) == [54, 65, 76]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("orders-gb18030.csv", id="gb18030"),
        pytest.param("orders-excel.csv", id="excel"),
    ],
)
def test_pull_reads_chinese_and_excel_exports(tmp_path: Path, name: str) -> None:
    result = runner.invoke(
        app,
        [
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "pull",
            str(EXAMPLES / name),
            "--sandbox",
            "--as-of",
            "2026-11-20",
            "--json",
        ],
        env=FAST_RATES,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["rows_read"], report["rows_rejected"]) == (40, 0)
    assert report["shipments_fetched"] + report["shipments_not_found"] > 30


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(200), "not a CSV", id="png"),
        pytest.param(b"PK\x03\x04" + bytes(200), "zip", id="zip"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"name,city\nx,y\n", "order", id="no-needed-columns"),
    ],
)
def test_unusable_file_gets_one_clear_line_and_writes_nothing(
    tmp_path: Path, content: bytes, needle: str
) -> None:
    bad = tmp_path / "orders.csv"
    bad.write_bytes(content)
    db = tmp_path / "never.db"
    result = runner.invoke(app, ["--db", f"sqlite:///{db}", "pull", str(bad), "--sandbox"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert needle.lower() in result.output.lower()
    assert not db.exists()


def test_parse_cli_reads_a_raw_cainiao_response(tmp_path: Path) -> None:
    from tests.cassette import CASSETTES, load

    cassette = load(CASSETTES / "cainiao" / "delivered.yaml")
    body = cassette.interactions[0]["response"]["body"]
    raw = tmp_path / "raw.json"
    raw.write_text(body, encoding="utf-8")
    result = runner.invoke(app, ["parse", "--carrier", "cainiao", str(raw), "--json"])
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.stdout)
    assert set(parsed) >= {"carrier", "tracking_number", "events", "milestones", "final"}
    assert parsed["final"] is True
    assert all(
        parsed["milestones"][k] for k in ("departed_origin", "arrived_destination", "delivered")
    )
    assert {e["stage"] for e in parsed["events"]} >= {"departed_origin", "delivered"}
    assert set(parsed["events"][0]) == {
        "stage",
        "code",
        "description",
        "occurred_at",
        "local_offset",
        "time_source",
        "location",
        "country",
    }


def test_unknown_carrier_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["parse", "--carrier", "nope", str(tmp_path / "x.json")])
    assert result.exit_code == 1
    assert "unknown carrier" in result.output
    result = runner.invoke(app, ["pull", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_carriers_cli_lists_readiness() -> None:
    result = runner.invoke(app, ["carriers", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["code"]: r for r in json.loads(result.stdout)}
    assert rows["cainiao"]["credentials"] == "ready"
    assert rows["cainiao"]["sandbox"] is True
    if "yunexpress" in rows:
        assert rows["yunexpress"]["credentials"].startswith("missing")


async def test_tenant_pull_without_a_file_fetches_stored_orders(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    """The API imports orders first and pulls later: a pull with no file uses stored orders."""
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, ["cainiao"], per_scenario=1)
    engine = make_engine(sqlite_url)
    from tracking.fetch.orders import ingest_orders
    from tracking.fetch.report import PullReport as Report
    from tracking.ingest import open_orders

    ingest_orders(
        engine,
        path=orders,
        tenant="default",
        run_id="import",
        carriers=all_carriers(),
        rejected=[],
        report=Report(run_id="import"),
    )
    assert open_orders(orders).tenant == "default"
    report = await run_pull(engine, None)
    assert report.orders_in_window == len(expected)
    assert verdicts(engine) == expected


async def test_a_number_the_declared_carrier_does_not_know_is_probed_elsewhere(
    db_url: str, make_engine: Any, tmp_path: Path
) -> None:
    """Declared YunExpress, but the number is a Cainiao one Cainiao has delivered.

    On both databases: `declared_mismatch` once did not fit PostgreSQL's column (0008)."""
    make = all_carriers()["cainiao"].make_number
    assert make is not None
    number = number_for(make, "delivered", 0)
    world = World(now=AS_OF)
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,order_date,carrier,tracking_number,country\n"
        f"W-1,{world.order_date(number).astimezone(CHINA):%Y-%m-%d %H:%M:%S},YunExpress,"
        f"{number},{world.destination(number)}\n",
        encoding="utf-8",
    )
    engine = make_engine(db_url)
    await run_pull(engine, orders)
    with engine.connect() as connection:
        legs = connection.execute(
            sa.text("SELECT carrier, role, state FROM shipments ORDER BY id")
        ).all()
        findings = json.loads(
            connection.execute(sa.text("SELECT findings FROM verdicts")).scalar_one()
        )
        status = connection.execute(sa.text("SELECT status FROM verdicts")).scalar_one()
    assert [tuple(leg) for leg in legs] == [
        ("yunexpress", "origin", "not_found"),
        ("cainiao", "probe", "final"),
    ]
    actual = next(f for f in findings if f["code"] == "carrier.actual_differs")
    assert actual["severity"] == "error"
    assert "cainiao" in actual["message"]
    assert status == "fail"  # the probe shows the truth; it proves no milestone for this order


async def test_a_failing_progress_hook_stops_the_pull_with_its_error(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    """Whatever breaks while storing answers surfaces; fetching never waits forever for room."""
    import asyncio

    orders = tmp_path / "orders.csv"
    write_orders(orders, sandbox_carriers(), per_scenario=2)
    engine = make_engine(sqlite_url)
    calls = 0

    def progress(code: str, done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if done:  # the first answer stored: the hook breaks
            raise LookupError("progress display broke")

    with pytest.raises(LookupError, match="progress display broke"):
        # A hang guard, not a speed bar: the whole pull takes well under a second here.
        await asyncio.wait_for(run_pull(engine, orders, progress=progress), timeout=60)
    assert calls > 0


async def test_two_pulls_at_once_store_everything_once(
    db_url: str, make_engine: Any, tmp_path: Path
) -> None:
    """Concurrent writers share error pages and legs; ordered writes mean no deadlock."""
    import asyncio

    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, sandbox_carriers(), per_scenario=2)
    engine = make_engine(db_url)
    first, second = await asyncio.gather(run_pull(engine, orders), run_pull(engine, orders))
    got = verdicts(engine)
    assert {k: v for k, v in expected.items() if got.get(k) != v} == {}
    with engine.connect() as connection:
        duplicates = connection.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT shipment_id, dedup_key FROM events"
                " GROUP BY shipment_id, dedup_key HAVING count(*) > 1) AS d"
            )
        ).scalar_one()
    assert duplicates == 0
    assert first.rows_read == second.rows_read == len(expected)


async def test_the_writer_never_leaves_fetching_waiting_when_storing_breaks() -> None:
    """A full backlog and a broken store: every later `put` raises instead of waiting."""
    import asyncio
    from typing import cast

    from tracking.core.domain import CarrierFailure, ErrorKind, NumberResult
    from tracking.fetch.writer import DbThread, GroupWriter
    from tracking.store.answers import Answer

    class BrokenDb:
        async def run(self, fn: Any, /, **kwargs: Any) -> Any:
            await asyncio.sleep(0.01)
            raise OSError("disk full")

    def answer(n: int) -> Answer:
        number = f"LP{n:014d}"
        failure = CarrierFailure(number, ErrorKind.NOT_FOUND, "unknown")
        return Answer({number: n}, [NumberResult(number, (), failure)], AS_OF)

    writer = GroupWriter(
        cast(DbThread, BrokenDb()),
        run_id="r",
        leg_carrier="",
        on_stored=lambda *args: None,
        backlog_numbers=3,
    )

    async def fetch_many() -> None:
        for n in range(50):
            await writer.put("cainiao", answer(n))

    with pytest.raises(OSError, match="disk full"):
        await asyncio.wait_for(fetch_many(), timeout=30)  # a hang guard, not a speed bar
    with pytest.raises(OSError, match="disk full"):
        await asyncio.wait_for(writer.close(), timeout=30)

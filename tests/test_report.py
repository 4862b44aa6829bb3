"""The portfolio report: figures agree with the stored verdicts and with the bundle summary."""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

import tests.test_findings as db_helpers
import tests.test_pull as sandbox
from carriers.registry import all_carriers
from tracking.evidence import write_bundle
from tracking.evidence.citing import Citation
from tracking.judge.policies import POLICIES
from tracking.read.assemble import iter_order_evidence
from tracking.read.report import PortfolioReport, build_report, rejudge, render_text
from tracking.read.views import BundleInfo
from tracking.store.exchanges import raw_body

AS_OF = sandbox.AS_OF
runner = CliRunner()


async def pulled(engine: sa.Engine, tmp_path: Path) -> None:
    """Every scenario of both carriers, one order reusing another's number, one never judged."""
    orders = tmp_path / "orders.csv"
    sandbox.write_orders(orders, ["cainiao", "yunexpress"], per_scenario=1)
    with orders.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    shared = next(r for r in rows if r[0] == "cainiao-delivered-0")
    rows.append(["DUP-1", *shared[1:]])
    with orders.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    await sandbox.run_pull(engine, orders)
    # Stored but never judged (e.g. imported through the API, not pulled yet).
    db_helpers.add_order(engine, "LATE-1", "LP99999999999999", tenant="default", placed=AS_OF)


def stored(engine: sa.Engine) -> dict[str, str]:
    return sandbox.verdicts(engine)


async def test_report_counts_agree_with_the_stored_verdicts(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    await pulled(engine, tmp_path)
    report = build_report(engine, as_of=AS_OF, window_days=90)
    verdicts = stored(engine)
    in_window = sum(1 for _ in verdicts) + 1  # + the unjudged order
    assert report.orders == in_window
    assert report.unjudged == 1
    assert report.proven == sum(v == "pass" for v in verdicts.values())
    assert report.verdicts == {
        k: sum(v == k for v in verdicts.values()) for k in ("pass", "fail", "pending")
    }
    assert report.policy == "stored"
    assert report.policies == ("default",)
    for figures in (report.by_carrier, report.by_destination):
        assert sum(f.orders for f in figures) == report.orders
        assert sum(f.passed for f in figures) == report.proven
    cite = {d.order_id: d for d in report.do_not_cite}
    assert set(cite) == {k for k, v in verdicts.items() if v != "pass"} | {"LATE-1"}
    assert cite["LATE-1"].verdict == "unjudged"
    assert cite["LATE-1"].reasons == ()
    dup = cite["DUP-1"]
    assert [r.code for r in dup.reasons] == ["number.shared"]
    assert "cainiao-delivered-0" in dup.reasons[0].message
    for item in cite.values():
        if item.verdict == "fail":
            assert item.reasons
            assert {r.severity for r in item.reasons} == {"error"}
    groups = {(f.code, f.severity): f.orders for f in report.findings}
    assert groups[("number.shared", "error")] == 2
    assert groups[("shipment.returned", "error")] == 2
    severities = [f.severity for f in report.findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


async def test_report_agrees_with_the_bundle_summary(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    await pulled(engine, tmp_path)
    window = (AS_OF - timedelta(days=90), AS_OF)
    info = BundleInfo(
        reference_id="EVR-TEST",
        seller="default",
        window_start=window[0],
        window_end=window[1],
        # after the sandbox's fetches, which carry the real clock
        created_at=datetime(2036, 1, 1, tzinfo=UTC),
    )
    out = tmp_path / "bundle"
    write_bundle(
        out,
        info=info,
        orders=iter_order_evidence(engine, carriers=all_carriers(), window=window),
        raw_body=lambda digest: raw_body(engine, digest),
        # every judged order cited: the manifest's figures then cover the report's portfolio
        citation=Citation(verdicts=("pass", "fail", "pending")),
    )
    summary = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["summary"]
    report = build_report(engine, as_of=AS_OF, window_days=90).as_json()
    # The bundle holds judged orders only; the report also counts the unjudged one.
    assert summary["orders"] == report["orders_in_window"] - report["unjudged"]
    assert summary["verdicts"] == report["verdicts"]
    assert summary["all_milestones"] == report["all_milestones"]
    keys = ("orders", "all_milestones", "pass", "fail", "pending")

    def figures(items: list[dict[str, Any]], name: str) -> dict[str, tuple[int, ...]]:
        found = {}
        for item in items:
            counts = [item[k] for k in keys]
            counts[0] -= item.get("unjudged", 0)
            if counts[0]:
                found[item[name]] = tuple(counts)
        return found

    assert figures(summary["by_carrier"], "carrier") == figures(report["by_carrier"], "carrier")
    assert figures(summary["by_destination"], "country") == figures(
        report["by_destination"], "country"
    )


async def test_report_under_another_policy_writes_nothing(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    await pulled(engine, tmp_path)
    with engine.connect() as connection:
        before = connection.execute(sa.text("SELECT count(*) FROM verdict_history")).scalar_one()
    report = build_report(engine, as_of=AS_OF, window_days=90, policy=POLICIES["joom"])
    with engine.connect() as connection:
        after = connection.execute(sa.text("SELECT count(*) FROM verdict_history")).scalar_one()
    assert before == after
    assert (report.policy, report.policies, report.unjudged) == ("joom", ("joom",), 0)
    codes = {f.code for f in report.findings}
    assert "policy.value_unknown" in codes  # the sandbox orders carry no value
    assert "number.shared" in codes


async def test_report_for_one_store_and_an_empty_window(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    await pulled(engine, tmp_path)
    db_helpers.add_order(engine, "OTHER-1", "LP88888888888888", tenant="shop-b", placed=AS_OF)
    other = build_report(engine, as_of=AS_OF, window_days=90, tenant="shop-b")
    assert (other.orders, other.unjudged, [d.order_id for d in other.do_not_cite]) == (
        1,
        1,
        ["OTHER-1"],
    )
    empty = build_report(engine, as_of=AS_OF - timedelta(days=400), window_days=10)
    assert empty.orders == 0
    assert empty.findings == ()
    text = render_text(empty)
    assert "Orders in the window: 0" in text
    assert "Do not cite (0 orders)" in text


def cli() -> typer.Typer:
    from tracking.cli.app import app

    return app


async def test_report_cli_prints_json_and_plain_text(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    await pulled(engine, tmp_path)
    base = ["--db", sqlite_url, "report", "--as-of", "2026-11-20"]
    result = runner.invoke(cli(), [*base, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    expected = build_report(engine, as_of=AS_OF, window_days=90)
    assert payload == expected.as_json()
    assert set(payload) >= {
        "orders_in_window",
        "proven",
        "verdicts",
        "by_carrier",
        "by_destination",
        "findings",
        "do_not_cite",
        "policy",
    }
    result = runner.invoke(cli(), [*base, "--policy", "shopee", "--window-days", "30"])
    assert result.exit_code == 0, result.output
    assert "policy shopee" in result.stdout
    assert "Do not cite" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--policy", "aliexpress"], id="unknown-policy"),
        pytest.param(["--as-of", "yesterday"], id="bad-date"),
        pytest.param(["--window-days", "0"], id="bad-window"),
    ],
)
def test_report_cli_usage_errors(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "x.db"
    result = runner.invoke(cli(), ["--db", f"sqlite:///{db}", "report", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_report_json_shape_is_stable() -> None:
    report = PortfolioReport(
        tenant=None,
        window_start=AS_OF - timedelta(days=90),
        as_of=AS_OF,
        policy="stored",
        policies=(),
        orders=0,
        verdicts={"pass": 0, "fail": 0, "pending": 0},
        unjudged=0,
        all_milestones=0,
        passed_with_warnings=0,
        by_carrier=(),
        by_destination=(),
        findings=(),
        do_not_cite=(),
    )
    assert report.as_json()["window"] == {
        "start": "2026-08-22T23:59:59+00:00",
        "end": "2026-11-20T23:59:59+00:00",
    }


async def test_rejudge_stores_the_policy_in_force_and_matches_the_in_memory_report(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    await pulled(engine, tmp_path)
    joom = POLICIES["joom"]
    in_memory = build_report(engine, as_of=AS_OF, window_days=90, policy=joom)
    counts = rejudge(engine, policy=joom, as_of=AS_OF, window=(AS_OF - timedelta(days=90), AS_OF))
    after = build_report(engine, as_of=AS_OF, window_days=90)
    assert after.policies == ("joom",)
    assert counts == after.verdicts == in_memory.verdicts
    assert after.findings == in_memory.findings
    assert after.unjudged == 0  # the unjudged order in the window was judged too


def test_rich_rendering_shows_data_literally() -> None:
    from rich.console import Console

    from tracking.read.report import DoNotCite, Reason, render_rich

    item = DoNotCite(
        tenant="shop",
        order_id="[bold]X-1",
        order_date=AS_OF,
        tracking_number="LP1",
        carrier="cainiao",
        destination_country="RU",
        verdict="fail",
        reasons=(Reason("shipment.exception", "error", "Carrier says [red]lost[/red]", "丢失"),),
    )
    empty = build_report_stub()
    report = dataclasses.replace(empty, do_not_cite=(item,))
    console = Console(record=True, width=200, force_terminal=True)
    render_rich(report, console)
    text = console.export_text()
    assert "[bold]X-1" in text
    assert "[red]lost[/red]" in text


def build_report_stub() -> PortfolioReport:
    return PortfolioReport(
        tenant="shop",
        window_start=AS_OF - timedelta(days=90),
        as_of=AS_OF,
        policy="default",
        policies=("default",),
        orders=1,
        verdicts={"pass": 0, "fail": 1, "pending": 0},
        unjudged=0,
        all_milestones=0,
        passed_with_warnings=0,
        by_carrier=(),
        by_destination=(),
        findings=(),
        do_not_cite=(),
    )

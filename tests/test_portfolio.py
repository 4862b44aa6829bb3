"""One portfolio summary, three renderings: the report, the API and the precheck PDF agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdf

import tests.test_report as report_db
from carriers.registry import all_carriers
from tracking.api.crud import portfolio_summary
from tracking.evidence.export import ExportRequest, export_bundle
from tracking.read.portfolio import read_portfolio
from tracking.read.report import build_report, render_text

AS_OF = report_db.AS_OF


def _precheck_text(root: Path) -> str:
    reader = pypdf.PdfReader(root / "precheck" / "precheck.pdf")
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


async def test_report_api_and_precheck_show_the_same_figures(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    await report_db.pulled(engine, tmp_path)  # judged orders of two carriers, and one unjudged
    window = (AS_OF - timedelta(days=90), AS_OF)

    report = build_report(engine, as_of=AS_OF, window_days=90, tenant="default")
    api = portfolio_summary(engine, tenant="default", window=window).model_dump(
        mode="json", by_alias=True
    )
    out = tmp_path / "bundle"
    export_bundle(
        engine,
        ExportRequest(
            out=out, tenant="default", as_of=AS_OF, created_at=datetime(2036, 1, 1, tzinfo=UTC)
        ),
        carriers=all_carriers(),
    )
    precheck = _precheck_text(out)

    assert report == read_portfolio(engine, tenant="default", window=window)
    assert report.unjudged == 1
    assert report.orders > report.unjudged
    v = report.verdicts

    # the terminal
    text = render_text(report)
    assert f"Orders in the window: {report.orders}. Proven (pass): {v['pass']} " in text
    assert f"fail {v['fail']}; pending {v['pending']}; not judged yet {report.unjudged}." in text
    assert f"All three milestones (departed, arrived, delivered): {report.all_milestones} " in text

    # the API
    assert (api["orders"], api["verdicts"], api["not_judged"], api["all_milestones"]) == (
        report.orders,
        v,
        report.unjudged,
        report.all_milestones,
    )
    assert api["judged"] == report.orders - report.unjudged
    assert {f["key"]: (f["orders"], f["pass"], f["not_judged"]) for f in api["by_carrier"]} == {
        f.key or "unknown": (f.orders, f.passed, f.unjudged) for f in report.by_carrier
    }
    assert {(f["code"], f["severity"], f["orders"]) for f in api["findings"]} == {
        (f.code, f.severity, f.orders) for f in report.findings
    }

    # the PDF: the seller's precheck counts the unjudged order too
    assert f"Orders in the window / 窗口内订单 {report.orders} " in precheck
    assert (
        f"pass {v['pass']} · fail {v['fail']} · pending {v['pending']}; "
        f"not judged yet {report.unjudged} (run pull or refresh); "
        f"all three milestones: {report.all_milestones} of {report.orders}"
    ) in precheck
    names = {key: info.name for key, info in all_carriers().items()}
    for f in report.by_carrier:  # by display name: "Cainiao (AliExpress) 11 3 27.3 % 1 7 2"
        share = f"{100 * f.all_milestones / f.orders:.1f} %"
        counts = f"{f.orders} {f.all_milestones} {share} {f.passed} {f.failed} {f.pending}"
        assert f"{names[f.key]} {counts}" in precheck
    for f in report.by_destination:
        share = f"{100 * f.all_milestones / f.orders:.1f} %"
        assert f"{f.label} {f.orders} {f.all_milestones} {share} {f.passed} " in precheck

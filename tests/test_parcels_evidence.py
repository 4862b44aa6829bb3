"""Split orders in every output: each parcel's number, milestones, timeline and raw responses.

Order A ships in two delivered parcels; order B in two parcels, one returned (B fails, so it
is not cited). The sandbox answers all four numbers in one batched Cainiao response, so the
bundle must show A's two parcels in full and B's numbers nowhere in `upload/`.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pypdf
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from carriers.registry import all_carriers
from tests.test_parcels import CHINA, FAST, _pair
from tracking.api.crud import order_evidence
from tracking.cli.app import app
from tracking.evidence.manifest import SCHEMA_PATH

runner = CliRunner()


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _text(path: Path) -> str:
    reader = pypdf.PdfReader(path)
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    return meta + "\n" + "\n".join(page.extract_text() or "" for page in reader.pages)


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, list[str]]]:
    a1, a2, a_country, a_date = _pair(0, "delivered")
    b1, b2, b_country, b_date = _pair(500, "returned")
    root = tmp_path_factory.mktemp("split")
    path = root / "orders.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "order_date", "carrier", "tracking_number", "country"])
        for order, number, country, placed in (
            ("A", a1, a_country, a_date),
            ("A", a2, a_country, a_date),
            ("B", b1, b_country, b_date),
            ("B", b2, b_country, b_date),
        ):
            stamp = placed.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow([order, stamp, "Cainiao", number, country])
    url = f"sqlite:///{root / 'split.db'}"
    result = runner.invoke(
        app, ["--db", url, "pull", str(path), "--sandbox", "--as-of", "2026-11-20"], env=FAST
    )
    assert result.exit_code == 0, result.output
    return url, {"A": [a1, a2], "B": [b1, b2]}


@pytest.fixture(scope="module")
def bundle(
    pulled: tuple[str, dict[str, list[str]]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    url, _ = pulled
    out = tmp_path_factory.mktemp("bundle") / "bundle"
    result = runner.invoke(
        app,
        [
            "--db",
            url,
            "export",
            "--out",
            str(out),
            "--as-of",
            "2026-11-20",
            "--created-at",
            "2036-01-01T00:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_status_shows_every_parcel(pulled: tuple[str, dict[str, list[str]]]) -> None:
    url, numbers = pulled
    result = runner.invoke(app, ["--db", url, "status", "--order", "A", "--json"])
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)
    parcels = item["parcels"]
    assert [p["tracking_number"] for p in parcels] == numbers["A"]
    for parcel in parcels:
        assert parcel["verdict"] == "pass"
        assert parcel["milestones"]["delivered"]["status"] == "explicit"
        assert parcel["milestones"]["delivered"]["tracking_number"] == parcel["tracking_number"]
        assert [leg["tracking_number"] for leg in parcel["legs"]][:1] == [parcel["tracking_number"]]
    result = runner.invoke(app, ["--db", url, "status", "--order", "B", "--json"])
    (item,) = json.loads(result.stdout)
    assert [p["verdict"] for p in item["parcels"]] == ["pass", "fail"]
    table = runner.invoke(app, ["--db", url, "status"], env={"COLUMNS": "200"})
    assert all(n in table.output for ns in numbers.values() for n in ns)


def test_the_bundle_shows_every_parcel_of_a_cited_order(
    pulled: tuple[str, dict[str, list[str]]], bundle: Path
) -> None:
    _, numbers = pulled
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text("utf-8"))).validate(manifest)
    (entry,) = [o for o in manifest["orders"] if o["order_id"] == "A"]
    assert [p["tracking_number"] for p in entry["parcels"]] == numbers["A"]
    for parcel in entry["parcels"]:
        assert parcel["events"]
        assert parcel["exchanges"]
        assert {e["tracking_number"] for e in parcel["events"]} == {parcel["tracking_number"]}
        assert parcel["milestones"]["delivered"]["status"] == "explicit"
    # a delivered image per delivered parcel, each named after its number
    images = sorted(p.name for p in (bundle / "upload" / "orders").glob("*.png"))
    assert images == [f"A-parcel{i}-{n}.png" for i, n in enumerate(numbers["A"], start=1)]
    order_pdf = _compact(_text(bundle / "upload" / "orders" / "A.pdf"))
    for i, number in enumerate(numbers["A"], start=1):
        assert f"Parcel{i}of2:{number}" in order_pdf
        assert _compact(f"Timeline · parcel {i} of 2") in order_pdf
    # both parcels' raw response bodies, in the order's appendix and in the log volumes
    volumes = "".join(
        _compact(_text(p)) for p in sorted((bundle / "upload").glob("carrier-api-logs-*.pdf"))
    )
    for parcel in entry["parcels"]:
        for digest in parcel["exchanges"]:
            (raw,) = (bundle / "raw").glob(f"{digest}.*")
            body = json.loads(raw.read_bytes())
            (part,) = [m for m in body["module"] if m["mailNo"] == parcel["tracking_number"]]
            shown = _compact(json.dumps(part["latestTrace"]["desc"], ensure_ascii=False))
            assert f'"mailNo":"{parcel["tracking_number"]}"' in order_pdf
            assert f'"mailNo":"{parcel["tracking_number"]}"' in volumes
            assert shown in order_pdf
            assert shown in volumes


def test_no_number_of_an_order_not_cited_anywhere_in_upload(
    pulled: tuple[str, dict[str, list[str]]], bundle: Path
) -> None:
    """The batch answering for A also answered for B (failing): B's entries are withheld."""
    _, numbers = pulled
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert {o["order_id"] for o in manifest["orders"]} == {"A"}
    (digest,) = {x["sha256"] for x in manifest["exchanges"]}
    (raw,) = (bundle / "raw").glob(f"{digest}.*")
    assert all(n.encode() in raw.read_bytes() for n in numbers["B"])  # one batch for all four
    texts = {p.name: _compact(_text(p)) for p in sorted((bundle / "upload").rglob("*.pdf"))}
    for name, text in texts.items():
        for number in numbers["B"]:
            assert number not in text, (name, number)
    for png in (bundle / "upload").rglob("*.png"):
        assert all(n not in png.name for n in numbers["B"])
    volume = texts["carrier-api-logs-01.pdf"]
    assert _compact("Withheld: 2 entries about parcels this submission does not document") in volume
    assert _compact("The seller keeps the whole body as stored") in volume
    assert digest in volume
    assert "[withheld]" in volume  # B's numbers in the batched request line


def test_the_api_evidence_lists_every_parcel(pulled: tuple[str, dict[str, list[str]]]) -> None:
    url, numbers = pulled
    engine = sa.create_engine(url)
    try:
        found = order_evidence(engine, tenant="default", order_id="A", carriers=all_carriers())
    finally:
        engine.dispose()
    assert found is not None
    body: dict[str, Any] = found.model_dump(mode="json")
    assert [p["tracking_number"] for p in body["parcels"]] == numbers["A"]
    for parcel in body["parcels"]:
        assert parcel["verdict"] == "pass"
        assert {e["tracking_number"] for e in parcel["events"]} == {parcel["tracking_number"]}
        assert parcel["exchanges"]
        assert parcel["legs"]
        assert [m["stage"] for m in parcel["milestones"]] == [
            "departed_origin",
            "arrived_destination",
            "delivered",
        ]
    assert "parcels" not in {m["stage"] for m in body["milestones"]}


@pytest.mark.parametrize("policy", [[], ["--policy", "default"]], ids=["stored", "judged-now"])
def test_the_report_names_every_parcel_and_judges_all(
    pulled: tuple[str, dict[str, list[str]]], policy: list[str]
) -> None:
    url, numbers = pulled
    result = runner.invoke(app, ["--db", url, "report", "--as-of", "2026-11-20", "--json", *policy])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verdicts"] == {"pass": 1, "fail": 1, "pending": 0}
    (item,) = report["do_not_cite"]
    assert item["order_id"] == "B"
    assert item["tracking_number"] == ", ".join(numbers["B"])
    assert any(numbers["B"][1] in r["message"] for r in item["reasons"])

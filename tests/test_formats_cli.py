"""`track-evidence formats`: each known export, whether it is recognized, its header sources."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tracking.cli.app import app
from tracking.ingest.profiles import all_profiles

runner = CliRunner()


def test_formats_json_lists_every_profile_with_its_sources() -> None:
    result = runner.invoke(app, ["formats", "--json"])
    assert result.exit_code == 0, result.output
    listed = {entry["key"]: entry for entry in json.loads(result.stdout)}
    assert set(listed) == {p.key for p in all_profiles()}
    for profile in all_profiles():
        entry = listed[profile.key]
        assert entry["name"] == profile.name
        assert entry["kind"] == profile.kind
        assert entry["verified"] is profile.verified
        assert entry["sources"] == list(profile.sources)
        assert entry["timezone"] == profile.timezone
        assert entry["no_tracking"] == profile.no_tracking
        if not profile.verified:
            assert entry["status"] == "not yet verified; use --map"
        elif profile.no_tracking:
            assert entry["status"] == "recognized; no tracking numbers"
        else:
            assert entry["status"] == "recognized"
    shopee = listed["shopee-order-all"]
    assert shopee["signature"][:3] == ["Order ID", "Tracking Number*", "Order Creation Date"]
    assert shopee["columns"]["tracking_number"] == ["Tracking Number*"]
    lazada = listed["lazada-orders-legacy"]
    assert lazada["ignore_tracking"] == ["Tracking Code (first mile)"]


def test_formats_table_names_each_export_and_source() -> None:
    result = runner.invoke(app, ["formats"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for profile in all_profiles():
        assert profile.key in result.stdout
        for source in profile.sources:
            assert source in result.stdout
        if profile.no_tracking:
            assert profile.no_tracking in result.stdout
    header, *rows = result.stdout.splitlines()  # on a pipe: tab-separated, under a header
    assert header.split("\t")[0] == "key"
    assert header.split("\t")[-1] == "sources"
    assert len(rows) == len(all_profiles())

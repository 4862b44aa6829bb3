"""`track-evidence parse` on every recorded carrier response gives its cassette's stages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cassette import CASSETTES, Cassette, load
from tracking.cli.app import app

runner = CliRunner()


def _cases() -> list[object]:
    cases: list[object] = []
    for path in sorted(CASSETTES.glob("*/*.yaml")):
        cassette = load(path)
        tracking = [i for i in cassette.interactions if i["response"]["status"] == 200]
        wanted = [e for e in cassette.expect if e.error is None]
        if tracking and wanted:
            cases.append(pytest.param(cassette, id=f"{cassette.carrier}-{path.stem}"))
    return cases


@pytest.mark.parametrize("cassette", _cases())
def test_parse_cli_gives_the_cassettes_stages_and_milestones(
    cassette: Cassette, tmp_path: Path
) -> None:
    body = cassette.interactions[-1]["response"]["body"]  # the tracking answer comes last
    raw = tmp_path / "raw.json"
    raw.write_text(body, encoding="utf-8")
    numbers = [arg for e in cassette.expect for arg in ("--number", e.number)]
    result = runner.invoke(
        app, ["parse", "--carrier", cassette.carrier, str(raw), *numbers, "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    parsed = {
        item["tracking_number"]: item
        for item in (payload if isinstance(payload, list) else [payload])
    }
    for expected in cassette.expect:
        if expected.error is not None:
            continue
        item = parsed[expected.number]
        assert [e["stage"] for e in item["events"]] == expected.stages
        for name, when in expected.milestones.items():
            got = item["milestones"][name]
            assert (got[:19] + "Z" if got else None) == when, name
        assert item["final"] is expected.final

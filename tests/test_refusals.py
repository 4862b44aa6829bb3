"""Loud refusals: an answer a parser cannot read is named, never an empty success."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracking.cli.app import app

runner = CliRunner()

# Invented values in real shapes (carrier-apis §5, §6).
LIST_TRACK_V3 = {
    "result": 1,
    "message": "ok",
    "data": [
        {
            "queryCode": "4PX3000000000001CN",
            "status": 5,
            "tracks": [{"tkCode": "FPX_M_DFOA", "tkDate": 1763000000000, "tkDesc": "Departed"}],
        }
    ],
}
TRACK17_V1 = {
    "code": 0,
    "data": {"accepted": [{"number": "LX000000001CN", "track": {"z0": {}, "z1": []}}]},
}
TRACK17_WEB = {"ret": 1, "msg": "Ok", "g": "x", "dat": [{"no": "LX000000001CN", "track": {}}]}
CAINIAO_EMPTY = {"success": True, "module": []}
YANWEN_EMPTY = {"code": 0, "message": "success", "result": []}


def _parse(tmp_path: Path, carrier: str, body: object) -> tuple[int, str]:
    raw = tmp_path / "answer.json"
    raw.write_text(json.dumps(body), encoding="utf-8")
    result = runner.invoke(app, ["parse", "--carrier", carrier, str(raw)])
    return result.exit_code, result.output


@pytest.mark.parametrize("carrier", ["4px", "cainiao", "yanwen", "yunexpress"])
@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(TRACK17_V1, "17TRACK API v1", id="17track-v1"),
        pytest.param(TRACK17_WEB, "17TRACK web tracking (restapi)", id="17track-web"),
    ],
)
def test_a_foreign_shape_is_named_with_what_is_supported(
    tmp_path: Path, carrier: str, body: object, named: str
) -> None:
    code, output = _parse(tmp_path, carrier, body)
    assert code == 1
    assert f"this is a {named} answer, which the {carrier} parser does not read" in output
    assert "it reads" in output
    assert "Input should" not in output  # no library jargon
    assert "_Data" not in output


@pytest.mark.parametrize("carrier", ["cainiao", "yanwen", "yunexpress"])
def test_4px_public_page_is_named_by_the_other_parsers(tmp_path: Path, carrier: str) -> None:
    code, output = _parse(tmp_path, carrier, LIST_TRACK_V3)
    assert code == 1
    assert "this is a 4PX public tracking page (listTrackV3) answer" in output


def test_4px_reads_its_public_page_and_says_so(tmp_path: Path) -> None:
    raw = tmp_path / "answer.json"
    raw.write_text(json.dumps(LIST_TRACK_V3), encoding="utf-8")
    result = runner.invoke(app, ["parse", "--carrier", "4px", str(raw), "--json"])
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.output)
    assert parsed["tracking_number"] == "4PX3000000000001CN"
    assert parsed["milestones"]["departed_origin"] == "2025-11-13T02:13:20Z"  # tkDate, epoch ms


@pytest.mark.parametrize(
    ("carrier", "body"),
    [
        pytest.param("cainiao", CAINIAO_EMPTY, id="cainiao"),
        pytest.param("yanwen", YANWEN_EMPTY, id="yanwen"),
    ],
)
def test_an_answer_naming_no_number_is_not_an_empty_success(
    tmp_path: Path, carrier: str, body: object
) -> None:
    code, output = _parse(tmp_path, carrier, body)
    assert code == 1
    assert "names no tracking number" in output


@pytest.mark.parametrize("carrier", ["4px", "cainiao", "yanwen", "yunexpress"])
def test_an_own_shape_gone_wrong_says_where_in_plain_words(tmp_path: Path, carrier: str) -> None:
    wrong = {
        "4px": {"result": "1", "msg": "", "errors": [], "data": "oops"},
        "cainiao": {"success": True, "module": "oops"},
        "yanwen": {"code": 0, "result": "oops"},
        "yunexpress": {"Code": "0000", "Item": "oops"},
    }[carrier]
    code, output = _parse(tmp_path, carrier, wrong)
    assert code == 1
    assert f"the {carrier} parser reads" in output
    assert "Input should" not in output
    assert "valid dictionary" not in output


def test_a_stored_challenge_page_is_named_as_a_refusal(tmp_path: Path) -> None:
    raw = tmp_path / "page.html"
    raw.write_text(
        "<html><head><title>Verification needed</title></head>"
        '<body><iframe src="/_____tmd_____/punish?x5secdata=x"></iframe></body></html>',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["parse", "--carrier", "cainiao", str(raw)])
    assert result.exit_code == 1
    assert "not a tracking answer but a challenge page" in result.output

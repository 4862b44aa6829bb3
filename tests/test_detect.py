"""Tracking-number recognition and the findings for a carrier that contradicts the number."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from carriers.registry import all_carriers
from tracking.cli.app import app
from tracking.core.numbers import detect, normalize_number
from tracking.judge.validator import OrderFacts, Policy, evaluate

runner = CliRunner()


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        pytest.param("LW529183198CN", True, id="valid-cn"),
        pytest.param("LK201223662AU", True, id="valid-au"),
        pytest.param("EP493018285VN", True, id="valid-vn"),
        pytest.param("RR123456789CN", False, id="doc-example-fails"),
        pytest.param("LE339614461CN", False, id="made-up-fails"),
    ],
)
def test_s10_check_digit(number: str, ok: bool) -> None:
    found = detect(number, all_carriers())
    assert found.s10 is not None
    assert found.s10.check_digit_ok is ok
    # A failed check digit warns; it never removes the candidates.
    assert bool(found.warnings) is (not ok)


def test_normalization_strips_spaces_and_dashes() -> None:
    assert normalize_number(" lw 529-183-198 cn ") == "LW529183198CN"


def test_specific_pattern_outranks_generic() -> None:
    carriers = all_carriers()
    make = carriers["cainiao"].make_number
    assert make is not None
    found = detect(make(5), carriers)
    assert found.best == "cainiao"
    assert found.candidates[0].score >= max(c.score for c in found.candidates)


def test_unknown_format_has_no_candidate_and_says_so() -> None:
    found = detect("HELLO", all_carriers())
    assert found.candidates == ()
    assert "no registered carrier" in found.warnings[0]


def test_detect_cli_json() -> None:
    result = runner.invoke(app, ["detect", "LW529183198CN", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["s10"] == {
        "service": "tracked letter / small packet",
        "country": "CN",
        "check_digit_ok": True,
        "expected_digit": 8,
    }


@pytest.mark.parametrize(
    ("source", "code"),
    [
        pytest.param("declared_mismatch", "carrier.number_mismatch", id="number-mismatch"),
        pytest.param("channel_mismatch", "carrier.channel_mismatch", id="channel-mismatch"),
    ],
)
def test_declared_carrier_contradiction_is_a_finding(source: str, code: str) -> None:
    order = OrderFacts(
        order_id="A1",
        order_date=datetime(2026, 11, 1, tzinfo=UTC),
        destination_country="RU",
        carrier="cainiao",
        carrier_declared="Joom Logistics",
        carrier_source=source,
    )
    verdict = evaluate(
        order=order,
        shipments=[],
        events=[],
        as_of=datetime(2026, 11, 2, tzinfo=UTC),
        policy=Policy(),
    )
    finding = next(f for f in verdict.findings if f.code == code)
    assert finding.severity == "warning"
    assert "Joom Logistics" in finding.message
    assert finding.message_zh

"""Parsers read well-formed answers with pydantic's JSON parser: same results as the slow path.

Every recorded body (answers, error envelopes, malformed ones) is parsed twice, once as the
parsers run and once with the fast path switched off, and the outcomes must be identical.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from carriers.registry import all_carriers
from tests.cassette import CASSETTES, load

PARSE_MODULES = {
    "cainiao": "carriers.cainiao.parse",
    "yunexpress": "carriers.yunexpress.parse",
    "17track": "carriers.track17.parse",
    "yanwen": "carriers.yanwen.parse",
    "4px": "carriers.fourpx.parse",
}


def _bodies() -> list[Any]:
    cases = []
    for path in sorted(CASSETTES.glob("*/*.yaml")):
        cassette = load(path)
        for i, interaction in enumerate(cassette.interactions):
            body = interaction["response"]["body"]
            if body:
                cases.append(
                    pytest.param(
                        cassette.carrier,
                        body.encode("utf-8"),
                        cassette.numbers,
                        id=f"{cassette.carrier}-{path.stem}-{i}",
                    )
                )
    return cases


def _outcome(carrier: str, body: bytes, numbers: list[str]) -> Any:
    try:
        return all_carriers()[carrier].parse(body, requested=numbers)
    except Exception as exc:  # the error itself is the outcome to compare
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize(("carrier", "body", "numbers"), _bodies())
def test_fast_and_slow_paths_agree(
    carrier: str, body: bytes, numbers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _outcome(carrier, body, numbers)
    module = importlib.import_module(PARSE_MODULES[carrier])
    # (YunExpress has no fast path: its models coerce numbers to strings.)
    monkeypatch.setattr(module, "validate_json_body", lambda model, raw: None, raising=False)
    slow = _outcome(carrier, body, numbers)
    assert fast == slow
    # A byte-order mark takes the slow path and changes nothing either.
    assert _outcome(carrier, b"\xef\xbb\xbf" + body, numbers) == slow


def test_the_fast_path_is_taken_for_a_good_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the benchmark figure: a delivered answer never reaches `json.loads`."""
    import json

    cassette = load(CASSETTES / "17track" / "delivered.yaml")
    body = cassette.interactions[-1]["response"]["body"].encode("utf-8")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("slow path taken")

    monkeypatch.setattr(json, "loads", refuse)
    parsed = all_carriers()["17track"].parse(body, requested=cassette.numbers)
    assert parsed[cassette.numbers[0]].final is True  # type: ignore[union-attr]

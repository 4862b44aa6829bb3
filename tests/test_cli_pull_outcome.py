"""A pull that fetched nothing says why per carrier and fails; `--now` polls without waiting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import tracking.cli.serve as cli_serve
from carriers.registry import all_carriers
from tests.test_api import client, eventually, running, settings
from tests.test_pull import AS_OF, FAST_RATES, write_orders
from tracking.api import ApiOptions, create_app, create_key
from tracking.cli.app import app
from tracking.sandbox.server import SandboxOptions, SandboxServer

runner = CliRunner()


def blocking(blocked: set[str]) -> Any:
    """`sandbox_server` of the command line with `blocked` carriers answering challenges."""

    def build(carriers: Any, **_: Any) -> SandboxServer:
        return SandboxServer(
            carriers, SandboxOptions(now=AS_OF, enforce_limits=False, blocked=frozenset(blocked))
        )

    return build


def test_an_unreachable_carrier_fails_the_pull_with_its_reason(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao"], per_scenario=1)
    db = f"sqlite:///{tmp_path / 'te.db'}"
    env = {**FAST_RATES, "TRACK_EVIDENCE_CAINIAO__MAX_ATTEMPTS": "1"}
    args = ["pull", str(orders), "--sandbox-url", "http://127.0.0.1:9", "--as-of", "2026-11-20"]
    result = runner.invoke(app, [*args, "--db", db], env=env)
    assert result.exit_code == 1, result.output
    assert "cainiao: unreachable: " in result.stdout
    assert "failed: no carrier answered" in result.stdout
    result = runner.invoke(app, [*args, "--db", db, "--json", "--now"], env=env)
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert payload["outcome"] == "failed"
    assert set(payload["reasons"]) == {"cainiao"}
    assert payload["reasons"]["cainiao"].startswith("unreachable: ")
    assert payload["problems"]["cainiao"]["kinds"] == {"carrier_error": payload["shipments_due"]}


def test_a_blocked_carrier_makes_the_pull_partial_and_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_serve, "sandbox_server", blocking({"cainiao"}))
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao", "yanwen"], per_scenario=1)
    db = f"sqlite:///{tmp_path / 'te.db'}"
    result = runner.invoke(app, ["--db", db, "pull", str(orders), "--sandbox", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["outcome"] == "partial"
    assert set(payload["reasons"]) == {"cainiao"}
    assert payload["reasons"]["cainiao"].startswith("blocked: ")
    assert "not set" not in payload["reasons"]["cainiao"]  # the sandbox brings credentials
    monkeypatch.setattr(cli_serve, "sandbox_server", blocking({"cainiao", "yanwen", "17track"}))
    result = runner.invoke(app, ["--db", db, "pull", str(orders), "--sandbox", "--now"])
    assert result.exit_code == 1, result.output
    assert "cainiao: blocked: " in result.stdout
    assert "yanwen: blocked: " in result.stdout


def test_refresh_now_polls_what_is_not_due_yet(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["yanwen"], per_scenario=1)
    db = f"sqlite:///{tmp_path / 'te.db'}"
    base = ["--db", db]
    at = ["--sandbox", "--as-of", "2026-11-20", "--json"]
    pulled = runner.invoke(app, [*base, "pull", str(orders), *at])
    assert pulled.exit_code == 0, pulled.output
    engine = sa.create_engine(db)
    with engine.connect() as connection:
        followed = connection.execute(
            sa.text("SELECT count(*) FROM shipments WHERE next_poll_at IS NOT NULL")
        ).scalar_one()
    engine.dispose()
    assert followed > 0
    waiting = runner.invoke(app, [*base, "refresh", *at])
    assert waiting.exit_code == 0, waiting.output
    assert json.loads(waiting.stdout)["shipments_due"] == 0  # nothing due right after a pull
    now = runner.invoke(app, [*base, "refresh", "--now", *at])
    assert now.exit_code == 0, now.output
    report = json.loads(now.stdout)
    assert report["shipments_due"] == followed
    assert report["shipments_fetched"] + report["shipments_not_found"] == followed
    assert report["outcome"] == "succeeded"
    plain = runner.invoke(app, [*base, "pull", str(orders), *at])
    assert json.loads(plain.stdout)["shipments_due"] == 0
    again = runner.invoke(app, [*base, "pull", str(orders), "--retry-failed", *at])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["shipments_due"] > 0


@pytest.mark.parametrize(
    ("blocked", "status"),
    [
        pytest.param({"cainiao"}, "partial", id="partial"),
        pytest.param({"cainiao", "yunexpress", "17track"}, "failed", id="failed"),
    ],
)
async def test_an_api_pull_whose_carriers_did_not_answer_is_not_succeeded(
    sqlite_url: str, make_engine: Any, tmp_path: Path, blocked: set[str], status: str
) -> None:
    engine = make_engine(sqlite_url)
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao", "yunexpress"], per_scenario=1)
    carriers = all_carriers()
    sandbox = SandboxServer(
        carriers, SandboxOptions(now=AS_OF, enforce_limits=False, blocked=frozenset(blocked))
    )
    options = ApiOptions(
        data_dir=tmp_path / "data",
        job_poll_seconds=0.05,
        fetcher_options={"rate_overrides": dict.fromkeys(carriers, 500.0)},
    )
    api = create_app(settings(), engine=engine, network=sandbox.network(), options=options)
    key = create_key(engine, "shop-a")
    async with running(api), client(api, key) as http:
        imported = await http.post(
            "/v1/orders", content=orders.read_bytes(), headers={"Content-Type": "text/csv"}
        )
        assert imported.status_code < 300, imported.text
        started = await http.post("/v1/pulls", json={"as_of": AS_OF.isoformat()})
        assert started.status_code == 202, started.text
        state: dict[str, Any] = {}

        async def ended() -> bool:
            answer: httpx.Response = await http.get(started.headers["location"])
            state.update(answer.json())
            return state["status"] not in ("queued", "running")

        await eventually(ended, seconds=60)
    assert state["status"] == status, state
    reasons = state["result"]["reasons"]
    assert set(reasons) == {"cainiao"} if status == "partial" else {"cainiao", "yunexpress"}
    assert all(why.startswith("blocked: ") for why in reasons.values())
    if status == "failed":
        assert state["error"].startswith("no carrier answered: cainiao: blocked: ")
    else:
        assert state["error"] is None
        assert state["result"]["shipments_fetched"] > 0


def test_a_carrier_without_credentials_is_named_with_the_settings_to_set(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["yunexpress"], per_scenario=1)
    env = {
        "TRACK_EVIDENCE_YUNEXPRESS__BASE_URL": "http://127.0.0.1:9/api",  # never reached
        "TRACK_EVIDENCE_YUNEXPRESS__MAX_ATTEMPTS": "1",
        "TRACK_EVIDENCE_17TRACK__BASE_URL": "http://127.0.0.1:9",
        "TRACK_EVIDENCE_17TRACK__MAX_ATTEMPTS": "1",
    }
    db = f"sqlite:///{tmp_path / 'te.db'}"
    result = runner.invoke(app, ["pull", str(orders), "--db", db, "--json"], env=env)
    assert result.exit_code == 1, result.output
    reason = json.loads(result.stdout)["reasons"]["yunexpress"]
    assert reason.startswith("no credentials: ")
    assert "TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE" in reason

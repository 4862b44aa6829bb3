"""The sandbox server: over real TCP, its rate limits (429 + Retry-After), its fault injection."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from carriers.registry import all_carriers
from tests.test_pull import AS_OF, verdicts, write_orders
from tracking.cli.app import app
from tracking.core.config import Settings
from tracking.fetch.pipeline import pull
from tracking.judge.validator import POLICIES
from tracking.sandbox.server import SandboxOptions, SandboxServer

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sandbox_process() -> Any:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracking",
            "sandbox",
            "--port",
            str(port),
            "--as-of",
            "2026-11-20",
            "--no-limits",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/", timeout=1.0)
            break
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(
                    process.stderr.read().decode() if process.stderr else "died"
                ) from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.communicate(timeout=10)


@pytest.mark.slow
def test_pull_over_tcp_matches_the_in_process_sandbox(
    sandbox_process: str, tmp_path: Path, make_engine: Any
) -> None:
    orders = tmp_path / "orders.csv"
    codes = [c for c, i in all_carriers().items() if i.sandbox is not None]
    write_orders(orders, codes, per_scenario=1)
    db = tmp_path / "tcp.db"
    result = runner.invoke(
        app,
        [
            "--db",
            f"sqlite:///{db}",
            "pull",
            str(orders),
            "--sandbox-url",
            sandbox_process,
            "--as-of",
            "2026-11-20",
            "--json",
        ],
        env={f"TRACK_EVIDENCE_{c.upper()}__RATE_PER_SECOND": "50" for c in codes},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["shipments_failed"] == 0
    index = httpx.get(sandbox_process + "/").json()
    assert sum(s["requests"] for s in index["stats"].values()) >= report["requests"]

    in_process = make_engine(f"sqlite:///{tmp_path / 'asgi.db'}")
    carriers = all_carriers()
    import asyncio

    asyncio.run(
        pull(
            engine=in_process,
            settings=Settings(_env_file=None),  # type: ignore[call-arg]
            orders_path=orders,
            carriers=carriers,
            as_of=AS_OF,
            window_days=90,
            policy=POLICIES["default"],
            network=SandboxServer(
                carriers, SandboxOptions(now=AS_OF, enforce_limits=False)
            ).network(),
            fetcher_options={"rate_overrides": {c: 500.0 for c in carriers}},
        )
    )
    assert verdicts(make_engine(f"sqlite:///{db}")) == verdicts(in_process)


async def test_client_faster_than_the_limit_is_slowed_by_429s_and_still_completes(
    tmp_path: Path, make_engine: Any
) -> None:
    carriers = {"cainiao": all_carriers()["cainiao"]}
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, ["cainiao"], per_scenario=6)
    server = SandboxServer(
        carriers, SandboxOptions(now=AS_OF, rate_limits={"cainiao": 1.0}, enforce_limits=True)
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    report = await pull(
        engine=engine,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        orders_path=orders,
        carriers=carriers,
        as_of=AS_OF,
        window_days=90,
        policy=POLICIES["default"],
        network=server.network(),
        fetcher_options={"rate_overrides": {"cainiao": 200.0}, "backoff": 0.01, "max_attempts": 8},
    )
    stats = server.stats["cainiao"]
    assert stats.limited > 0, "the client outran the limit, so the sandbox must have said 429"
    assert report.shipments_failed == 0
    assert report.shipments_fetched + report.shipments_not_found == len(expected)


async def test_client_at_the_limit_never_exceeds_it(tmp_path: Path, make_engine: Any) -> None:
    carriers = {"cainiao": all_carriers()["cainiao"]}
    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao"], per_scenario=12)  # 108 numbers, 6 batches of 20
    server = SandboxServer(
        carriers, SandboxOptions(now=AS_OF, rate_limits={"cainiao": 5.0}, latency_ms=(5, 20))
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    await pull(
        engine=engine,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        orders_path=orders,
        carriers=carriers,
        as_of=AS_OF,
        window_days=90,
        policy=POLICIES["default"],
        network=server.network(),
        fetcher_options={"rate_overrides": {"cainiao": 5.0}},
    )
    stats = server.stats["cainiao"]
    assert stats.limited == 0
    assert stats.max_per_second <= 5


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"fault_5xx": 1.0}, id="5xx"),
        pytest.param({"fault_malformed": 1.0}, id="malformed"),
        pytest.param({"fault_timeout": 1.0, "hang_seconds": 5.0}, id="timeout"),
    ],
)
async def test_faults_become_typed_errors_never_crashes(
    tmp_path: Path, make_engine: Any, fault: dict[str, float]
) -> None:
    carriers = {"cainiao": all_carriers()["cainiao"]}
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, ["cainiao"], per_scenario=1)
    server = SandboxServer(
        carriers,
        SandboxOptions(now=AS_OF, enforce_limits=False, **fault),  # type: ignore[arg-type]
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    report = await pull(
        engine=engine,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        orders_path=orders,
        carriers=carriers,
        as_of=AS_OF,
        window_days=90,
        policy=POLICIES["default"],
        network=server.network(),
        fetcher_options={
            "rate_overrides": {"cainiao": 500.0},
            "backoff": 0.0,
            "max_attempts": 2,
            "timeout_seconds": 0.3,
        },
    )
    assert report.shipments_failed == len(expected)
    with engine.connect() as connection:
        kinds = {
            row[0]
            for row in connection.exec_driver_sql("SELECT DISTINCT error_kind FROM shipments")
        }
    assert kinds <= {"carrier_error", "bad_payload"}
    assert sum(report.verdicts.values()) == len(expected)

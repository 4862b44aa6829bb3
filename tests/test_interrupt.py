"""Kill drill: a pull SIGKILLed at random moments and run again ends with the same data."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def pull_command(db: Path, orders: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tracking",
        "--db",
        f"sqlite:///{db}",
        "pull",
        str(orders),
        "--sandbox",
        "--as-of",
        "2026-11-20",
        "--latency-ms",
        "20-60",
        "--errors",
        str(db.with_suffix(".errors.csv")),
        "--json",
    ]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACK_EVIDENCE_")}
    # Faster than the carriers' real limits so the drill stays short; the sandbox enforces
    # the same rates.
    env["TRACK_EVIDENCE_CAINIAO__RATE_PER_SECOND"] = "8"
    env["TRACK_EVIDENCE_YUNEXPRESS__RATE_PER_SECOND"] = "40"
    return env


def snapshot(db: Path) -> dict[str, Any]:
    """What a user relies on: orders, legs, events and verdicts (not fetch timestamps)."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        query = connection.execute
        orders = sorted(
            query(
                "SELECT tenant, order_id, tracking_number, carrier, destination_country, "
                "order_date FROM orders"
            ).fetchall()
        )
        shipments = sorted(
            query(
                "SELECT s.carrier, s.tracking_number, s.role, p.tracking_number, s.state, "
                "s.final, s.latest_stage FROM shipments s "
                "LEFT JOIN shipments p ON p.id = s.parent_id"
            ).fetchall(),
            key=repr,
        )
        events = query(
            "SELECT s.tracking_number, e.stage, e.code, e.occurred_at, e.location, e.description "
            "FROM events e JOIN shipments s ON s.id = e.shipment_id"
        ).fetchall()
        assert len(events) == len(set(events)), "duplicate events"
        unfetched = query(
            "SELECT count(*) FROM shipments s WHERE s.role = 'origin' AND s.carrier != '' AND "
            "NOT EXISTS (SELECT 1 FROM exchange_shipments x WHERE x.shipment_id = s.id) AND "
            "EXISTS (SELECT 1 FROM orders o WHERE o.shipment_id = s.id AND o.order_date >= "
            "'2026-08-22')"
        ).fetchone()[0]
        verdicts = sorted(
            (order_id, status, _milestone_times(milestones), _codes(findings))
            for order_id, status, milestones, findings in query(
                "SELECT o.order_id, v.status, v.milestones, v.findings FROM verdicts v "
                "JOIN orders o ON o.id = v.order_pk"
            )
        )
        return {
            "orders": orders,
            "shipments": shipments,
            "events": sorted(events),
            "unfetched": unfetched,
            "verdicts": verdicts,
        }
    finally:
        connection.close()


def _milestone_times(raw: str) -> tuple[Any, ...]:
    data = json.loads(raw)
    return tuple((k, v["status"], v["occurred_at"]) for k, v in sorted(data.items()))


def _codes(raw: str) -> tuple[str, ...]:
    return tuple(sorted(f["code"] for f in json.loads(raw)))


@pytest.mark.slow
def test_killed_pull_run_again_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    orders = EXAMPLES / "orders.csv"
    env = environment()
    clean = tmp_path / "clean.db"
    done = subprocess.run(pull_command(clean, orders), env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()

    killed = tmp_path / "killed.db"
    rng = random.Random(20261122)
    kills = 0
    for _ in range(4):
        process = subprocess.Popen(
            pull_command(killed, orders), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        time.sleep(rng.uniform(0.8, 3.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=60)
    assert kills >= 2, "the drill must really interrupt the pull"
    final = subprocess.run(pull_command(killed, orders), env=env, capture_output=True, timeout=300)
    assert final.returncode == 0, final.stderr.decode()

    expected, got = snapshot(clean), snapshot(killed)
    assert got["unfetched"] == expected["unfetched"] == 0
    for key in ("orders", "shipments", "events", "verdicts"):
        assert got[key] == expected[key], key

"""No secret reaches the database, the cassettes or an error message."""

from __future__ import annotations

import base64
import re
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from carriers.registry import all_carriers
from tests.cassette import CASSETTES
from tests.test_pull import AS_OF, run_pull, write_orders


def sandbox_secrets() -> list[str]:
    """Every credential value the sandbox accepts, and their encoded forms."""
    values: list[str] = []
    for info in all_carriers().values():
        if info.sandbox is None:
            continue
        creds = dict(info.sandbox.credentials)
        values += [v for v in creds.values() if len(v) >= 6]
        if {"customer_code", "api_secret"} <= set(creds):
            pair = f"{creds['customer_code']}&{creds['api_secret']}"
            values.append(base64.b64encode(pair.encode()).decode())
    return values


async def test_pull_stores_no_credential(tmp_path: Path, make_engine: Any) -> None:
    orders = tmp_path / "orders.csv"
    codes = [c for c, i in all_carriers().items() if i.sandbox is not None]
    write_orders(orders, codes, per_scenario=1)
    db = tmp_path / "te.db"
    engine = make_engine(f"sqlite:///{db}")
    report = await run_pull(engine, orders)
    assert report.shipments_fetched > 0
    engine.dispose()
    # Scan every byte of the database (WAL checkpointed), compressed bodies included.
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    dump = "\n".join(connection.iterdump())
    bodies = [
        row[0] if row[1] == "identity" else __import__("zlib").decompress(row[0])
        for row in connection.execute("SELECT data, encoding FROM exchange_bodies")
    ]
    connection.close()
    haystack = dump + "\n".join(b.decode("utf-8", "replace") for b in bodies)
    for secret in sandbox_secrets():
        assert secret not in haystack, f"a credential was stored: {secret[:4]}…"
    assert AS_OF  # the sandbox world is pinned; the scan covered a real pull


_CREDENTIAL_HEADERS = {"authorization", "17token", "token", "sign", "cookie"}


def test_cassettes_hold_no_credentials() -> None:
    paths = sorted(CASSETTES.rglob("*.yaml"))
    assert paths, "no cassettes found"
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data["interactions"]:
            headers = {k.lower(): v for k, v in (item["request"].get("headers") or {}).items()}
            for name in _CREDENTIAL_HEADERS & set(headers):
                assert headers[name] == "[REDACTED]", f"{path.name}: {name} header"
            url = item["request"]["url"]
            for param in ("app_key", "sign", "access_token", "token"):
                match = re.search(rf"[?&]{param}=([^&]*)", url)
                assert match is None or match.group(1) in ("", "%5BREDACTED%5D", "[REDACTED]"), (
                    f"{path.name}: {param} in URL"
                )
        text = path.read_text(encoding="utf-8")
        for secret in sandbox_secrets():
            assert secret not in text, f"{path.name} holds a sandbox credential"

"""Secrets against a hostile or careless carrier (issue 15, finding 8), and tenants' own accounts.

A carrier that echoes a credential back (an error quoting the key, the Authorization header,
the URL-encoded `app_key`) must not get it into the database, a log or a bundle; a tenant's
own carrier account serves its numbers only and is never stored. Every test here failed
before `tracking.core.redaction` and `tracking.fetch.tenant_carriers`.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import respx
import sqlalchemy as sa

from tests.test_pull import AS_OF

# -- secrets echoed back by a carrier (finding 8) ----------------------------------------------

FOURPX_KEY = "4pxKey/Live+7Qz"  # '/' and '+' so that its URL-encoded form differs
FOURPX_SECRET = "4pxSecret-9Wv-live"
YUN_CODE = "C88001-LIVE"
YUN_SECRET = "yunSecret=Live9Q"


def echoed_secrets() -> list[str]:
    """The credentials and the forms a carrier echoes them in (what must never be stored)."""
    basic = base64.b64encode(f"{YUN_CODE}&{YUN_SECRET}".encode()).decode()
    return [
        FOURPX_KEY,
        quote(FOURPX_KEY, safe=""),
        FOURPX_SECRET,
        YUN_SECRET,
        quote_plus(YUN_SECRET),
        basic,
    ]


def echo_4px(request: httpx.Request) -> httpx.Response:
    """4PX refusing the call, quoting the key raw and URL-encoded (as its errors do)."""
    key = request.url.params["app_key"]
    return httpx.Response(
        200,
        json={
            "result": "0",
            "msg": f"app_key {key} is not authorized",
            "errors": [{"errorCode": "E0102", "errorMsg": f"check {quote(key, safe='')}"}],
            "data": None,
        },
    )


def echo_yun(request: httpx.Request) -> httpx.Response:
    """YunExpress answering with the Authorization header it got, and the decoded secret."""
    auth = request.headers["authorization"]
    decoded = base64.b64decode(auth.split()[1]).decode()
    return httpx.Response(
        200,
        json={
            "Code": "1001",
            "Message": f"invalid credentials {auth} ({quote_plus(decoded.split('&')[1])})",
            "Item": None,
        },
    )


def test_a_secret_echoed_by_a_carrier_is_stored_logged_and_bundled_nowhere(
    tmp_path: Path, monkeypatch: Any, caplog: Any
) -> None:
    from typer.testing import CliRunner

    from carriers.registry import all_carriers
    from tracking.cli.app import app

    for name, value in {
        "TRACK_EVIDENCE_4PX__APP_KEY": FOURPX_KEY,
        "TRACK_EVIDENCE_4PX__APP_SECRET": FOURPX_SECRET,
        "TRACK_EVIDENCE_4PX__BASE_URL": "https://fourpx.test",
        "TRACK_EVIDENCE_4PX__MAX_ATTEMPTS": "1",
        "TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE": YUN_CODE,
        "TRACK_EVIDENCE_YUNEXPRESS__API_SECRET": YUN_SECRET,
        "TRACK_EVIDENCE_YUNEXPRESS__BASE_URL": "https://yun.test/api",
        "TRACK_EVIDENCE_YUNEXPRESS__MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    registry = all_carriers()
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,order_date,carrier,tracking_number,country\n"
        f"S-1,2026-11-01 10:00,4PX,{registry['4px'].make_number(11)},RU\n"  # type: ignore[misc]
        f"S-2,2026-11-01 10:00,YunExpress,{registry['yunexpress'].make_number(12)},RU\n",  # type: ignore[misc]
        encoding="utf-8",
    )
    db = tmp_path / "te.db"
    runner = CliRunner()
    caplog.set_level(logging.DEBUG)
    with respx.mock(assert_all_called=True) as mock:
        mock.route(host="fourpx.test").mock(side_effect=echo_4px)
        mock.route(host="yun.test").mock(side_effect=echo_yun)
        pulled = runner.invoke(
            app,
            [
                "--debug",
                "--db",
                f"sqlite:///{db}",
                "pull",
                str(orders),
                "--as-of",
                "2026-11-20",
            ],
        )
    # Every carrier refused: the pull failed, and says why per carrier (without the keys).
    assert pulled.exit_code == 1, pulled.output
    assert "4px: credentials refused: 1 of 1 shipments failed" in pulled.output
    assert "yunexpress: carrier error: 1 of 1 shipments failed" in pulled.output
    out = tmp_path / "bundle"
    exported = runner.invoke(
        app,
        [
            "--db",
            f"sqlite:///{db}",
            "export",
            "--out",
            str(out),
            "--reference-id",
            "EVR-S-1",
            "--as-of",
            "2026-11-20",
        ],
    )
    assert exported.exit_code == 0, exported.output

    stored = database_text(db)
    logs = caplog.text + pulled.output + exported.output
    bundled = "\n".join(folder_texts(out, tmp_path).values())
    for secret in echoed_secrets():
        assert secret not in stored, f"the database holds {secret!r}"
        assert secret not in logs, f"a log holds {secret!r}"
        assert secret not in bundled, f"the bundle holds {secret!r}"
    assert "not authorized" in stored, "the carrier's refusal is kept (without the key)"
    assert "[REDACTED]" in stored
    assert "fourpx.test" in logs, "the --debug log shows the request URLs"
    assert "app_key=[REDACTED]" in logs


def test_every_string_written_to_the_database_is_scrubbed(db_url: str, make_engine: Any) -> None:
    """Whatever path a secret takes to the database (here a failure message), it is scrubbed."""
    from tracking.core.domain import CarrierFailure, ErrorKind, NumberResult
    from tracking.core.redaction import register_secrets
    from tracking.store.answers import store_results

    engine = make_engine(db_url)
    register_secrets(["pushToken-Live-42", "acct-7788"])
    basic = base64.b64encode(b"acct-7788:pushToken-Live-42").decode()
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO shipments (tenant, carrier, tracking_number, role, carrier_name, "
                "state, carrier_status, final, poll_count, created_at) VALUES ('t', '17track', "
                "'LP1', 'origin', '', 'new', '', false, 0, '2026-11-01 00:00:00+00')"
            )
        )
        sid = connection.execute(sa.text("SELECT id FROM shipments")).scalar_one()
    message = f"17track: token pushToken-Live-42 refused (Basic {basic}, pushToken%2DLive)"
    store_results(
        engine,
        shipment_ids={"LP1": sid},
        results=[NumberResult("LP1", (), CarrierFailure("LP1", ErrorKind.AUTH, message))],
        now=datetime(2026, 11, 2, tzinfo=UTC),
        run_id=None,
    )
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT error_message FROM shipments")).scalar_one()
    assert "pushToken-Live-42" not in stored
    assert basic not in stored
    assert stored.startswith("17track: token [REDACTED] refused (Basic [REDACTED]")


def database_text(path: Path) -> str:
    """Every byte of a SQLite database as text, compressed bodies unpacked."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    dump = "\n".join(connection.iterdump())
    bodies = [
        zlib.decompress(data) if encoding == "zlib" else data
        for data, encoding in connection.execute("SELECT data, encoding FROM exchange_bodies")
    ]
    connection.close()
    return dump + "\n".join(b.decode("utf-8", "replace") for b in bodies)


def folder_texts(folder: Path, tmp_path: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".pdf":
            texts[str(path)] = subprocess.run(
                ["pdftotext", "-q", str(path), "-"], capture_output=True, check=True, text=True
            ).stdout
        else:
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return texts


# -- tenants' own carrier accounts -------------------------------------------------------------


async def test_a_tenants_own_carrier_account_serves_its_numbers_only(
    tmp_path: Path, monkeypatch: Any, make_engine: Any
) -> None:
    """Alice's YunExpress account is used for her numbers; Bob falls back to the server's;
    neither set of credentials is stored."""
    from carriers.registry import all_carriers
    from tracking.core.config import Settings
    from tracking.fetch.pipeline import pull
    from tracking.judge.policies import POLICIES

    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE", "SERVER-0001")
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__API_SECRET", "server-secret-77")
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__BASE_URL", "https://yun.test/api")
    accounts = tmp_path / "tenants.toml"
    accounts.write_text(
        '[alice.yunexpress]\ncustomer_code = "ALICE-0001"\napi_secret = "alice-secret-42"\n',
        encoding="utf-8",
    )
    settings = Settings(_env_file=None, tenant_credentials_file=accounts)  # type: ignore[call-arg]
    carriers = all_carriers()
    make = carriers["yunexpress"].make_number
    assert make is not None
    seen: dict[str, str] = {}  # number -> customer code of the account that asked

    def answer(request: httpx.Request) -> httpx.Response:
        code = base64.b64decode(request.headers["authorization"].split()[1]).decode()
        seen[request.url.params["OrderNumber"]] = code.split("&")[0]
        return httpx.Response(200, json={"Code": "1001", "Message": "no data", "Item": None})

    db = tmp_path / "te.db"
    engine = make_engine(f"sqlite:///{db}")
    numbers = {"alice": make(21), "bob": make(22)}
    with respx.mock(assert_all_called=True) as mock:
        mock.route(host="yun.test").mock(side_effect=answer)
        for tenant, number in numbers.items():
            orders = tmp_path / f"{tenant}.csv"
            orders.write_text(
                "order_id,order_date,carrier,tracking_number,country\n"
                f"{tenant}-1,2026-11-01 10:00,YunExpress,{number},RU\n",
                encoding="utf-8",
            )
            await pull(
                engine=engine,
                settings=settings,
                orders_path=orders,
                carriers={"yunexpress": carriers["yunexpress"]},
                as_of=AS_OF,
                window_days=90,
                policy=POLICIES["default"],
                tenant=tenant,
            )
    assert seen == {numbers["alice"]: "ALICE-0001", numbers["bob"]: "SERVER-0001"}
    engine.dispose()
    stored = database_text(db)
    for secret in ("alice-secret-42", "server-secret-77", "ALICE-0001", "SERVER-0001"):
        assert secret not in stored


def test_a_tenant_credentials_file_is_checked_line_by_line(tmp_path: Path) -> None:
    from carriers.registry import all_carriers
    from tracking.core.exceptions import ConfigError
    from tracking.fetch.tenant_carriers import read_tenant_credentials

    path = tmp_path / "tenants.toml"
    for text, expected in (
        ('[alice.yunexpress]\nbase_url = "http://169.254.169.254"\n', "cannot be set per tenant"),
        ('[alice.nosuch]\ntoken = "x"\n', "no carrier 'nosuch'"),
        ("[alice\n", "not valid TOML"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=expected) as caught:
            read_tenant_credentials(path, all_carriers())
        assert str(path) in str(caught.value)
        assert "\n" not in str(caught.value).strip()


def test_short_or_numeric_credentials_never_rewrite_stored_data() -> None:
    """A six-digit customer number must not eat tracking numbers or exchange digests."""
    from tracking.core.redaction import redact, register_secrets

    register_secrets(["100254", "ab12cd34ef", "Live-Key-9Q7"])
    for text in ("LP00100254CN", "ab12cd34ef" + "0" * 54, "order 100254"):
        assert redact(text, params=False) == text
    assert redact("key Live-Key-9Q7 refused", params=False) == "key [REDACTED] refused"

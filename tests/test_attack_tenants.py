"""Attacks of one tenant on another through the real API app (issue 15, findings 1, 2 and 8).

Alice (a seller) imports Cainiao orders and pulls; the carrier batches her numbers. Mallory,
another tenant of the same server, learns one of Alice's tracking numbers, imports it as her
own order and pulls. She must learn nothing of Alice beyond what the carrier tells anyone who
has the number: not Alice's other numbers, order ids or store name, not her exchanges; and
Alice's verdicts and webhooks must not move. Every test here failed before tenant isolation
(`tracking.isolation`).
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import sqlite3
import subprocess
import zipfile
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import respx
import sqlalchemy as sa

from tests.test_api import (
    AS_OF,
    Receiver,
    _type,
    client,
    eventually,
    finished,
    make_app,
    running,
)
from tests.test_pull import write_orders
from tracking.api import create_key
from tracking.isolation import set_group

SHARED_ORDER = "JO-700000"  # Alice's order whose number Mallory learns


@dataclass
class Scene:
    alice: httpx.AsyncClient
    mallory: httpx.AsyncClient
    receiver: Receiver
    numbers: dict[str, str]  # Alice's order id -> tracking number
    alice_before: dict[str, Any]  # Alice's evidence of every order before Mallory's pull
    mallory_order: str = "M-1"
    alice_exchanges: set[str] = field(default_factory=set)

    @property
    def shared_number(self) -> str:
        return self.numbers[SHARED_ORDER]

    def secrets_of_alice(self) -> list[str]:
        """What Mallory must never see: Alice's store, order ids, her other numbers."""
        others = [n for o, n in self.numbers.items() if o != SHARED_ORDER]
        return ["alice", *self.numbers, *others]


def alice_orders(path: Path) -> dict[str, str]:
    """Alice's orders file: sandbox Cainiao numbers (several per carrier batch), her own ids."""
    raw = path.with_suffix(".raw.csv")
    write_orders(raw, ["cainiao"], per_scenario=3)
    with raw.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    numbers: dict[str, str] = {}
    for index, row in enumerate(rows[1:]):
        row[0] = f"JO-7{index:05d}"
        numbers[row[0]] = row[3]
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return numbers


async def evidence_of(http: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    response = await http.get(f"/v1/orders/{order_id}/evidence")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def pull(http: httpx.AsyncClient) -> None:
    started = await http.post("/v1/pulls", json={"as_of": AS_OF.isoformat()})
    assert (await finished(http, started.headers["location"]))["status"] == "succeeded"


@asynccontextmanager
async def attacked(engine: sa.Engine, tmp_path: Path) -> AsyncIterator[Scene]:
    """Alice pulls her orders, then Mallory imports Alice's number and pulls."""
    orders = tmp_path / "alice.csv"
    numbers = alice_orders(orders)
    key_a, key_m = create_key(engine, "alice"), create_key(engine, "mallory")
    receiver = Receiver()
    app = make_app(engine, tmp_path, receiver=receiver)
    async with running(app), client(app, key_a) as alice, client(app, key_m) as mallory:
        hook = await alice.post(
            "/v1/webhooks",
            json={"url": "https://alice-builder.test/h", "events": ["verdict.changed"]},
        )
        assert hook.status_code == 201, hook.text
        imported = await alice.post(
            "/v1/orders", content=orders.read_bytes(), headers=_type("text/csv")
        )
        assert imported.json()["rows_accepted"] == len(numbers)
        await pull(alice)

        async def notified() -> bool:
            changed = receiver.events("verdict.changed")
            return sum(len(e["data"]["orders"]) for e in changed) >= len(numbers)

        await eventually(notified)
        before = {o: await evidence_of(alice, o) for o in numbers}
        scene = Scene(alice, mallory, receiver, numbers, before)
        scene.alice_exchanges = {x["sha256"] for e in before.values() for x in e["exchanges"]}
        shared = before[SHARED_ORDER]["order"]
        item = {
            "order_id": scene.mallory_order,
            "order_date": "2026-11-01",
            "tracking_number": scene.shared_number,
            "destination_country": shared["destination_country"],
            "carrier": "Cainiao",
        }
        assert (await mallory.post("/v1/orders", json=[item])).json()["rows_accepted"] == 1
        await pull(mallory)
        yield scene


def assert_names_nothing_of_alice(text: str, scene: Scene, *, where: str) -> None:
    for secret in scene.secrets_of_alice():
        assert secret not in text, f"{where} shows Alice's {secret!r}"


async def test_mallory_sees_none_of_alices_numbers_orders_or_exchanges(
    db_url: str, make_engine: Any, tmp_path: Path
) -> None:
    async with attacked(make_engine(db_url), tmp_path) as scene:
        mine = await evidence_of(scene.mallory, scene.mallory_order)
        assert mine["events"], "Mallory's own pull fetched the number she cites"
        assert_names_nothing_of_alice(str(mine), scene, where="Mallory's evidence")
        # Every exchange Mallory is shown is her own request: it carries her number only.
        assert mine["exchanges"]
        for exchange in mine["exchanges"]:
            assert not {exchange["sha256"]} & scene.alice_exchanges
            body = await scene.mallory.get(exchange["href"])
            assert body.status_code == 200
            assert_names_nothing_of_alice(
                exchange["url"] + body.text, scene, where="Mallory's exchange"
            )
        # Alice's exchanges (her batch bodies) are never served to Mallory, by any digest.
        for digest in scene.alice_exchanges:
            response = await scene.mallory.get(f"/v1/exchanges/{digest}")
            assert response.status_code == 404, "Mallory read one of Alice's exchanges"
        listed = (await scene.mallory.get("/v1/orders")).json()["items"]
        assert [o["order_id"] for o in listed] == [scene.mallory_order]
        assert_names_nothing_of_alice(str(listed), scene, where="Mallory's order list")


async def test_mallory_cannot_change_alices_verdict_or_fire_her_webhook(
    db_url: str, make_engine: Any, tmp_path: Path
) -> None:
    async with attacked(make_engine(db_url), tmp_path) as scene:
        notified = len(scene.receiver.events("verdict.changed"))
        after = await evidence_of(scene.alice, SHARED_ORDER)
        before = scene.alice_before[SHARED_ORDER]
        assert after["verdict"] == before["verdict"]
        assert after["findings"] == before["findings"]
        assert "number.shared" not in {f["code"] for f in after["findings"]}
        # Mallory is not told that someone else cites the number either.
        mine = await evidence_of(scene.mallory, scene.mallory_order)
        assert "number.shared" not in {f["code"] for f in mine["findings"]}
        # Alice pulls again: nothing of hers changed, so no webhook fires.
        await pull(scene.alice)
        assert len(scene.receiver.events("verdict.changed")) == notified
        for order_id, was in scene.alice_before.items():
            now = await evidence_of(scene.alice, order_id)
            assert now["verdict"]["status"] == was["verdict"]["status"], order_id


async def test_mallorys_bundle_names_nothing_of_alice(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    async with attacked(make_engine(sqlite_url), tmp_path) as scene:
        made = await scene.mallory.post(
            "/v1/bundles",
            json={"reference_id": "EVR-M-1", "as_of": AS_OF.isoformat(), "format": "zip"},
        )
        bundle = await finished(scene.mallory, made.headers["location"])
        assert bundle["status"] == "succeeded", bundle
        assert bundle["orders"] == 1
        (listed,) = bundle["files"]
        archive = (await scene.mallory.get(listed["href"])).content
        texts = bundle_texts(archive, tmp_path)
        assert any(name.endswith(".pdf") for name in texts)
        for name, text in texts.items():
            assert_names_nothing_of_alice(text, scene, where=f"bundle file {name}")


def bundle_texts(archive: bytes, tmp_path: Path) -> dict[str, str]:
    """Every file of a zipped bundle as text (PDFs through pdftotext)."""
    texts: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        for name in zipped.namelist():
            data = zipped.read(name)
            if name.endswith(".pdf"):
                path = tmp_path / "page.pdf"
                path.write_bytes(data)
                texts[name] = subprocess.run(
                    ["pdftotext", "-q", str(path), "-"], capture_output=True, check=True, text=True
                ).stdout
            else:
                texts[name] = data.decode("utf-8", "replace")
    return texts


async def test_stores_of_one_seller_see_the_reuse_but_not_which_order(
    sqlite_url: str, make_engine: Any, tmp_path: Path
) -> None:
    """Within an account group the reuse is reported on both sides; API and bundle name
    neither the other store nor its order."""
    engine = make_engine(sqlite_url)
    set_group(engine, group="alice-group", tenants=["alice", "mallory"])
    async with attacked(engine, tmp_path) as scene:
        mine = await evidence_of(scene.mallory, scene.mallory_order)
        shared = [f for f in mine["findings"] if f["code"] == "number.shared"]
        assert shared
        assert shared[0]["evidence"] == ["order:(another store)"]
        assert_names_nothing_of_alice(str(mine), scene, where="the sibling store's evidence")
        theirs = await evidence_of(scene.alice, SHARED_ORDER)
        assert "number.shared" in {f["code"] for f in theirs["findings"]}
        made = await scene.mallory.post(
            "/v1/bundles",
            json={"reference_id": "EVR-M-2", "as_of": AS_OF.isoformat(), "format": "zip"},
        )
        bundle = await finished(scene.mallory, made.headers["location"])
        archive = (await scene.mallory.get(bundle["files"][0]["href"])).content
        for name, text in bundle_texts(archive, tmp_path).items():
            assert "order:alice/" not in text, name
            assert SHARED_ORDER not in text, name


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
    from tracking.cli import app

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
    assert pulled.exit_code == 0, pulled.output
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


def test_every_string_written_to_the_database_is_scrubbed(
    sqlite_url: str, make_engine: Any
) -> None:
    """Whatever path a secret takes to the database (here a failure message), it is scrubbed."""
    from tracking.domain import CarrierFailure, ErrorKind, NumberResult
    from tracking.redaction import register_secrets
    from tracking.repository import store_results

    engine = make_engine(sqlite_url)
    register_secrets(["pushToken-Live-42", "acct-7788"])
    basic = base64.b64encode(b"acct-7788:pushToken-Live-42").decode()
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO shipments (tenant, carrier, tracking_number, role, carrier_name, "
                "state, carrier_status, final, poll_count, created_at) VALUES ('t', '17track', "
                "'LP1', 'origin', '', 'new', '', 0, 0, '2026-11-01 00:00:00')"
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


# -- data stored before isolation (migration 0006) ---------------------------------------------

_LEGACY = """
INSERT INTO orders (id, tenant, order_id, marketplace, order_date, tracking_number, carrier,
  carrier_declared, carrier_source, destination_country, destination_postal_code,
  destination_city, currency, shipment_id, source, created_at, updated_at) VALUES
 (1, 'alice', 'JO-1', '', '2026-11-01 00:00:00', 'LP1', 'cainiao', '', 'declared', 'RU', '', '',
  '', 1, '', '2026-11-01 00:00:00', '2026-11-01 00:00:00'),
 (2, 'alice', 'JO-2', '', '2026-11-01 00:00:00', 'LP2', 'cainiao', '', 'declared', 'RU', '', '',
  '', 2, '', '2026-11-01 00:00:00', '2026-11-01 00:00:00'),
 (3, 'mallory', 'M-1', '', '2026-11-01 00:00:00', 'LP1', 'cainiao', '', 'declared', 'RU', '', '',
  '', 1, '', '2026-11-01 00:00:00', '2026-11-01 00:00:00'),
 (4, 'mallory', 'M-2', '', '2026-11-01 00:00:00', 'LP3', 'cainiao', '', 'declared', 'RU', '', '',
  '', 3, '', '2026-11-01 00:00:00', '2026-11-01 00:00:00')
"""


def test_migration_gives_each_tenant_its_own_shipment_and_hides_mixed_batches(
    db_url: str,
) -> None:
    """A database filled before isolation: the shared shipment stays with its first tenant,
    the other gets a fresh one, and a batch that mixed both tenants' numbers is nobody's."""
    from alembic import command
    from alembic.config import Config

    from tracking.storage import migrate

    engine = sa.create_engine(db_url)
    config = Config()
    config.set_main_option(
        "script_location", str(Path(__file__).resolve().parent.parent / "tracking/migrations")
    )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        shipments = [
            (1, "LP1", None, "origin"),
            (2, "LP2", None, "origin"),
            (3, "LP3", None, "origin"),
            (4, "RR1", 1, "last_mile"),
        ]
        for sid, number, parent, role in shipments:
            connection.execute(
                sa.text(
                    "INSERT INTO shipments (id, carrier, tracking_number, parent_id, role, "
                    "carrier_name, state, carrier_status, final, poll_count, created_at) VALUES "
                    "(:id, 'cainiao', :n, :p, :r, '', 'tracking', '', false, 1, "
                    "'2026-11-01 00:00:00')"
                ),
                {"id": sid, "n": number, "p": parent, "r": role},
            )
        connection.execute(sa.text(_LEGACY))
        connection.execute(
            sa.text(
                "INSERT INTO exchange_bodies (sha256, size, encoding, data) VALUES "
                "('b1', 1, 'identity', :d), ('b2', 1, 'identity', :d)"
            ),
            {"d": b"x"},
        )
        connection.execute(
            sa.text(
                "INSERT INTO exchanges (id, carrier, adapter_version, method, url, status, "
                "headers, body_sha256, fetched_at) VALUES "
                "(1, 'cainiao', 'v', 'GET', 'u?LP1,LP2', 200, '[]', 'b1', '2026-11-02 00:00:00'),"
                "(2, 'cainiao', 'v', 'GET', 'u?LP1,LP3', 200, '[]', 'b2', '2026-11-02 00:00:00')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO exchange_shipments (exchange_id, shipment_id) VALUES "
                "(1, 1), (1, 2), (2, 1), (2, 3)"
            )
        )
        if engine.dialect.name == "postgresql":  # rows inserted with explicit ids
            for table in ("shipments", "orders", "exchanges"):
                connection.execute(sa.text(f"SELECT setval('{table}_id_seq', 100)"))
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT o.order_id, s.id, s.tenant, s.state FROM orders o "
                "JOIN shipments s ON s.id = o.shipment_id ORDER BY o.id"
            )
        ).all()
        leg = connection.execute(sa.text("SELECT tenant FROM shipments WHERE id = 4")).scalar()
        owners = dict(connection.execute(sa.text("SELECT id, tenant FROM exchanges")).all())
    by_order = {order_id: (sid, tenant, state) for order_id, sid, tenant, state in rows}
    assert by_order["JO-1"] == (1, "alice", "tracking")
    assert by_order["JO-2"] == (2, "alice", "tracking")
    assert by_order["M-2"] == (3, "mallory", "tracking")
    sid, tenant, state = by_order["M-1"]
    assert (tenant, state) == ("mallory", "new")  # fetched again by Mallory's next pull
    assert sid not in (1, 2, 3, 4)
    assert leg == "alice"
    assert owners == {1: "alice", 2: None}
    engine.dispose()


# -- tenants' own carrier accounts -------------------------------------------------------------


async def test_a_tenants_own_carrier_account_serves_its_numbers_only(
    tmp_path: Path, monkeypatch: Any, make_engine: Any
) -> None:
    """Alice's YunExpress account is used for her numbers; Bob falls back to the server's;
    neither set of credentials is stored."""
    from carriers.registry import all_carriers
    from tracking.config import Settings
    from tracking.pipeline import pull
    from tracking.policies import POLICIES

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
    from tracking.exceptions import ConfigError
    from tracking.tenant_carriers import read_tenant_credentials

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
    from tracking.redaction import redact, register_secrets

    register_secrets(["100254", "ab12cd34ef", "Live-Key-9Q7"])
    for text in ("LP00100254CN", "ab12cd34ef" + "0" * 54, "order 100254"):
        assert redact(text, params=False) == text
    assert redact("key Live-Key-9Q7 refused", params=False) == "key [REDACTED] refused"

"""Attacks of one tenant on another through the real API app (issue 15, findings 1 and 2).

Alice (a seller) imports Cainiao orders and pulls; the carrier batches her numbers. Mallory,
another tenant of the same server, learns one of Alice's tracking numbers, imports it as her
own order and pulls. She must learn nothing of Alice beyond what the carrier tells anyone who
has the number: not Alice's other numbers, order ids or store name, not her exchanges; and
Alice's verdicts and webhooks must not move. Every test here failed before tenant isolation
(`tracking.store.isolation`). Secrets: `tests/test_attack_secrets.py`.
"""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
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
from tracking.store.isolation import set_group

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
            json={
                "reference_id": "EVR-M-1",
                "as_of": AS_OF.isoformat(),
                "format": "zip",
                # cited whatever its verdict: the reviewer's files are the ones to search
                "include": [scene.mallory_order],
            },
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

    from tracking.store.migrate import migrate

    engine = sa.create_engine(db_url)
    config = Config()
    config.set_main_option(
        "script_location", str(Path(__file__).resolve().parent.parent / "tracking/store/migrations")
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

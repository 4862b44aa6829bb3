"""17TRACK pushes: the `sign` check, the endpoint (stored as an exchange, orders judged
again in every tenant) and `track-evidence parse` on push bodies and refused shapes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from carriers.track17.push import push_sign, verify_push
from tracking.api.app import create_app
from tracking.api.context import ApiOptions
from tracking.cli.app import app as cli
from tracking.core.config import Settings
from tracking.fetch.pushes import PUSH_URL
from tracking.judge.policies import resolve_policy
from tracking.store.engine import transaction
from tracking.store.orders import upsert_orders
from tracking.store.verdicts import recompute_verdicts

KEY = "doc-example-key"  # invented
NUMBER = "RR123456789CN"
STOPPED = (
    b'{"event":"TRACKING_STOPPED","data":{"number":"RR123456789CN","carrier":3011,'
    b'"param":null,"tag":null}}'
)
ORDER_DATE = datetime(2026, 9, 28, 9, 0, tzinfo=UTC)

runner = CliRunner()


def _event(when: str, local: str, text: str, stage: str | None, country: str) -> dict[str, Any]:
    return {
        "time_iso": local,
        "time_utc": when,
        "description": text,
        "location": "",
        "stage": stage,
        "address": {
            "country": country,
            "state": None,
            "city": None,
            "street": None,
            "postal_code": None,
            "coordinates": {"longitude": None, "latitude": None},
        },
    }


def _push_body(number: str = NUMBER) -> bytes:
    """A `TRACKING_UPDATED` push in the shape of 17TRACK's documented example, invented
    values: China Post to Germany, delivered; per-event stages null except delivery, as in
    17TRACK's examples, so departure and arrival come from `milestone[]`."""
    times = {
        "PickedUp": ("2026-10-01T03:20:00Z", "2026-10-01T11:20:00+08:00"),
        "Departure": ("2026-10-03T16:05:00Z", "2026-10-04T00:05:00+08:00"),
        "Arrival": ("2026-10-06T07:45:00Z", "2026-10-06T09:45:00+02:00"),
        "Delivered": ("2026-10-09T10:30:00Z", "2026-10-09T12:30:00+02:00"),
    }
    events = [  # newest first
        _event(*times["Delivered"], "Zugestellt, Empfänger angetroffen", "Delivered", "DE"),
        _event(*times["Arrival"], "Sendung im Paketzentrum 77", None, "DE"),
        _event(*times["Departure"], "Handed to carrier, batch 5521", None, "CN"),
        _event(*times["PickedUp"], "Item accepted", "PickedUp", "CN"),
    ]
    milestones = [
        {
            "key_stage": key,
            "time_iso": times[key][1] if key in times else None,
            "time_utc": times[key][0] if key in times else None,
        }
        for key in (
            "InfoReceived",
            "PickedUp",
            "Departure",
            "Arrival",
            "AvailableForPickup",
            "OutForDelivery",
            "Delivered",
            "Returning",
            "Returned",
        )
    ]
    data = {
        "number": number,
        "carrier": 3011,
        "param": None,
        "tag": None,
        "track_info": {
            "shipping_info": {
                "shipper_address": {"country": "CN"},
                "recipient_address": {"country": "DE"},
            },
            "latest_status": {
                "status": "Delivered",
                "sub_status": "Delivered_Other",
                "sub_status_descr": None,
            },
            "latest_event": events[0],
            "milestone": milestones,
            "misc_info": {"local_number": None, "local_provider": None, "local_key": 0},
            "tracking": {
                "providers_hash": 1,
                "providers": [
                    {
                        "provider": {"key": 3011, "name": "China Post", "country": "CN"},
                        "service_type": None,
                        "latest_sync_status": "Success",
                        "latest_sync_time": "2026-10-09T11:00:00Z",
                        "events_hash": 2,
                        "events": events,
                    }
                ],
            },
        },
    }
    return json.dumps({"event": "TRACKING_UPDATED", "data": data}, indent=4).encode()


# -- the sign --------------------------------------------------------------------------------


def test_sign_is_sha256_hex_of_the_raw_body_a_slash_and_the_key() -> None:
    # Expected digest computed outside Python: printf '%s' '<body>/<key>' | sha256sum
    expected = "d97e10d35e17176c518f856a6d9f3581b14482e6054eec50028238d7bcb0296b"
    assert push_sign(STOPPED, KEY) == expected
    assert verify_push(STOPPED, expected, [KEY])
    assert verify_push(STOPPED, expected.upper(), [KEY])  # hex case carries no meaning
    assert verify_push(STOPPED, expected, ["an-older-key", KEY])  # during a key change
    assert not verify_push(STOPPED, expected, ["another-key"])
    assert not verify_push(STOPPED + b" ", expected, [KEY])  # the raw bytes, exactly
    assert not verify_push(STOPPED, "", [KEY])


# -- the endpoint ----------------------------------------------------------------------------


def _seed(engine: sa.Engine) -> list[int]:
    """Two tenants' orders using the same 17TRACK number; their primary keys."""
    now = datetime.now(UTC)
    orders = [
        {
            "tenant": tenant,
            "order_id": order_id,
            "marketplace": "Joom",
            "order_date": ORDER_DATE,
            "ship_date": None,
            "tracking_number": NUMBER,
            "carrier": "17track",
            "carrier_declared": "",
            "carrier_source": "detected",
            "destination_country": "DE",
            "destination_postal_code": "",
            "destination_city": "",
            "order_value": None,
            "currency": "",
            "source": "test",
            "last_run_id": "r1",
            "created_at": now,
            "updated_at": now,
            "_shipment_key": (tenant, "17track", NUMBER),
        }
        for tenant, order_id in (("shop", "A1"), ("other-shop", "B7"))
    ]
    with transaction(engine) as connection:
        upsert_orders(
            connection,
            orders=orders,
            shipments=[(o["tenant"], "17track", NUMBER) for o in orders],
        )
        ids = [pk for (pk,) in connection.execute(sa.text("SELECT id FROM orders ORDER BY id"))]
    as_of = ORDER_DATE + timedelta(days=20)
    policy = resolve_policy("default")
    recompute_verdicts(engine, order_ids=ids, as_of=as_of, policy=policy, now=as_of)
    return ids


def _verdicts(engine: sa.Engine) -> dict[int, tuple[str, dict[str, Any]]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT order_pk, status, milestones FROM verdicts"))
        return {pk: (status, json.loads(m)) for pk, status, m in rows}


def _exchanges(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT url, body_sha256 FROM exchanges"))
        return [(url, sha) for url, sha in rows]


@asynccontextmanager
async def _api(engine: sa.Engine, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    options = ApiOptions(data_dir=tmp_path / "data", run_jobs=False, deliver_webhooks=False)
    app = create_app(Settings(_env_file=None), engine=engine, options=options)  # type: ignore[call-arg]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.test"
        ) as http,
    ):
        yield http


async def test_a_signed_push_is_stored_and_judges_every_order_using_the_number(
    db_url: str,
    make_engine: Callable[[str], sa.Engine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_17TRACK__TOKEN", KEY)
    engine = make_engine(db_url)
    ids = _seed(engine)
    before = _verdicts(engine)
    assert {status for status, _ in before.values()} != {"pass"}
    body = _push_body()
    async with _api(engine, tmp_path) as http:
        response = await http.post(
            "/v1/carriers/17track/push",
            content=body,
            headers={"content-type": "application/json", "sign": push_sign(body, KEY)},
        )
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert (receipt["event"], receipt["number"], receipt["orders_judged"]) == (
        "TRACKING_UPDATED",
        NUMBER,
        2,
    )
    # one stored body, one exchange row for each tenant tracking the number: an exchange is
    # served only to its own tenant (tracking.store.isolation)
    sha = hashlib.sha256(body).hexdigest()
    assert _exchanges(engine) == [(PUSH_URL, sha)] * 2
    with engine.connect() as connection:
        owners = connection.execute(sa.text("SELECT tenant FROM exchanges ORDER BY tenant"))
        assert [t for (t,) in owners] == ["other-shop", "shop"]
    after = _verdicts(engine)
    for pk in ids:  # both tenants' orders, each proven by the pushed exchange
        _, milestones = after[pk]
        for name in ("departed_origin", "arrived_destination", "delivered"):
            assert milestones[name]["exchange"] == sha, (name, milestones)
        assert after[pk] != before[pk]
    assert KEY not in json.dumps(after)


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        pytest.param({}, "no `sign` header", id="missing"),
        pytest.param({"sign": "0" * 64}, "does not match", id="wrong"),
        pytest.param({"sign": push_sign(b"another body", KEY)}, "does not match", id="other"),
    ],
)
async def test_an_unsigned_or_wrongly_signed_push_is_refused_and_nothing_stored(
    sqlite_url: str,
    make_engine: Callable[[str], sa.Engine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
    detail: str,
) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_17TRACK__TOKEN", KEY)
    engine = make_engine(sqlite_url)
    _seed(engine)
    before = _verdicts(engine)
    async with _api(engine, tmp_path) as http:
        response = await http.post(
            "/v1/carriers/17track/push", content=_push_body(), headers=headers
        )
    assert response.status_code == 401
    assert detail in response.json()["detail"]
    assert _exchanges(engine) == []
    assert _verdicts(engine) == before


async def test_pushes_without_a_configured_key_are_refused_as_not_set_up(
    sqlite_url: str, make_engine: Callable[[str], sa.Engine], tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    body = _push_body()
    async with _api(engine, tmp_path) as http:
        response = await http.post(
            "/v1/carriers/17track/push", content=body, headers={"sign": push_sign(body, KEY)}
        )
    assert response.status_code == 404
    assert "TRACK_EVIDENCE_17TRACK__TOKEN" in response.json()["detail"]


async def test_a_signed_v1_push_is_refused_by_name_and_a_stopped_one_kept_as_evidence(
    sqlite_url: str,
    make_engine: Callable[[str], sa.Engine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_17TRACK__PUSH_KEY", KEY)
    engine = make_engine(sqlite_url)
    _seed(engine)
    v1 = json.dumps(
        {"event": "TRACKING_UPDATED", "data": {"number": NUMBER, "track": {"e": 10, "z1": []}}}
    ).encode()
    async with _api(engine, tmp_path) as http:
        refused = await http.post(
            "/v1/carriers/17track/push", content=v1, headers={"sign": push_sign(v1, KEY)}
        )
        stopped = await http.post(
            "/v1/carriers/17track/push", content=STOPPED, headers={"sign": push_sign(STOPPED, KEY)}
        )
    assert refused.status_code == 422
    assert "17TRACK API v1 push" in refused.json()["detail"]
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["orders_judged"] == 0
    assert [url for url, _ in _exchanges(engine)] == [PUSH_URL] * 2  # kept for each tenant


# -- parse -----------------------------------------------------------------------------------


def test_parse_reads_push_bodies(tmp_path: Path) -> None:
    updated, stopped = tmp_path / "updated.json", tmp_path / "stopped.json"
    updated.write_bytes(_push_body())
    stopped.write_bytes(STOPPED)
    result = runner.invoke(cli, ["parse", "--carrier", "17track", str(updated), "--json"])
    assert result.exit_code == 0, result.output
    item = json.loads(result.stdout)
    assert item["milestones"] == {
        "departed_origin": "2026-10-03T16:05:00Z",
        "arrived_destination": "2026-10-06T07:45:00Z",
        "delivered": "2026-10-09T10:30:00Z",
    }
    assert item["final"] is True
    result = runner.invoke(cli, ["parse", "--carrier", "17track", str(stopped)])
    assert result.exit_code == 0, result.output
    assert "TRACKING_STOPPED" in result.stdout


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(
            {"code": 0, "data": {"accepted": [{"number": NUMBER, "track": {"z0": {}, "z1": []}}]}},
            "17TRACK API v1",
            id="api-v1",
        ),
        pytest.param({"ret": 1, "msg": "Ok", "g": "x", "dat": []}, "web tracking API", id="web"),
        pytest.param({"code": 0, "data": []}, "`data` is a list", id="generic"),
        pytest.param(
            {"code": 0, "data": {"accepted": [], "rejected": []}}, "no tracking", id="empty"
        ),
    ],
)
def test_parse_refuses_loudly_with_exit_1(tmp_path: Path, body: Any, named: str) -> None:
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps(body), encoding="utf-8")
    result = runner.invoke(cli, ["parse", "--carrier", "17track", str(raw)])
    assert result.exit_code == 1
    assert named in result.output
    assert "Input should be" not in result.output
    assert "Traceback" not in result.output

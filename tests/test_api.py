"""The HTTP API: keys and tenants, problem details, imports, jobs, evidence, bundles, webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from carriers.registry import all_carriers
from tests.test_pull import AS_OF, write_orders
from tracking.api import (
    SIGNATURE_HEADER,
    ApiOptions,
    create_app,
    create_key,
    list_keys,
    revoke_key,
    sign,
    verify_signature,
)
from tracking.api.orders_import import import_orders
from tracking.core.config import Settings
from tracking.core.exceptions import InputError
from tracking.evidence import verify_bundle
from tracking.sandbox.server import SandboxOptions, SandboxServer
from tracking.store.jobs import claim_jobs, create_job, finish_job, get_job
from tracking.store.tables import ApiKeyRecord, VerdictHistory
from tracking.store.webhook_events import emit_verdict_changes, init_verdict_cursor
from tracking.store.webhooks import create_webhook

PROBLEM = "application/problem+json"
FAST = (timedelta(milliseconds=20), timedelta(milliseconds=20))


# -- harness ---------------------------------------------------------------------------------


@dataclass
class Receiver:
    """The appeal builder's webhook endpoint, in process: records requests, answers `status`."""

    status: int = 200
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, text="thanks" if self.status < 300 else "broken")

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [
            json.loads(r.content)
            for r in self.requests
            if r.headers["X-TrackEvidence-Event"] == kind
        ]


def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def make_app(
    engine: sa.Engine,
    tmp_path: Path,
    *,
    receiver: Receiver | None = None,
    schedule: tuple[timedelta, ...] = FAST,
    **changes: Any,
) -> FastAPI:
    carriers = all_carriers()
    options = ApiOptions(
        data_dir=tmp_path / "data",
        job_poll_seconds=0.05,
        webhook_poll_seconds=0.05,
        webhook_schedule=schedule,
        webhook_transport=(receiver or Receiver()).transport,
        fetcher_options={"rate_overrides": dict.fromkeys(carriers, 500.0)},
        **changes,
    )
    sandbox = SandboxServer(carriers, SandboxOptions(now=AS_OF, enforce_limits=False))
    return create_app(settings(), engine=engine, network=sandbox.network(), options=options)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """The app's lifespan (engine, job runner, webhook dispatcher) around a block."""
    async with app.router.lifespan_context(app):
        yield


def client(app: FastAPI, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test", headers=headers
    )


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def finished(http: httpx.AsyncClient, href: str) -> dict[str, Any]:
    """Poll a job until it ends; its last state."""
    state: dict[str, Any] = {}

    async def done() -> bool:
        state.update((await http.get(href)).json())
        return state["status"] in ("succeeded", "partial", "failed")

    await eventually(done, seconds=60)
    return state


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status"} <= set(body)
    assert "Traceback" not in response.text
    return body


@pytest.fixture
def engine(sqlite_url: str, make_engine: Any) -> sa.Engine:
    engine: sa.Engine = make_engine(sqlite_url)
    return engine


@pytest.fixture
def any_engine(db_url: str, make_engine: Any) -> sa.Engine:
    """A fresh database on SQLite, and on PostgreSQL when it runs."""
    engine: sa.Engine = make_engine(db_url)
    return engine


CSV_GOOD_AND_BAD = (
    "order_id,order_date,carrier,tracking_number,country\n"
    "A-1,2026-10-01 10:00,Cainiao,LP00123456789012,RU\n"
    ",2026-10-01 10:00,Cainiao,LP00123456789013,RU\n"
    "A-3,not a date,Cainiao,LP00123456789014,RU\n"
    "A-4,2026-10-02 10:00,Cainiao,LP00123456789015,Atlantis\n"
    "A-5,2026-10-03 10:00,Cainiao,LP00123456789016,DE\n"
)


# -- auth and problems -----------------------------------------------------------------------


async def test_no_key_is_401(engine: sa.Engine, tmp_path: Path) -> None:
    app = make_app(engine, tmp_path)
    async with running(app), client(app) as http:
        response = await http.get("/v1/orders")
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert body["instance"] == "/v1/orders"
        assert_problem(await http.post("/v1/pulls", json={}), 401)
        assert_problem(await http.get("/v1/orders", headers={"Authorization": "Basic eDp5"}), 401)


async def test_unknown_and_revoked_keys_are_401(any_engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(any_engine, "shop-a")
    app = make_app(any_engine, tmp_path)
    async with running(app):
        async with client(app, key) as http:
            assert (await http.get("/v1/orders")).status_code == 200
        async with client(app, key[:-1] + ("A" if key[-1] != "A" else "B")) as http:
            assert_problem(await http.get("/v1/orders"), 401)
        async with client(app, "te_live_") as http:
            assert_problem(await http.get("/v1/orders"), 401)
        (info,) = list_keys(any_engine, "shop-a")
        assert revoke_key(any_engine, info.id)
        async with client(app, key) as http:
            body = assert_problem(await http.get("/v1/orders"), 401)
            assert "revoked" in body["detail"]


def test_keys_are_stored_hashed_and_listed_without_the_key(engine: sa.Engine) -> None:
    key = create_key(engine, "shop-a", name="appeal builder")
    other = create_key(engine, "shop-b")
    assert key.startswith("te_live_")
    assert len(key) >= 40
    assert key != other
    table = ApiKeyRecord.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        stored = [dict(r._mapping) for r in connection.execute(sa.select(table))]
    assert key not in json.dumps(stored, default=str)
    assert {r["key_sha256"] for r in stored} == {
        hashlib.sha256(k.encode()).hexdigest() for k in (key, other)
    }
    (info,) = list_keys(engine, "shop-a")
    assert key.startswith(info.prefix)
    assert info.name == "appeal builder"
    assert info.revoked_at is None
    assert len(list_keys(engine)) == 2
    assert revoke_key(engine, info.id)
    assert revoke_key(engine, info.id)
    assert not revoke_key(engine, "key_missing")
    assert list_keys(engine, "shop-a")[0].revoked_at is not None
    with pytest.raises(InputError):
        create_key(engine, "  ")


async def test_every_error_is_a_problem(engine: sa.Engine, tmp_path: Path) -> None:
    app = make_app(engine, tmp_path)
    key = create_key(engine, "shop-a")
    async with running(app), client(app, key) as http:
        assert_problem(await http.get("/v1/nothing-here"), 404)
        assert_problem(await http.get("/nowhere"), 404)
        not_allowed = await http.patch("/v1/webhooks/wh_1")
        assert_problem(not_allowed, 405)
        assert not_allowed.headers["allow"] == "GET, DELETE"
        body = assert_problem(await http.get("/v1/orders", params={"verdicts": "pass"}), 422)
        assert "verdicts" in body["detail"]
        body = assert_problem(await http.get("/v1/orders", params={"limit": 0}), 422)
        assert body["errors"][0]["loc"] == ["query", "limit"]
        assert_problem(await http.post("/v1/pulls", json={"window_days": "many"}), 422)
        assert_problem(await http.post("/v1/pulls", json={"policy": "nope"}), 422)
        assert_problem(await http.post("/v1/pulls", content=b"{", headers=_json()), 422)
        assert_problem(await http.get("/v1/orders", params={"cursor": "garbage!"}), 422)
        assert_problem(await http.get("/v1/exchanges/not-a-digest"), 422)
        assert_problem(await http.get("/v1/pulls/unknown"), 404)
        assert_problem(await http.post("/v1/orders", content=b"x", headers=_type("image/png")), 415)


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def _type(media: str) -> dict[str, str]:
    return {"Content-Type": media}


def test_openapi_shows_every_error_as_a_problem(engine: sa.Engine, tmp_path: Path) -> None:
    schema = make_app(engine, tmp_path).openapi()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    errors = 0
    for path, operations in schema["paths"].items():
        assert path.startswith("/v1/")
        for operation in operations.values():
            assert "401" in operation["responses"], path
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    errors += 1
                    assert list(response["content"]) == [PROBLEM], (path, code)
    assert errors > 20


# -- imports ---------------------------------------------------------------------------------


async def test_csv_upload_reports_every_bad_row(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    async with running(app), client(app, key) as http:
        response = await http.post(
            "/v1/orders", content=CSV_GOOD_AND_BAD.encode(), headers=_type("text/csv")
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["rows_read"], result["rows_accepted"], result["rows_rejected"]) == (5, 2, 3)
        assert [r["order_id"] for r in result["accepted"]] == ["A-1", "A-5"]
        rejected = {r["row"]: r for r in result["rejected"]}
        assert set(rejected) == {3, 4, 5}
        assert rejected[3]["column"]
        assert rejected[3]["reason"]
        assert "not a date" in rejected[4]["value"]
        assert rejected[4]["index"] is None
        assert "Atlantis" in rejected[5]["value"]

        form = await http.post(
            "/v1/orders", files={"file": ("orders.csv", CSV_GOOD_AND_BAD.encode(), "text/csv")}
        )
        assert form.status_code == 200, form.text
        assert form.json()["rejected"] == result["rejected"]

        items = [
            {
                "order_id": "J-1",
                "order_date": "2026-10-05T08:00:00+08:00",
                "tracking_number": "LP00123456789099",
                "destination_country": "DE",
                "carrier": "Cainiao",
                "order_value": 12.5,
                "currency": "USD",
            },
            {"order_id": "J-2", "order_date": "2026-10-05", "tracking_number": "X"},
        ]
        json_result = (await http.post("/v1/orders", json=items)).json()
        assert json_result["rows_accepted"] == 1
        (bad,) = json_result["rejected"]
        assert bad["index"] == 1
        assert bad["reason"]
        assert (await http.post("/v1/orders", json=[])).json()["rows_read"] == 0
        body = assert_problem(await http.post("/v1/orders", json=[{"order_id": 1}]), 422)
        assert body["errors"][0]["loc"][:3] == ["body", 0, "order_id"]
        assert_problem(await http.post("/v1/orders", json={"orders": []}), 422)
        assert_problem(
            await http.post("/v1/orders", content=b"\x89PNG\r\n\x1a\n", headers=_type("text/csv")),
            422,
        )
        assert_problem(await http.post("/v1/orders", content=b"", headers=_type("text/csv")), 422)

        listed = (await http.get("/v1/orders")).json()
        assert {o["order_id"] for o in listed["items"]} == {"A-1", "A-5", "J-1"}
        assert all(o["verdict"] is None for o in listed["items"])


async def test_rows_of_another_store_are_rejected(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    csv_text = (
        "store,order_id,order_date,tracking_number,country\n"
        "shop-a,S-1,2026-10-01,LP00123456789012,RU\n"
        "shop-b,S-2,2026-10-01,LP00123456789013,RU\n"
    )
    async with running(app), client(app, key) as http:
        result = (
            await http.post("/v1/orders", content=csv_text.encode(), headers=_type("text/csv"))
        ).json()
    assert result["rows_accepted"] == 1
    (bad,) = result["rejected"]
    assert bad["row"] == 3
    assert bad["column"] == "store"
    assert "shop-b" in bad["reason"]
    with engine.connect() as connection:
        tenants = connection.execute(sa.text("SELECT DISTINCT tenant FROM orders")).scalars()
        assert list(tenants) == ["shop-a"]


async def test_upload_size_is_limited(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path, max_upload_bytes=100)
    async with running(app), client(app, key) as http:
        response = await http.post(
            "/v1/orders", content=CSV_GOOD_AND_BAD.encode(), headers=_type("text/csv")
        )
        assert_problem(response, 413)


# -- end to end: pull, evidence, summary, bundle; tenants never see each other ---------------


async def test_pull_evidence_bundle_and_tenant_isolation(
    db_url: str, make_engine: Any, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, ["cainiao", "yunexpress"], per_scenario=1)
    key_a, key_b = create_key(engine, "shop-a"), create_key(engine, "shop-b")
    app = make_app(engine, tmp_path)
    async with running(app), client(app, key_a) as a, client(app, key_b) as b:
        imported = await a.post(
            "/v1/orders", content=orders.read_bytes(), headers=_type("text/csv")
        )
        assert imported.json()["rows_accepted"] == len(expected)

        started = await a.post("/v1/pulls", json={"as_of": AS_OF.isoformat()})
        assert started.status_code == 202
        assert started.headers["location"] == f"/v1/pulls/{started.json()['id']}"
        pull = await finished(a, started.headers["location"])
        assert pull["status"] == "succeeded", pull
        assert pull["result"]["orders_in_window"] == len(expected)
        assert set(pull["progress"]["carriers"]) == {"cainiao", "yunexpress", "17track"}
        verdicts = {k: v for k, v in expected.items()}
        got: dict[str, str] = {}
        page = await a.get("/v1/orders", params={"limit": 4})
        while True:
            body = page.json()
            got.update({o["order_id"]: o["verdict"] for o in body["items"]})
            if body["next_cursor"] is None:
                break
            page = await a.get("/v1/orders", params={"limit": 4, "cursor": body["next_cursor"]})
        assert got == verdicts
        passing = (await a.get("/v1/orders", params={"verdict": "pass"})).json()["items"]
        assert {o["order_id"] for o in passing} == {k for k, v in verdicts.items() if v == "pass"}
        yun = (await a.get("/v1/orders", params={"carrier": "yunexpress"})).json()["items"]
        assert {o["carrier"] for o in yun} == {"yunexpress"}
        recent = await a.get(
            "/v1/orders", params={"window_days": 1, "as_of": "2020-01-01T00:00:00Z"}
        )
        assert recent.json()["items"] == []

        evidence = (await a.get("/v1/orders/cainiao-multi_leg-0/evidence")).json()
        assert evidence["verdict"]["status"] == verdicts["cainiao-multi_leg-0"]
        assert [m["stage"] for m in evidence["milestones"]] == [
            "departed_origin",
            "arrived_destination",
            "delivered",
        ]
        assert {m["status"] for m in evidence["milestones"]} <= {"explicit", "inferred"}
        assert len(evidence["legs"]) == 2
        assert evidence["legs"][1]["role"] == "last_mile"
        assert evidence["events"]
        assert evidence["exchanges"]
        cited = {e["exchange_sha256"] for e in evidence["events"]}
        assert cited <= {x["sha256"] for x in evidence["exchanges"]}
        exchange = evidence["exchanges"][0]
        raw = await a.get(exchange["href"])
        assert raw.status_code == 200
        assert hashlib.sha256(raw.content).hexdigest() == exchange["sha256"]
        assert raw.headers["content-type"].split(";")[0] == exchange["content_type"].split(";")[0]
        assert raw.headers["x-content-type-options"] == "nosniff"

        summary = (
            await a.get("/v1/summary", params={"window_days": 90, "as_of": AS_OF.isoformat()})
        ).json()
        assert summary["orders"] == len(expected)
        assert summary["verdicts"] == {
            s: sum(v == s for v in verdicts.values()) for s in ("pass", "fail", "pending")
        }
        assert summary["headline"].endswith(f"of {len(expected)} orders have all three milestones")
        assert sum(f["orders"] for f in summary["by_carrier"]) == len(expected)

        made = await a.post(
            "/v1/bundles", json={"reference_id": "EVR-2026-0001", "as_of": AS_OF.isoformat()}
        )
        assert made.status_code == 202
        bundle = await finished(a, made.headers["location"])
        assert bundle["status"] == "succeeded", bundle
        # upload/ cites the orders that pass; the precheck covers every order
        assert bundle["orders"] == sum(1 for v in verdicts.values() if v == "pass")
        assert bundle["orders_skipped"] == 0
        paths = {f["path"]: f for f in bundle["files"]}
        assert "manifest.json" in paths
        assert "upload/00-summary.pdf" in paths
        assert "precheck/precheck.pdf" in paths
        pdf = await a.get(paths["upload/00-summary.pdf"]["href"])
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(pdf.content).hexdigest() == paths["upload/00-summary.pdf"]["sha256"]
        bundle_path = tmp_path / "data" / "bundles" / bundle["id"] / "bundle"
        assert verify_bundle(bundle_path).ok
        for sneaky in ("../../../etc/passwd", "..%2F..%2Fmanifest.json", "%2e%2e/bundle.db"):
            response = await a.get(f"/v1/bundles/{bundle['id']}/files/{sneaky}")
            assert response.status_code == 404

        # Another tenant sees none of it.
        assert (await b.get("/v1/orders")).json()["items"] == []
        assert_problem(await b.get("/v1/orders/cainiao-multi_leg-0/evidence"), 404)
        assert_problem(await b.get(exchange["href"]), 404)
        assert_problem(await b.get(started.headers["location"]), 404)
        assert_problem(await b.get(made.headers["location"]), 404)
        assert_problem(await b.get(paths["manifest.json"]["href"]), 404)
        assert (await b.get("/v1/summary")).json()["orders"] == 0
        # A tenant that imports the same tracking number still never gets A's exchange: its
        # own pull asks the carrier with a request of its own (tracking.store.isolation).
        shared = [
            {
                "order_id": "B-1",
                "order_date": "2026-11-01",
                "tracking_number": evidence["order"]["tracking_number"],
                "destination_country": evidence["order"]["destination_country"],
                "carrier": "Cainiao",
            }
        ]
        assert (await b.post("/v1/orders", json=shared)).json()["rows_accepted"] == 1
        assert_problem(await b.get(exchange["href"]), 404)
        assert_problem(await b.get("/v1/orders/cainiao-multi_leg-0/evidence"), 404)


async def test_zip_bundle_and_unfinished_bundle_files(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    async with running(app), client(app, key) as http:
        made = await http.post("/v1/bundles", json={"reference_id": "EVR-1", "format": "zip"})
        bundle = await finished(http, made.headers["location"])
        assert bundle["status"] == "succeeded", bundle
        assert [f["path"] for f in bundle["files"]] == ["bundle.zip"]
        download = await http.get(bundle["files"][0]["href"])
        assert download.status_code == 200
        assert download.content.startswith(b"PK")
    idle = make_app(engine, tmp_path, run_jobs=False)
    async with running(idle), client(idle, key) as http:
        queued = (await http.post("/v1/bundles", json={"reference_id": "EVR-2"})).json()
        assert queued["status"] == "queued"
        assert_problem(await http.get(f"/v1/bundles/{queued['id']}/files/manifest.json"), 409)


async def test_jobs_left_running_are_run_again_after_a_restart(
    any_engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(any_engine, "shop-a")
    idle = make_app(any_engine, tmp_path, run_jobs=False)
    async with running(idle), client(idle, key) as http:
        job = (await http.post("/v1/bundles", json={"reference_id": "EVR-3"})).json()
    with any_engine.begin() as connection:  # as if the process died while running it
        connection.execute(
            sa.text("UPDATE api_jobs SET status = 'running' WHERE id = :id"), {"id": job["id"]}
        )
    app = make_app(any_engine, tmp_path)
    async with running(app), client(app, key) as http:
        state = await finished(http, f"/v1/bundles/{job['id']}")
    assert state["status"] == "succeeded"


def test_one_job_per_tenant_and_kind_at_a_time(any_engine: sa.Engine) -> None:
    first = create_job(any_engine, tenant="shop-a", kind="pull", params={})
    second = create_job(any_engine, tenant="shop-a", kind="pull", params={})
    bundle = create_job(any_engine, tenant="shop-a", kind="bundle", params={})
    other = create_job(any_engine, tenant="shop-b", kind="pull", params={})
    claimed = {j.id for j in claim_jobs(any_engine, limit=10, kinds={"pull", "bundle"})}
    assert len(claimed & {first.id, second.id}) == 1  # the same tenant's pulls wait in turn
    assert {bundle.id, other.id} <= claimed
    assert claim_jobs(any_engine, limit=10, kinds={"pull", "bundle"}) == []
    (ran,) = claimed & {first.id, second.id}
    (waited,) = {first.id, second.id} - {ran}
    finish_job(any_engine, job_id=ran, status="succeeded", result={"ok": True})
    assert [j.id for j in claim_jobs(any_engine, limit=10, kinds={"pull"})] == [waited]
    done = get_job(any_engine, tenant="shop-a", kind="pull", job_id=ran)
    assert done is not None
    assert (done.status, done.result) == ("succeeded", {"ok": True})
    assert get_job(any_engine, tenant="shop-b", kind="pull", job_id=ran) is None


# -- webhooks --------------------------------------------------------------------------------


def test_signature_follows_the_documented_algorithm() -> None:
    secret = "whsec_test-secret"
    body = b'{"id":"evt_1","type":"bundle.ready"}'
    now = 1_790_000_000
    header = sign(secret, body, timestamp=now)
    mac = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={mac}"
    assert verify_signature(secret, header, body, now=now + 10)
    assert not verify_signature(secret, header, body + b" ", now=now)
    assert not verify_signature("whsec_other", header, body, now=now)
    assert not verify_signature(secret, header, body, now=now + 301)  # outside the replay window
    assert not verify_signature(secret, "v1=" + mac, body, now=now)
    assert not verify_signature(secret, "t=x,v1=" + mac, body, now=now)


async def test_failing_receiver_is_retried_then_a_replay_succeeds(
    any_engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(any_engine, "shop-a")
    receiver = Receiver(status=503)
    app = make_app(any_engine, tmp_path, receiver=receiver, schedule=FAST)
    async with running(app), client(app, key) as http:
        created = await http.post(
            "/v1/webhooks", json={"url": "https://builder.test/hooks", "events": ["bundle.ready"]}
        )
        assert created.status_code == 201
        hook = created.json()
        secret = hook["secret"]
        assert secret.startswith("whsec_")
        listed = (await http.get("/v1/webhooks")).json()["items"]
        assert [h["id"] for h in listed] == [hook["id"]]
        assert "secret" not in listed[0]

        made = await http.post("/v1/bundles", json={"reference_id": "EVR-9"})
        await finished(http, made.headers["location"])
        deliveries = f"/v1/webhooks/{hook['id']}/deliveries"

        async def given_up() -> bool:
            items = (await http.get(deliveries)).json()["items"]
            return bool(items) and items[0]["status"] == "failed"

        await eventually(given_up)
        (delivery,) = (await http.get(deliveries)).json()["items"]
        assert delivery["attempts"] == len(FAST) + 1
        assert delivery["last_status_code"] == 503
        detail = (await http.get(f"{deliveries}/{delivery['id']}")).json()
        assert [a["status_code"] for a in detail["log"]] == [503] * 3
        assert detail["payload"]["data"]["bundle_id"] == made.json()["id"]
        assert len(receiver.requests) == 3
        for request in receiver.requests:
            assert verify_signature(secret, request.headers[SIGNATURE_HEADER], request.content)
            assert request.headers["X-TrackEvidence-Delivery"] == delivery["id"]

        receiver.status = 200
        replay = await http.post(f"{deliveries}/{delivery['id']}/replay")
        assert replay.status_code == 202

        async def delivered() -> bool:
            state = (await http.get(f"{deliveries}/{delivery['id']}")).json()
            return bool(state["status"] == "delivered")

        await eventually(delivered)
        detail = (await http.get(f"{deliveries}/{delivery['id']}")).json()
        assert [a["manual"] for a in detail["log"]] == [False, False, False, True]
        assert detail["log"][-1]["status_code"] == 200
        last = receiver.requests[-1]
        assert verify_signature(secret, last.headers[SIGNATURE_HEADER], last.content)
        assert json.loads(last.content)["id"] == detail["event_id"]

        assert (await http.delete(f"/v1/webhooks/{hook['id']}")).status_code == 204
        assert_problem(await http.get(f"/v1/webhooks/{hook['id']}"), 404)
        assert_problem(await http.get(deliveries), 404)


async def test_a_failed_attempt_is_scheduled_with_backoff(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    receiver = Receiver(status=500)
    app = make_app(engine, tmp_path, receiver=receiver, schedule=ApiOptions().webhook_schedule)
    async with running(app), client(app, key) as http:
        hook = (await http.post("/v1/webhooks", json={"url": "http://builder.test/h"})).json()
        made = await http.post("/v1/bundles", json={"reference_id": "EVR-10"})
        await finished(http, made.headers["location"])
        deliveries = f"/v1/webhooks/{hook['id']}/deliveries"

        async def tried() -> bool:
            items = (await http.get(deliveries)).json()["items"]
            return bool(items) and items[0]["attempts"] == 1

        await eventually(tried)
        (delivery,) = (await http.get(deliveries)).json()["items"]
    assert delivery["status"] == "pending"
    wait = datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.fromisoformat(
        delivery["last_attempt_at"]
    )
    assert timedelta(minutes=1) <= wait <= timedelta(minutes=1.1)
    schedule = ApiOptions().webhook_schedule
    assert sum(schedule, timedelta()) >= timedelta(hours=24)
    assert list(schedule) == sorted(schedule)


async def test_deliveries_survive_a_restart(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    quiet = make_app(engine, tmp_path, deliver_webhooks=False)
    async with running(quiet), client(quiet, key) as http:
        hook = (await http.post("/v1/webhooks", json={"url": "https://builder.test/h"})).json()
        made = await http.post("/v1/bundles", json={"reference_id": "EVR-11"})
        await finished(http, made.headers["location"])
        (pending,) = (await http.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
        assert pending["status"] == "pending"
        assert pending["attempts"] == 0
    receiver = Receiver()
    app = make_app(engine, tmp_path, receiver=receiver)
    async with running(app), client(app, key) as http:

        async def delivered() -> bool:
            items = (await http.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
            return bool(items[0]["status"] == "delivered")

        await eventually(delivered)
    (event,) = receiver.events("bundle.ready")
    assert event["data"]["bundle_id"] == made.json()["id"]
    assert event["tenant"] == "shop-a"


async def test_verdict_changes_are_notified_once(any_engine: sa.Engine, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    expected = write_orders(orders, ["cainiao"], per_scenario=1)
    key = create_key(any_engine, "shop-a")
    receiver = Receiver()
    app = make_app(any_engine, tmp_path, receiver=receiver)
    async with running(app), client(app, key) as http:
        await http.post(
            "/v1/webhooks", json={"url": "https://builder.test/h", "events": ["verdict.changed"]}
        )
        await http.post("/v1/orders", content=orders.read_bytes(), headers=_type("text/csv"))
        for _ in range(2):
            started = await http.post("/v1/pulls", json={"as_of": AS_OF.isoformat()})
            assert (await finished(http, started.headers["location"]))["status"] == "succeeded"

        async def notified() -> bool:
            changed = receiver.events("verdict.changed")
            return sum(len(e["data"]["orders"]) for e in changed) >= len(expected)

        await eventually(notified)
        await asyncio.sleep(0.3)
    changes = [o for e in receiver.events("verdict.changed") for o in e["data"]["orders"]]
    assert {c["order_id"]: c["status"] for c in changes} == expected
    assert len(changes) == len(expected)  # the second pull changed nothing
    assert all(c["previous_status"] is None for c in changes)
    assert not receiver.events("bundle.ready")


def test_a_verdict_change_names_the_previous_status(engine: sa.Engine) -> None:
    import_orders(
        engine,
        tenant="shop-a",
        data=CSV_GOOD_AND_BAD.encode(),
        source="test.csv",
        carriers=all_carriers(),
    )
    init_verdict_cursor(engine)
    create_webhook(engine, tenant="shop-a", url="https://a.test/h", events=["verdict.changed"])
    create_webhook(engine, tenant="shop-b", url="https://b.test/h", events=["verdict.changed"])
    history = VerdictHistory.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        pk = connection.execute(sa.text("SELECT id FROM orders WHERE order_id = 'A-1'")).scalar()
        for status in ("pending", "pass"):
            connection.execute(
                sa.insert(history),
                {
                    "order_pk": pk,
                    "status": status,
                    "policy": "default",
                    "digest": status * 8,
                    "computed_at": AS_OF,
                },
            )
    assert emit_verdict_changes(engine) == 1  # one event, for shop-a's only webhook
    assert emit_verdict_changes(engine) == 0  # each change is notified once
    with engine.connect() as connection:
        (payload,) = connection.execute(
            sa.text("SELECT payload FROM api_webhook_deliveries")
        ).scalars()
    changes = json.loads(payload)["data"]["orders"]
    assert [(c["previous_status"], c["status"]) for c in changes] == [
        (None, "pending"),
        ("pending", "pass"),
    ]


# -- schema ----------------------------------------------------------------------------------


def test_migration_creates_the_api_tables_as_declared(any_engine: sa.Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    api_tables = {t for t in SQLModel.metadata.tables if t.startswith("api_")}
    assert api_tables == {
        "api_keys",
        "api_jobs",
        "api_webhooks",
        "api_webhook_deliveries",
        "api_webhook_attempts",
        "api_state",
    }
    with any_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)

    assert [d for d in diff if "api_" in repr(d)] == []


async def test_a_number_shared_with_another_store_never_names_it(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """Both stores of one seller learn their number is reused; neither learns by whom."""
    from tracking.store.isolation import set_group

    set_group(engine, group="seller-1", tenants=["shop-a", "shop-b"])
    key_a, key_b = create_key(engine, "shop-a"), create_key(engine, "shop-b")
    csv = (
        "order_id,order_date,carrier,tracking_number,country\n"
        "{oid},2026-10-01 10:00,Cainiao,LP00123456789012,RU\n"
    )
    app = make_app(engine, tmp_path)
    async with running(app), client(app, key_a) as a, client(app, key_b) as b:
        for http, oid in ((a, "SECRET-A-1"), (b, "SECRET-B-7")):
            imported = await http.post(
                "/v1/orders", content=csv.format(oid=oid).encode(), headers=_type("text/csv")
            )
            assert imported.json()["rows_accepted"] == 1
            started = await http.post("/v1/pulls", json={"as_of": AS_OF.isoformat()})
            assert (await finished(http, started.headers["location"]))["status"] == "succeeded"
        for http, mine, theirs in (
            (a, "SECRET-A-1", "SECRET-B-7"),
            (b, "SECRET-B-7", "SECRET-A-1"),
        ):
            response = await http.get(f"/v1/orders/{mine}/evidence")
            assert response.status_code == 200, response.text
            shared = [f for f in response.json()["findings"] if f["code"] == "number.shared"]
            assert shared, "the reuse must be reported"
            assert theirs not in response.text
            assert "shop-" + theirs[7].lower() not in json.dumps(shared)


def test_a_job_another_live_process_runs_is_left_alone(any_engine: sa.Engine) -> None:
    """Several API processes share the jobs table: only a dead process's jobs are re-queued."""
    from tracking.store.jobs import (
        STALE_AFTER,
        claim_jobs,
        create_job,
        get_job,
        requeue_interrupted,
    )

    job = create_job(any_engine, tenant="shop-a", kind="pull", params={})
    [running] = claim_jobs(any_engine, limit=1, kinds={"pull"})
    assert running.id == job.id
    # Another process starting now sees a fresh heartbeat: the job keeps running there.
    assert requeue_interrupted(any_engine) == 0
    got = get_job(any_engine, tenant="shop-a", kind="pull", job_id=job.id)
    assert got is not None
    assert got.status == "running"
    # Once the heartbeat is stale, the process is taken for dead and the job is queued again.
    later = datetime.now(UTC) + STALE_AFTER + timedelta(seconds=1)
    assert requeue_interrupted(any_engine, now=later) == 1
    got = get_job(any_engine, tenant="shop-a", kind="pull", job_id=job.id)
    assert got is not None
    assert got.status == "queued"

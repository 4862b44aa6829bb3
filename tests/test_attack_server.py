"""The attack run against `serve` and `verify`, as tests (issue 15: findings 3-7, 9, 10).

No network beyond 127.0.0.1 listeners these tests start themselves: webhook receivers are
asyncio servers on free ports, the memory test runs a real Uvicorn server in a subprocess.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from tracking.api import ApiOptions, create_app, create_key
from tracking.api.outbound import REFUSED, GuardedTransport
from tracking.api.webhooks import create_webhook, emit_event
from tracking.config import Settings
from tracking.storage import transaction

PROBLEM = "application/problem+json"
FAST = (timedelta(milliseconds=50),)


# -- harness ---------------------------------------------------------------------------------


def settings(**changes: Any) -> Settings:
    return Settings(_env_file=None, **changes)  # type: ignore[call-arg]


@pytest.fixture
def engine(sqlite_url: str, make_engine: Callable[[str], sa.Engine]) -> sa.Engine:
    return make_engine(sqlite_url)


def make_app(
    engine: sa.Engine, tmp_path: Path, *, config: Settings | None = None, **changes: Any
) -> FastAPI:
    options = ApiOptions(
        data_dir=tmp_path / "data",
        run_jobs=changes.pop("run_jobs", False),
        job_poll_seconds=0.05,
        webhook_poll_seconds=0.05,
        webhook_schedule=changes.pop("webhook_schedule", FAST),
        **changes,
    )
    return create_app(config or settings(), engine=engine, options=options)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        yield


def client(app: FastAPI, key: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test", headers=headers
    )


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body.get("detail")
    return body


async def eventually(check: Callable[[], Any], *, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@dataclass
class Listener:
    """A webhook receiver on 127.0.0.1: counts connections, answers as told."""

    status: int = 200
    body: bytes = b"ok"
    trickle: float | None = None  # seconds between the bytes of an endless answer
    hang: float = 0.0  # seconds to wait before answering
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            self.requests.append(head + await reader.readexactly(length))
            if self.hang:
                await asyncio.sleep(self.hang)
            if self.trickle is not None:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while True:
                    await writer.drain()
                    await asyncio.sleep(self.trickle)
                    writer.write(b".")
            writer.write(
                b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                % (self.status, len(self.body))
                + self.body
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@asynccontextmanager
async def listening(listener: Listener) -> AsyncIterator[Listener]:
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def queue_event(engine: sa.Engine, tenant: str, n: int = 1) -> None:
    from datetime import UTC, datetime

    with transaction(engine) as connection:
        for i in range(n):
            emit_event(
                connection,
                tenant=tenant,
                event_type="bundle.ready",
                data={"bundle_id": f"b{i}"},
                now=datetime.now(UTC),
            )


async def attempts(http: httpx.AsyncClient, hook_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in (await http.get(f"/v1/webhooks/{hook_id}/deliveries")).json()["items"]:
        detail = (await http.get(f"/v1/webhooks/{hook_id}/deliveries/{item['id']}")).json()
        out.extend(detail["log"])
    return out


# -- 9. no 5xx from input; deterministic `make test` -----------------------------------------


@pytest.mark.parametrize(
    "as_of",
    ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"],
)
async def test_extreme_dates_are_refused_at_the_edge(
    engine: sa.Engine, tmp_path: Path, as_of: str
) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path)
    async with running(app), client(app, key) as http:
        for path in ("/v1/summary", "/v1/orders"):
            params = {"as_of": as_of, "window_days": "30"}
            problem = assert_problem(await http.get(path, params=params), 422)
            assert "1970" in problem["detail"]
            assert "2199" in problem["detail"]
        for path, body in (
            ("/v1/pulls", {"as_of": as_of}),
            ("/v1/bundles", {"reference_id": "EVR-1", "as_of": as_of}),
        ):
            assert_problem(await http.post(path, json=body), 422)


async def test_forged_cursors_are_refused(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path, deliver_webhooks=False)

    def cursor(*parts: str) -> str:
        return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode().rstrip("=")

    async with running(app), client(app, key) as http:
        for forged in (cursor("o", "9" * 23), cursor("o", "²")):
            got = await http.get("/v1/orders", params={"cursor": forged})
            assert_problem(got, 422)
        hook = (await http.post("/v1/webhooks", json={"url": "https://hooks.example/h"})).json()
        for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
            got = await http.get(
                f"/v1/webhooks/{hook['id']}/deliveries",
                params={"cursor": cursor("d", moment, "dlv_x")},
            )
            assert_problem(got, 422)


def test_make_test_is_deterministic() -> None:
    """Fixed Hypothesis profile and schemathesis seed: a clean clone passes or fails alike."""
    from hypothesis import settings as hypothesis_settings

    from tests.test_api_schema import schema

    assert hypothesis_settings.default.derandomize
    assert hypothesis_settings.default.database is None
    assert schema.config.has_explicit_seed
    makefile = (Path(__file__).parents[1] / "Makefile").read_text(encoding="utf-8")
    assert "--hypothesis-profile=fuzz" in makefile.split("\nfuzz:", 1)[1]


# -- 3. webhook SSRF -------------------------------------------------------------------------

INTERNAL_URLS = [
    "http://127.0.0.1/h",
    "http://localhost:8080/h",
    "http://[::1]/h",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.7/h",
    "http://192.168.1.1/h",
    "http://172.16.0.1/h",
    "http://100.64.0.1/h",
    "http://0.0.0.0/h",
    "http://224.0.0.1/h",
    "http://2130706433/h",
    "http://0x7f000001/h",
    "http://127.1/h",
    "http://017700000001/h",
    "http://[::ffff:127.0.0.1]/h",
    "http://[::ffff:a9fe:a9fe]/h",
    "http://[64:ff9b::a9fe:a9fe]/h",
    "http://[fe80::1]/h",
    "http://[fd00::1]/h",
]


async def test_internal_webhook_urls_are_refused_at_registration(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path, deliver_webhooks=False)
    async with running(app), client(app, key) as http:
        for url in INTERNAL_URLS:
            got = await http.post("/v1/webhooks", json={"url": url})
            problem = assert_problem(got, 422)
            assert problem["detail"] == f"url: {REFUSED}", url
        assert (await http.get("/v1/webhooks")).json()["items"] == []


async def test_internal_targets_are_refused_at_connect_uniformly(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """A URL stored while its name resolved publicly (DNS rebinding) still never reaches
    an internal address; an open and a closed port read the same (no port scanner)."""
    key = create_key(engine, "shop-a")
    async with listening(Listener(body=b"internal secret")) as inside:
        hook_open, _ = create_webhook(
            engine, tenant="shop-a", url=inside.url, events=["bundle.ready"]
        )
        closed = f"http://127.0.0.1:{free_port()}/hook"
        hook_closed, _ = create_webhook(
            engine, tenant="shop-a", url=closed, events=["bundle.ready"]
        )
        queue_event(engine, "shop-a")
        app = make_app(engine, tmp_path)
        async with running(app), client(app, key) as http:

            async def both_tried() -> bool:
                return all([await attempts(http, h.id) for h in (hook_open, hook_closed)])

            await eventually(both_tried)
            logs = [(await attempts(http, h.id))[0] for h in (hook_open, hook_closed)]
    assert inside.connections == 0
    for log in logs:
        assert log["status_code"] is None
        assert log["error"] == REFUSED
        assert log["response_excerpt"] == ""


async def test_connect_time_check_pins_the_checked_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name is resolved once per connection; the connection goes to the checked address
    with the name kept in the Host header (and as the TLS server name)."""
    answers = iter(["93.184.215.14", "127.0.0.1"])

    def rebinding(host: str, port: object, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 443))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    seen: list[httpx.Request] = []

    def inner(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    guarded = GuardedTransport(inner=httpx.MockTransport(inner))
    async with httpx.AsyncClient(transport=guarded) as http:
        assert (await http.post("https://hooks.example/h", content=b"{}")).status_code == 204
        with pytest.raises(httpx.ConnectError, match="public internet address"):
            await http.post("https://hooks.example/h", content=b"{}")
    (sent,) = seen
    assert sent.url.host == "93.184.215.14"
    assert sent.headers["host"] == "hooks.example"
    assert sent.extensions["sni_hostname"] == "hooks.example"


async def test_internal_targets_need_the_operator_setting_and_logs_stay_short(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    noisy = b"\x1b[31m" + b"internal page " * 1000
    async with listening(Listener(status=500, body=noisy)) as inside:
        config = settings(allow_internal_webhooks=True)
        app = make_app(engine, tmp_path, config=config)
        async with running(app), client(app, key) as http:
            made = await http.post("/v1/webhooks", json={"url": inside.url})
            assert made.status_code == 201, made.text
            queue_event(engine, "shop-a")

            async def tried() -> bool:
                return bool(await attempts(http, made.json()["id"]))

            await eventually(tried)
            (log,) = await attempts(http, made.json()["id"])
    assert inside.connections == 1
    assert log["status_code"] == 500
    assert log["error"] == "receiver answered HTTP 500"
    assert 0 < len(log["response_excerpt"]) <= 256
    assert log["response_excerpt"].isprintable()

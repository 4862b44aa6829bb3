"""The attack run against `serve` and `verify`, as tests (issue 15: findings 3-7, 9, 10).

Finding 10's ingest cases (damaged UTF-8, wide header rows) are in test_attack_ingest.py.

No network beyond 127.0.0.1 listeners these tests start themselves: webhook receivers are
asyncio servers on free ports, the memory test runs a real Uvicorn server in a subprocess.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
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
from tracking.core.config import Settings
from tracking.store.engine import transaction
from tracking.store.jobs import claim_jobs, create_job
from tracking.store.webhook_events import emit_event
from tracking.store.webhooks import create_webhook

PROBLEM = "application/problem+json"
ONE_ATTEMPT = (timedelta(hours=1),)  # a failed attempt is retried after the test ends


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
        webhook_schedule=changes.pop("webhook_schedule", ONE_ATTEMPT),
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


# -- 4. limits before work -------------------------------------------------------------------

_SERVER = """
import sys, uvicorn
from pathlib import Path
from tracking.api import ApiOptions, create_app
from tracking.core.config import Settings
from tracking.store.engine import open_engine
url, port, data = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
engine = open_engine(url)
settings = Settings(_env_file=None, database_url=url)
options = ApiOptions(data_dir=data, run_jobs=False, deliver_webhooks=False)
app = create_app(settings, engine=engine, options=options)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@contextlib.contextmanager
def uvicorn_server(url: str, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A real `serve`-like Uvicorn process on 127.0.0.1: (pid, port)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, url, str(port), str(tmp_path / "data")],
        env={k: v for k, v in os.environ.items() if not k.startswith("TRACK_EVIDENCE_")},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("the server did not start") from None
                time.sleep(0.05)
        yield process.pid, port
    finally:
        process.terminate()
        process.wait(10)


def stream_body(port: int, path: str, size: int, pid: int, headers: str = "") -> tuple[bytes, int]:
    """POST `size` bytes of JSON-ish body, stopping at the server's answer.

    Returns the answer's first bytes and the server's peak RSS growth (KiB) meanwhile.
    """
    import select

    base = _rss_kib(pid)
    peak = base
    chunk = b" " * (1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\n{headers}\r\n"
            ).encode()
        )
        sent = 0
        answer = b""
        while sent < size:
            readable, _, _ = select.select([sock], [], [], 0.02 if sent < 8 << 20 else 0)
            if readable:
                answer = sock.recv(4096)
                break
            try:
                sock.sendall(chunk[: min(len(chunk), size - sent)])
            except OSError:
                break
            sent += len(chunk)
            peak = max(peak, _rss_kib(pid))
        if not answer:
            with contextlib.suppress(OSError):
                sock.settimeout(10)
                answer = sock.recv(4096)
    peak = max(peak, _rss_kib(pid))
    return answer, peak - base


def test_a_1gb_unauthenticated_body_is_refused_before_it_is_read(
    sqlite_url: str, make_engine: Callable[[str], sa.Engine], tmp_path: Path
) -> None:
    key = create_key(make_engine(sqlite_url), "shop-a")
    with uvicorn_server(sqlite_url, tmp_path) as (pid, port):
        answer, grown = stream_body(port, "/v1/pulls", 1 << 30, pid)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert PROBLEM.encode() in answer
        assert grown < 50 * 1024, f"server RSS grew {grown / 1024:.0f} MB"
        # With a key, a JSON body over the limit is refused at its declared length.
        answer, grown = stream_body(
            port, "/v1/pulls", 1 << 30, pid, headers=f"Authorization: Bearer {key}\r\n"
        )
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert grown < 50 * 1024


async def test_bodies_are_limited_while_streamed(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path, max_json_bytes=4096, max_upload_bytes=64 * 1024)

    async def chunks(total: int) -> AsyncIterator[bytes]:  # no Content-Length: chunked
        yield b'{"window_days": 30, "policy": "'
        for _ in range(total // 1024):
            yield b"x" * 1024
        yield b'"}'

    async with running(app), client(app, key) as http:
        problem = assert_problem(await http.post("/v1/pulls", content=chunks(8192)), 413)
        assert "4,096 bytes" in problem["detail"]
        csv = b"order_id,order_date,tracking_number,destination_country\n" + b"x" * 70_000
        got = await http.post("/v1/orders", content=csv, headers={"content-type": "text/csv"})
        assert_problem(got, 413)
        ok = await http.post("/v1/pulls", json={"window_days": 30})
        assert ok.status_code == 202
    async with running(app), client(app) as anonymous:
        got = await anonymous.post("/v1/pulls", content=chunks(1 << 20))
        assert_problem(got, 401)
        # a carrier push carries no key (the carrier signs it) but is limited all the same,
        # before the route runs
        pushed = await anonymous.post("/v1/carriers/17track/push", content=b"{" * 8192)
        assert_problem(pushed, 413)


# -- 5. verify on hostile bundles ------------------------------------------------------------

_VERIFY = """
import sys
from tracking.cli.app import app
try:
    app(["verify", sys.argv[1]])
except SystemExit as stop:
    code = stop.code
# VmHWM, not ru_maxrss: ru_maxrss keeps the parent's size across fork and exec.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(int(hwm.split()[1]) // 1024, file=sys.stderr)
sys.exit(code)
"""


def run_verify(path: Path) -> tuple[int, str, int]:
    """Exit code, the reason printed, and the peak RSS (MB) of `track-evidence verify`."""
    done = subprocess.run(
        [sys.executable, "-c", _VERIFY, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("TRACK_EVIDENCE_")},
    )
    *lines, peak = done.stderr.strip().splitlines()
    return done.returncode, "\n".join(lines), int(peak)


def _deflated(archive: zipfile.ZipFile, name: str, size: int, byte: bytes = b"\n") -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as sink:
        block = byte * (1 << 20)
        for _ in range(size >> 20):
            sink.write(block)


@pytest.mark.slow
def test_a_zip_bomb_in_sha256sums_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        _deflated(archive, "SHA256SUMS", 512 << 20)
        archive.writestr("manifest.json", "{}")
    assert bomb.stat().st_size < 1 << 20
    code, reason, peak = run_verify(bomb)
    assert code == 3
    assert reason.startswith("TAMPERED: ")
    assert "\n" not in reason.strip()
    assert "bomb" in reason or "larger than" in reason
    assert peak < 200, f"verify peaked at {peak} MB"


@pytest.mark.slow
def test_a_bundle_member_bomb_is_refused_before_it_is_hashed(tmp_path: Path) -> None:
    """A well-formed bundle whose one data file inflates to 3 GiB: refused by its sizes."""
    import hashlib

    from tracking.evidence.manifest import sums_text

    bomb = tmp_path / "bundle.zip"
    size = 3 << 30
    manifest = json.dumps(
        {
            "schema_version": "1",
            "created_at": "2026-11-20T00:00:00Z",
            "files": [{"path": "raw/a.json", "sha256": "0" * 64, "size": size}],
        }
    ).encode()
    sums = sums_text([("manifest.json", hashlib.sha256(manifest).hexdigest())])
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("SHA256SUMS", sums)
        archive.writestr("manifest.json", manifest)
        _deflated(archive, "raw/a.json", 64 << 20, b"\0")  # stands for the 3 GiB of zeros
        # Rewrite the member's sizes in the central directory: 3 GiB declared.
        archive.infolist()[-1].file_size = size
    code, reason, peak = run_verify(bomb)
    assert code == 3
    assert "raw/a.json" in reason or "expand" in reason
    assert peak < 200


def test_verify_reads_no_more_of_a_member_than_the_manifest_says(tmp_path: Path) -> None:
    import hashlib

    from tracking.evidence import verify_bundle
    from tracking.evidence.manifest import sums_text

    folder = tmp_path / "bundle"
    (folder / "raw").mkdir(parents=True)
    manifest = json.dumps(
        {
            "schema_version": "1",
            "created_at": "2026-11-20T00:00:00Z",
            "files": [{"path": "raw/a.json", "sha256": "0" * 64, "size": 10}],
        }
    ).encode()
    (folder / "manifest.json").write_bytes(manifest)
    (folder / "SHA256SUMS").write_text(
        sums_text([("manifest.json", hashlib.sha256(manifest).hexdigest())]), encoding="utf-8"
    )
    with (folder / "raw" / "a.json").open("wb") as big:  # sparse: 8 GiB that take no disk
        big.truncate(8 << 30)
    result = verify_bundle(folder)
    assert not result.ok
    assert result.problem == "raw/a.json: size mismatch (more than the 10 bytes the manifest says)"


# -- 6, 7. fair, bounded background work; quotas ---------------------------------------------


async def test_a_trickling_receiver_is_cut_off_at_the_attempt_deadline(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    async with listening(Listener(trickle=0.3)) as slow:
        hook, _ = create_webhook(engine, tenant="shop-a", url=slow.url, events=["bundle.ready"])
        queue_event(engine, "shop-a")
        app = make_app(
            engine,
            tmp_path,
            config=settings(allow_internal_webhooks=True),
            webhook_timeout_seconds=1.0,
        )
        async with running(app), client(app, key) as http:

            async def tried() -> bool:
                return bool(await attempts(http, hook.id))

            await eventually(tried, seconds=10)
            (log,) = await attempts(http, hook.id)
    assert log["status_code"] is None
    assert log["error"] == "timed out: no complete answer within 1 s"


async def test_a_slow_receiver_delays_only_its_own_deliveries(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key_b = create_key(engine, "shop-b")
    async with listening(Listener(hang=8)) as slow, listening(Listener()) as fast:
        create_webhook(engine, tenant="shop-a", url=slow.url, events=["bundle.ready"])
        queue_event(engine, "shop-a", n=12)  # more than the dispatcher's 8 slots
        hook_b, _ = create_webhook(engine, tenant="shop-b", url=fast.url, events=["bundle.ready"])
        queue_event(engine, "shop-b")
        app = make_app(
            engine,
            tmp_path,
            config=settings(allow_internal_webhooks=True),
            webhook_timeout_seconds=8.0,
        )
        async with running(app), client(app, key_b) as http:

            async def delivered() -> bool:
                logs = await attempts(http, hook_b.id)
                return bool(logs) and logs[0]["status_code"] == 200

            await eventually(delivered, seconds=4)
            assert slow.connections <= 1  # one delivery at a time to one receiver


def test_jobs_are_claimed_round_robin_by_tenant(engine: sa.Engine) -> None:
    for kind in ("pull", "bundle"):
        create_job(engine, tenant="big-shop", kind=kind, params={})
    create_job(engine, tenant="small-shop", kind="bundle", params={"reference_id": "EVR-9"})
    first = claim_jobs(engine, limit=2, kinds={"pull", "bundle"})
    assert sorted(j.tenant for j in first) == ["big-shop", "small-shop"]


async def test_the_order_quota_refuses_an_import_before_reading_it(
    engine: sa.Engine, tmp_path: Path
) -> None:
    key = create_key(engine, "shop-a")
    app = make_app(engine, tmp_path, config=settings(order_quota_per_tenant=1))
    csv = b"order_id,order_date,tracking_number,destination_country\n"
    async with running(app), client(app, key) as http:
        first = csv + b"A1,2026-11-01,YT2411111111111111,DE\n"
        got = await http.post("/v1/orders", content=first, headers={"content-type": "text/csv"})
        assert got.status_code == 200, got.text
        more = csv + b"A2,2026-11-01,YT2411111111111112,DE\n"
        got = await http.post("/v1/orders", content=more, headers={"content-type": "text/csv"})
        assert "quota" in assert_problem(got, 429)["detail"]


async def test_per_tenant_quotas(engine: sa.Engine, tmp_path: Path) -> None:
    key = create_key(engine, "shop-a")
    other = create_key(engine, "shop-b")
    app = make_app(engine, tmp_path, config=settings(job_quota_per_tenant=2))
    async with running(app), client(app, key) as http, client(app, other) as http_b:
        for _ in range(2):
            assert (await http.post("/v1/pulls", json={})).status_code == 202
        problem = assert_problem(await http.post("/v1/bundles", json={"reference_id": "E"}), 429)
        assert "queued or running" in problem["detail"]
        assert (await http_b.post("/v1/pulls", json={})).status_code == 202


def test_an_empty_signing_key_setting_means_unsigned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_SIGNING_KEY", "")
    assert Settings(_env_file=None).signing_key is None  # type: ignore[call-arg]

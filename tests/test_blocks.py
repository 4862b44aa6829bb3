"""Blocks are blocks: a carrier's anti-bot refusal is typed, kept as evidence, backed off.

The back-off is per carrier, exponential, and shared by every worker through the store that
already shares the rate limits (PostgreSQL `rate_slots` or Redis).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from carriers.base import RateLimit
from carriers.blocking import BLOCK_BACKOFF, LocalBlockGate, detect_block
from carriers.http import CarrierHttp
from tests.conftest import fresh_postgres
from tests.test_workers import REDIS_URL, _redis_reason
from tracking.core.exceptions import BlockedError
from tracking.fetch.limits import SharedBlockGate, SharedLimits
from tracking.store.engine import open_engine

CAPTCHA_JSON = (
    b'{"ret":["FAIL_SYS_USER_VALIDATE","RGV587_ERROR::SM::\xe5\x93\x8e\xe5\x93\x9f\xe5\x96\x82"],'
    b'"data":{"url":"https://global.cainiao.com/_____tmd_____/punish?x5secdata=abc&action=captcha"}}'
)
CHALLENGE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Verification needed</title></head><body>"
    b'<div class="baxia-dialog"><iframe src="/_____tmd_____/punish?x5secdata=x"></iframe>'
    b"</div></body></html>"
)


@pytest.mark.parametrize(
    ("status", "content_type", "body", "says"),
    [
        pytest.param(200, "application/json", CAPTCHA_JSON, "Alibaba anti-bot challenge", id="ali"),
        pytest.param(200, "text/html", CHALLENGE_PAGE, '"Verification needed"', id="page"),
        pytest.param(403, "text/html", b"<html><title>Denied</title></html>", "HTML", id="403"),
        pytest.param(200, "application/json", b"<html>oops</html>", "where JSON", id="html-200"),
    ],
)
def test_challenges_are_recognised_and_named(
    status: int, content_type: str, body: bytes, says: str
) -> None:
    evidence = detect_block(status, content_type, body)
    assert evidence is not None
    assert says in evidence


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        pytest.param(200, "application/json", b'{"success":true,"module":[]}', id="json"),
        pytest.param(200, "application/json", b'{"msg":"captcha word in json"}', id="json-word"),
        pytest.param(502, "text/html", b"<html><title>502</title>Bad gateway</html>", id="5xx"),
        pytest.param(404, "text/html", b"<html>Not found</html>", id="404"),
        pytest.param(200, "application/json", b"", id="empty"),
    ],
)
def test_ordinary_answers_are_not_blocks(status: int, content_type: str, body: bytes) -> None:
    assert detect_block(status, content_type, body) is None


def test_backoff_doubles_up_to_a_day() -> None:
    delays = [BLOCK_BACKOFF.delay(level) for level in range(1, 10)]
    assert delays[:4] == [timedelta(minutes=m) for m in (15, 30, 60, 120)]
    assert delays[-1] == timedelta(hours=24)


async def _http(client: httpx.AsyncClient, gate: object | None = None) -> CarrierHttp:
    return CarrierHttp(
        client=client,
        carrier="cainiao",
        adapter_version="cainiao/1",
        rate_limit=RateLimit(1000.0),
        max_attempts=3,
        backoff=0.0,
        name="Cainiao",
        block_gate=gate,  # type: ignore[arg-type]
    )


async def test_a_block_closes_the_carrier_until_its_backoff_ends() -> None:
    sent: list[httpx.Request] = []
    answers = [httpx.Response(200, content=CAPTCHA_JSON)]

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers.pop(0) if answers else httpx.Response(200, json={"success": True})

    gate = LocalBlockGate()
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        http = await _http(client, gate)
        with pytest.raises(BlockedError) as first:
            await http.request("GET", "https://global.cainiao.com/global/detail.json")
        assert len(sent) == 1  # not retried: retrying a challenge only makes it worse
        assert first.value.exchange is not None
        assert first.value.exchange.body == CAPTCHA_JSON  # the evidence, byte for byte
        assert str(first.value).startswith("Cainiao is refusing automated requests; retrying at ")
        retry_at = first.value.retry_at
        assert retry_at is not None
        assert timedelta(minutes=14) < retry_at - datetime.now(UTC) <= timedelta(minutes=15)
        with pytest.raises(BlockedError) as second:
            await http.request("GET", "https://global.cainiao.com/global/detail.json")
        assert len(sent) == 1  # closed: nothing goes out
        assert second.value.exchange is None
        assert second.value.retry_at == retry_at
        gate.until = datetime.now(UTC) - timedelta(seconds=1)  # the back-off is over
        await http.request("GET", "https://global.cainiao.com/global/detail.json")
        assert len(sent) == 2
        assert gate.level == 0  # a normal answer resets the escalation


async def test_consecutive_blocks_back_off_exponentially() -> None:
    gate = LocalBlockGate()
    ends = []
    for _ in range(3):
        ends.append(await gate.record_block())
        # A second request already in flight is blocked too: same episode, no escalation.
        assert await gate.record_block() == ends[-1]
        gate.until = datetime.now(UTC)  # the back-off ran out; the next request is blocked
    now = datetime.now(UTC)
    assert [round((t - now) / timedelta(minutes=1)) for t in ends] == [15, 30, 60]


# -- shared by every worker --------------------------------------------------------------------


@pytest.fixture(params=["postgresql", "redis"])
def shared_store(request: pytest.FixtureRequest, pg_skip_reason: str | None) -> Iterator[dict]:
    if request.param == "redis":
        if reason := _redis_reason():
            pytest.skip(reason)
        yield {"redis_url": REDIS_URL}
        return
    with fresh_postgres(pg_skip_reason) as url:
        open_engine(url).dispose()  # migrated: the rate_slots table exists
        yield {"database_url": url}


@pytest.mark.postgres
async def test_a_block_seen_by_one_worker_closes_the_carrier_for_all(shared_store: dict) -> None:
    prefix = f"test-blocks:{uuid.uuid4().hex}:"
    one, two = (
        SharedLimits(prefix=prefix, **shared_store),
        SharedLimits(prefix=prefix, **shared_store),
    )
    try:
        gate_one = one.factory()("cainiao", RateLimit(1.0)).block_gate  # type: ignore[attr-defined]
        gate_two = two.factory()("cainiao", RateLimit(1.0)).block_gate  # type: ignore[attr-defined]
        assert isinstance(gate_two, SharedBlockGate)
        assert await gate_two.blocked_until() is None
        first = await gate_one.record_block()
        gate_two._cached = None  # its once-a-second cache aside
        seen = await gate_two.blocked_until()
        assert seen is not None
        assert abs((seen - first).total_seconds()) < 1
        assert await gate_two.record_block() == seen  # same episode: no escalation
        await one.block_clear(gate_one._until_key)  # the back-off ran out (the level stays)
        gate_two._cached = None
        second = await gate_two.record_block()  # the next block doubles, whoever sees it
        assert timedelta(minutes=29) < second - datetime.now(UTC) <= timedelta(minutes=30)
        other = two.factory()("4px", RateLimit(1.0)).block_gate  # type: ignore[attr-defined]
        assert await other.blocked_until() is None  # per carrier
        await gate_one.clear()
        gate_two._cached = None
        assert await gate_two.blocked_until() is None
        assert (await gate_two.record_block()) - datetime.now(UTC) <= timedelta(minutes=15)
        await gate_two.clear()
    finally:
        await one.aclose()
        await two.aclose()


# -- end to end: pull, stored evidence, what the user reads -------------------------------------


async def test_a_blocked_carrier_is_reported_and_its_challenge_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlalchemy as sa
    from typer.testing import CliRunner

    from carriers.registry import all_carriers
    from tests.test_pull import AS_OF, write_orders
    from tracking.cli.app import app
    from tracking.cli.pull import print_report as _print_report
    from tracking.core.config import Settings
    from tracking.fetch.pipeline import pull
    from tracking.judge.validator import POLICIES
    from tracking.sandbox.server import SandboxOptions, SandboxServer
    from tracking.store.exchanges import raw_body
    from tracking.store.tables import ShipmentRecord

    orders = tmp_path / "orders.csv"
    write_orders(orders, ["cainiao", "yanwen"], per_scenario=1)
    db = f"sqlite:///{tmp_path / 'blocked.db'}"
    engine = open_engine(db)
    carriers = all_carriers()
    server = SandboxServer(carriers, SandboxOptions(now=AS_OF, blocked=frozenset({"cainiao"})))
    report = await pull(
        engine=engine,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
        orders_path=orders,
        carriers=carriers,
        as_of=AS_OF,
        window_days=90,
        policy=POLICIES["default"],
        network=server.network(),
    )
    assert server.stats["cainiao"].requests == 1  # one challenge, then nothing more is sent
    assert report.by_carrier["yanwen"]["fetched"] > 0  # other carriers are not affected
    notice = report.notices["cainiao"]
    assert notice.startswith("Cainiao (AliExpress) is refusing automated requests; retrying at ")
    _print_report(report, title="pull")
    assert "cainiao: Cainiao (AliExpress) is refusing automated requests" in capsys.readouterr().out
    S = ShipmentRecord.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(S.c.error_kind, S.c.next_poll_at).where(S.c.carrier == "cainiao")
        ).all()
        (sha,) = connection.execute(
            sa.text("SELECT body_sha256 FROM exchanges WHERE carrier = 'cainiao'")
        ).one()
    assert {kind for kind, _ in rows} == {"blocked"}
    retry = {due for _, due in rows}
    assert len(retry) == 1  # every number waits for the carrier's back-off, not its own
    assert b"_____tmd_____" in raw_body(engine, sha)  # the challenge page itself is evidence
    engine.dispose()
    result = CliRunner().invoke(app, ["--db", db, "status", "--limit", "500"])
    assert result.exit_code == 0, result.output
    assert "Cainiao (AliExpress) is refusing automated requests; retrying at" in result.output


async def test_requests_waiting_for_a_slot_are_not_sent_once_the_carrier_blocks() -> None:
    import asyncio

    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=CAPTCHA_JSON)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        http = CarrierHttp(
            client=client,
            carrier="cainiao",
            adapter_version="cainiao/1",
            rate_limit=RateLimit(1000.0, concurrency=1),
            max_attempts=1,
            name="Cainiao",
        )
        outcomes = await asyncio.gather(
            *(http.request("GET", "https://global.cainiao.com/x") for _ in range(3)),
            return_exceptions=True,
        )
    assert all(isinstance(o, BlockedError) for o in outcomes)
    assert len(sent) == 1  # the two queued behind it saw the block and stayed home

"""The carriers' shared kit: one normalizer end to end, requested-number matching, the one
adapter factory, and which side of the journey each stage is on."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from carriers.cainiao import CARRIER as CAINIAO
from carriers.cainiao.client import CainiaoAdapter, CainiaoSettings
from carriers.cainiao.parse import parse as parse_cainiao
from carriers.cainiao.sandbox import SANDBOX as CAINIAO_SANDBOX
from carriers.kit import Network, Requested, create_adapter, same_number
from carriers.registry import all_carriers
from carriers.yanwen.client import YanwenSettings
from tracking.core.domain import ParsedEvent, Side, Stage, TimeSource, TrackResult
from tracking.core.exceptions import ConfigError
from tracking.core.numbers import detect, normalize_number
from tracking.ingest import OrderRow, read_orders_bytes
from tracking.sandbox.world import World, number_for

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
NUMBER = number_for(CAINIAO.make_number or str, "delivered")


def _spaced(number: str, dash: str) -> str:
    return f"{number[:4].lower()} {number[4:8]}{dash}{number[8:12]}{dash}{number[12:]}"


# Spellings the three old normalizers cleaned differently: ingest dropped Unicode dashes and
# folded full-width characters, `detect` only spaces and ASCII dashes, the parsers only
# whitespace. Each of these reached the store as NUMBER but failed to match elsewhere.
SPELLINGS = [
    pytest.param(_spaced(NUMBER, "\u2013"), id="en-dash-groups"),
    pytest.param(_spaced(NUMBER, "-"), id="ascii-dash-groups"),
    pytest.param(NUMBER.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}), id="full-width"),
    pytest.param(f"'{NUMBER}", id="excel-text-marker"),
    pytest.param(f"{NUMBER[:8]}\u3000{NUMBER[8:]}\n", id="ideographic-space-and-newline"),
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_ingest_detect_and_parsers_clean_a_number_the_same_way(spelling: str) -> None:
    assert normalize_number(spelling) == NUMBER
    csv = f'order_id,order_date,tracking_number,country\nA-1,2026-10-01,"{spelling}",RU\n'
    (row,) = read_orders_bytes(csv.encode("utf-8"), source="orders.csv")
    assert isinstance(row, OrderRow)
    assert row.tracking_number == NUMBER
    assert detect(spelling, all_carriers()).best == "cainiao"
    # The carrier's answer names NUMBER; the result is filed under the number as requested.
    answer = _cainiao_answer(NUMBER)
    parsed = parse_cainiao(answer, requested=[spelling])
    assert list(parsed) == [spelling]
    assert isinstance(parsed[spelling], TrackResult)


def test_an_answer_spelled_differently_is_filed_under_the_stored_number() -> None:
    answer = _cainiao_answer(NUMBER).replace(NUMBER.encode(), _spaced(NUMBER, "\u2013").encode())
    assert list(parse_cainiao(answer, requested=[NUMBER])) == [NUMBER]


def _cainiao_answer(number: str) -> bytes:
    from carriers.base import SandboxRequest

    shipment = World(now=NOW).shipment("cainiao", number)
    request = SandboxRequest("GET", "/global/detail.json", {"mailNos": number}, {}, b"")
    return CAINIAO_SANDBOX.render(request, [(number, shipment)], now=NOW).body


def test_requested_matches_by_normalized_form_and_keeps_the_callers_spelling() -> None:
    requested = Requested(["lp00 1234", "RR123456789CN"])
    assert requested.spelling("LP001234") == "lp00 1234"
    assert requested.spelling("XX999") == "XX999"  # not asked: the answer's own spelling
    assert requested.find("XX999") is None
    assert "rr-123456789-cn" in requested
    assert same_number("rr 123456789 cn", "RR123456789CN")
    assert not same_number("", "")
    assert not same_number(None, "RR123456789CN")


# -- the one adapter factory -------------------------------------------------------------------


async def test_create_adapter_by_name_with_credentials_and_a_transport() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=_cainiao_answer(NUMBER))

    adapter = create_adapter("cainiao", {"lang": "zh-CN"}, transport=httpx.MockTransport(answer))
    assert isinstance(adapter, CainiaoAdapter)
    (result,) = await adapter.track([NUMBER])
    assert isinstance(result.outcome, TrackResult)
    assert seen[0].url.host == "global.cainiao.com"  # the real base URL: the transport decides
    assert seen[0].url.params["lang"] == "zh-CN"


def test_create_adapter_uses_the_settings_base_url_and_the_registered_batch_size() -> None:
    adapter = create_adapter(CAINIAO, CainiaoSettings(base_url="http://mirror.invalid/x/"))
    assert isinstance(adapter, CainiaoAdapter)
    assert adapter.base_url == "http://mirror.invalid/x"
    assert adapter.batch_size == CAINIAO.batch_size


def test_create_adapter_refuses_unknown_carriers_bad_settings_and_foreign_classes() -> None:
    with pytest.raises(ConfigError, match="unknown carrier 'nope'"):
        create_adapter("nope")
    with pytest.raises(ConfigError, match="invalid settings for carrier cainiao: max_attempts"):
        create_adapter("cainiao", {"max_attempts": 0})
    with pytest.raises(TypeError, match="cainiao needs CainiaoSettings, not YanwenSettings"):
        create_adapter("cainiao", YanwenSettings())
    built = create_adapter("cainiao")
    assert isinstance(built, CainiaoAdapter)
    with pytest.raises(ValueError, match="either `http` or `transport`"):
        create_adapter(
            "cainiao",
            http=built.http,
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        )


def test_every_registered_carrier_is_built_by_the_one_factory() -> None:
    for code in all_carriers():
        adapter = create_adapter(code)
        assert callable(adapter.track), code


# -- Stage.side ----------------------------------------------------------------------------------

ORIGIN = {
    Stage.INFO_RECEIVED,
    Stage.PICKED_UP,
    Stage.ORIGIN_FACILITY,
    Stage.EXPORT_CUSTOMS,
    Stage.DEPARTED_ORIGIN,
}
DESTINATION = {
    Stage.ARRIVED_DESTINATION,
    Stage.IMPORT_CUSTOMS,
    Stage.DESTINATION_FACILITY,
    Stage.OUT_FOR_DELIVERY,
    Stage.AVAILABLE_FOR_PICKUP,
    Stage.DELIVERY_FAILED,
    Stage.DELIVERED,
}


@pytest.mark.parametrize("stage", list(Stage), ids=str)
def test_each_stage_has_one_side(stage: Stage) -> None:
    expected = (
        Side.ORIGIN if stage in ORIGIN else Side.DESTINATION if stage in DESTINATION else Side.NONE
    )
    assert stage.side is expected


def test_returns_are_on_neither_side() -> None:
    # A return starts at either end (refused at the door, or before export: 4PX FPX_O_RT*).
    assert Stage.RETURNING.side is Side.NONE
    assert Stage.RETURNED.side is Side.NONE


def test_cainiao_no_longer_places_a_return_in_the_destination_country() -> None:
    body = (
        b'{"success":true,"module":[{"mailNo":"LP00123456789012","originCountry":"CN",'
        b'"destCountry":"RU","status":"RETURN","detailList":['
        b'{"actionCode":"RETURN_TO_SENDER","time":1760000000000,"timeZone":"GMT+3",'
        b'"standerdDesc":"Return to sender","desc":"Return to sender"},'
        b'{"actionCode":"GTMS_SIGNED","time":1759000000000,"timeZone":"GMT+3",'
        b'"standerdDesc":"Delivered","desc":"Delivered"}]}]}'
    )
    result = parse_cainiao(body, requested=["LP00123456789012"])["LP00123456789012"]
    assert isinstance(result, TrackResult)
    by_stage: dict[Stage, ParsedEvent] = {e.stage: e for e in result.events}
    assert by_stage[Stage.RETURNING].country is None
    assert by_stage[Stage.DELIVERED].country == "RU"
    assert by_stage[Stage.DELIVERED].time_source is TimeSource.EXPLICIT


# -- the network seam ------------------------------------------------------------------------------


async def test_the_fetcher_reaches_carriers_only_through_the_networks_transport() -> None:
    from tracking.core.config import Settings
    from tracking.fetch.pipeline import open_fetcher

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=_cainiao_answer(NUMBER))

    network = Network(
        transport=httpx.MockTransport(answer), accounts={"cainiao": {"lang": "zh-CN"}}
    )
    async with open_fetcher(
        settings=Settings.model_validate({}),  # defaults only, not this machine's environment
        carriers=all_carriers(),
        network=network,
    ) as fetcher:
        assert fetcher.codes == ["cainiao"]  # no account on this network: not reachable
        (result,) = await fetcher.track("cainiao", [NUMBER])
    assert isinstance(result.outcome, TrackResult)
    assert [r.url.params["lang"] for r in seen] == ["zh-CN"]  # the network's account


def test_a_sandbox_network_serves_every_renderer_with_its_account() -> None:
    from tracking.sandbox.server import SandboxServer, sandbox_network

    carriers = all_carriers()
    served = sorted(c for c, info in carriers.items() if info.sandbox is not None)
    in_process = SandboxServer(carriers).network()
    running = sandbox_network("http://127.0.0.1:8001/", carriers)
    assert isinstance(in_process.transport, httpx.ASGITransport)
    assert running.transport is None  # the real network, to the sandbox's address
    for network in (in_process, running):
        assert sorted(network.accounts or {}) == served
        assert not network.own_accounts
    assert running.account("cainiao") == {"base_url": "http://127.0.0.1:8001/cainiao"}
    assert running.account("17track")["token"] == "sandbox-17token-2026"
    assert Network().reaches("anything")
    assert Network().own_accounts

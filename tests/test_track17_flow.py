"""17TRACK as it works: read first, register once, await data, change carrier, typed refusals.

Also: requests rebuilt byte for byte from 17TRACK's documented examples, milestones from
`track_info.milestone[]`, and the other 17TRACK shapes refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa

from carriers.base import RateLimit, SandboxRequest
from carriers.http import CarrierHttp
from carriers.kit import create_adapter
from carriers.track17 import CARRIER
from carriers.track17.parse import parse
from carriers.track17.sandbox import SANDBOX
from tracking.core.domain import (
    CarrierFailure,
    ErrorKind,
    Exchange,
    NumberResult,
    Stage,
    TrackResult,
)
from tracking.core.exceptions import BadPayloadError
from tracking.judge.milestones import milestone_times
from tracking.judge.scheduling import next_poll_at
from tracking.store.answers import store_results
from tracking.store.engine import transaction

BASE = "https://api.17track.net/track/v2.2"
KEY = "doc-example-key"  # invented
NUMBER = "RR123456789CN"  # the number of 17TRACK's documented example requests
OTHER = "LM602913448CN"
YUNEXPRESS = "YT2611200000000001"  # invented, YunExpress waybill shape


async def _track(numbers: Sequence[str], **settings: Any) -> list[NumberResult]:
    config = CARRIER.settings_model(_env_file=None, token=KEY, **settings)
    async with httpx.AsyncClient(timeout=5.0) as client:
        http = CarrierHttp(
            client=client,
            carrier="17track",
            adapter_version=CARRIER.adapter_version,
            rate_limit=RateLimit(1000.0, concurrency=8),
            secrets=config.secret_values(),
            max_attempts=1,
            backoff=0.0,
        )
        return await create_adapter(CARRIER, config, http=http).track(numbers)


def _failure(result: NumberResult) -> CarrierFailure:
    assert isinstance(result.outcome, CarrierFailure), result.outcome
    return result.outcome


def _envelope(accepted: list[Any], rejected: list[Any] | None = None, code: int = 0) -> Any:
    return {"code": code, "data": {"accepted": accepted, "rejected": rejected or []}}


def _rejected(number: str, code: int) -> dict[str, Any]:
    return {"number": number, "error": {"code": code, "message": f"refused {number}"}}


def _item(
    number: str,
    events: list[dict[str, Any]],
    *,
    carrier: int = 3011,
    milestones: list[tuple[str, str]] = (),  # type: ignore[assignment]
    synced: str | None = "2026-10-05T00:00:00Z",
    status: tuple[str, str] = ("InTransit", "InTransit_Other"),
) -> dict[str, Any]:
    """A `gettrackinfo` accepted item (events newest first), v2.2 event fields only."""
    return {
        "number": number,
        "carrier": carrier,
        "track_info": {
            "shipping_info": {
                "shipper_address": {"country": "CN"},
                "recipient_address": {"country": "DE"},
            },
            "latest_status": {"status": status[0], "sub_status": status[1]},
            "milestone": [
                {"key_stage": key, "time_iso": None, "time_utc": when} for key, when in milestones
            ],
            "tracking": {
                "providers": [
                    {
                        "provider": {"key": carrier, "name": "Some Post"},
                        "latest_sync_status": "Success" if synced else None,
                        "latest_sync_time": synced,
                        "events": events,
                    }
                ]
            },
        },
    }


def _event(when: str, text: str, stage: str | None = None, country: str = "CN") -> dict[str, Any]:
    return {
        "time_iso": None,
        "time_utc": when,
        "description": text,
        "location": "",
        "stage": stage,
        "address": {"country": country},
    }


# -- read first, register once ---------------------------------------------------------------


async def test_a_new_number_is_registered_once_and_then_awaits_data() -> None:
    with respx.mock(assert_all_called=True) as router:
        info = router.post(f"{BASE}/gettrackinfo").respond(
            json=_envelope([], [_rejected(NUMBER, -18019902)])
        )
        register = router.post(f"{BASE}/register").respond(
            json=_envelope([{"number": NUMBER, "carrier": 3011}])
        )
        (result,) = await _track([NUMBER])
    assert (info.call_count, register.call_count) == (1, 1)
    assert json.loads(register.calls.last.request.content) == [{"number": NUMBER}]
    failure = _failure(result)
    assert failure.kind is ErrorKind.AWAITING_DATA
    assert "registered" in failure.message
    assert [x.url for x in result.exchanges] == [f"{BASE}/gettrackinfo", f"{BASE}/register"]


async def test_a_registered_number_is_read_without_registering_again() -> None:
    events = [_event("2026-10-04T13:35:22Z", "Dispatched", stage="Departure")]
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/gettrackinfo").respond(json=_envelope([_item(NUMBER, events)]))
        register = router.post(f"{BASE}/register")
        (result,) = await _track([NUMBER])
    assert register.call_count == 0
    assert isinstance(result.outcome, TrackResult)
    assert [x.url for x in result.exchanges] == [f"{BASE}/gettrackinfo"]


async def test_a_failed_register_fails_only_the_numbers_to_register() -> None:
    events = [_event("2026-10-04T13:35:22Z", "Dispatched", stage="Departure")]
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/gettrackinfo").respond(
            json=_envelope([_item(OTHER, events)], [_rejected(NUMBER, -18019902)])
        )
        router.post(f"{BASE}/register").respond(503, text="Service Unavailable")
        new, known = await _track([NUMBER, OTHER])
    assert _failure(new).kind is ErrorKind.CARRIER_ERROR
    assert [x.status for x in new.exchanges] == [200, 503]
    assert isinstance(known.outcome, TrackResult)
    assert [x.url for x in known.exchanges] == [f"{BASE}/gettrackinfo"]


async def test_registered_but_not_fetched_yet_is_awaiting_not_not_found() -> None:
    unsynced = _item(NUMBER, [], synced=None, status=("NotFound", "NotFound_Other"))
    synced = _item(OTHER, [], status=("NotFound", "NotFound_Other"))
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/gettrackinfo").respond(json=_envelope([unsynced, synced]))
        first, second = await _track([NUMBER, OTHER])
    assert _failure(first).kind is ErrorKind.AWAITING_DATA
    assert _failure(second).kind is ErrorKind.NOT_FOUND


def test_awaiting_data_is_polled_within_minutes_and_bounded_like_not_found() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    soon = next_poll_at(
        now=now,
        state="awaiting_data",
        latest_stage=None,
        final=False,
        was_final=False,
        not_found_since=now - timedelta(minutes=30),
    )
    assert soon is not None
    assert soon - now <= timedelta(minutes=15)
    later = next_poll_at(
        now=now,
        state="awaiting_data",
        latest_stage=None,
        final=False,
        was_final=False,
        not_found_since=now - timedelta(days=31),
    )
    assert later is None  # given up, as a number unknown for 30 days


# -- quota and permission --------------------------------------------------------------------


async def test_quota_used_up_at_register_is_typed_and_keeps_the_other_answers() -> None:
    events = [_event("2026-10-04T13:35:22Z", "Dispatched", stage="Departure")]
    quota = {"code": -18019908, "data": {"errors": [{"code": -18019908, "message": "No quota"}]}}
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/gettrackinfo").respond(
            json=_envelope([_item(OTHER, events)], [_rejected(NUMBER, -18019902)])
        )
        router.post(f"{BASE}/register").respond(json=quota)
        new, known = await _track([NUMBER, OTHER])
    assert _failure(new).kind is ErrorKind.QUOTA
    assert "-18019908" in _failure(new).message
    assert isinstance(known.outcome, TrackResult)


async def test_quota_rejection_of_one_number_is_typed_quota() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/gettrackinfo").respond(
            json=_envelope([], [_rejected(NUMBER, -18019902)])
        )
        router.post(f"{BASE}/register").respond(json=_envelope([], [_rejected(NUMBER, -18019907)]))
        (result,) = await _track([NUMBER])
    assert _failure(result).kind is ErrorKind.QUOTA


@pytest.mark.parametrize("code", [-18010001, -18010004, -18010005])
async def test_permission_answers_are_typed_and_fail_the_batch(code: int) -> None:
    body = {"code": code, "data": {"errors": [{"code": code, "message": "not allowed"}]}}
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/gettrackinfo").respond(json=body)
        register = router.post(f"{BASE}/register")
        results = await _track([NUMBER, OTHER])
    assert register.call_count == 0
    assert {_failure(r).kind for r in results} == {ErrorKind.PERMISSION}


# -- changecarrier ---------------------------------------------------------------------------


async def test_a_number_tracked_under_the_wrong_carrier_is_moved_to_the_right_one() -> None:
    wrong = _item(YUNEXPRESS, [], carrier=190012, status=("NotFound", "NotFound_Other"))
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/gettrackinfo").respond(json=_envelope([wrong]))
        change = router.post(f"{BASE}/changecarrier").respond(
            json=_envelope([{"number": YUNEXPRESS, "carrier": 190008}])
        )
        (result,) = await _track([YUNEXPRESS])
    assert json.loads(change.calls.last.request.content) == [
        {"number": YUNEXPRESS, "carrier_old": 190012, "carrier_new": 190008}
    ]
    failure = _failure(result)
    assert failure.kind is ErrorKind.AWAITING_DATA
    assert "YunExpress" in failure.message


async def test_a_refused_change_keeps_what_17track_said() -> None:
    wrong = _item(YUNEXPRESS, [], carrier=190012, status=("NotFound", "NotFound_Other"))
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/gettrackinfo").respond(json=_envelope([wrong]))
        router.post(f"{BASE}/changecarrier").respond(
            json=_envelope([], [_rejected(YUNEXPRESS, -18019806)])
        )
        (result,) = await _track([YUNEXPRESS])
    assert _failure(result).kind is ErrorKind.NOT_FOUND
    assert [x.url for x in result.exchanges] == [f"{BASE}/changecarrier", f"{BASE}/gettrackinfo"]


async def test_a_guess_that_finds_events_is_not_changed() -> None:
    events = [_event("2026-10-04T13:35:22Z", "Dispatched", stage="Departure")]
    found = _item(YUNEXPRESS, events, carrier=190012)
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/gettrackinfo").respond(json=_envelope([found]))
        change = router.post(f"{BASE}/changecarrier")
        (result,) = await _track([YUNEXPRESS])
    assert change.call_count == 0
    assert isinstance(result.outcome, TrackResult)


async def test_a_number_whose_shape_names_its_carrier_is_registered_with_it() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/gettrackinfo").respond(
            json=_envelope([], [_rejected(YUNEXPRESS, -18019902)])
        )
        register = router.post(f"{BASE}/register").respond(json=_envelope([]))
        await _track([YUNEXPRESS])
    assert json.loads(register.calls.last.request.content) == [
        {"number": YUNEXPRESS, "carrier": 190008}
    ]


async def test_the_right_carrier_is_left_alone() -> None:
    right = _item(YUNEXPRESS, [], carrier=190008, status=("NotFound", "NotFound_Other"))
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/gettrackinfo").respond(json=_envelope([right]))
        change = router.post(f"{BASE}/changecarrier")
        await _track([YUNEXPRESS])
    assert change.call_count == 0


# -- requests byte for byte ------------------------------------------------------------------


async def _sent(numbers: Sequence[str], first_answer: Any) -> list[httpx.Request]:
    sent: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path.endswith("/gettrackinfo"):
            return httpx.Response(200, json=first_answer)
        return httpx.Response(200, json=_envelope([]))

    config = CARRIER.settings_model(_env_file=None, token=KEY)
    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        http = CarrierHttp(
            client=client,
            carrier="17track",
            adapter_version=CARRIER.adapter_version,
            rate_limit=RateLimit(1000.0),
            secrets=config.secret_values(),
            max_attempts=1,
        )
        await create_adapter(CARRIER, config, http=http).track(numbers)
    return sent


async def test_requests_match_17tracks_documented_examples_byte_for_byte() -> None:
    """17TRACK's example: `curl -X POST --header '17token:<key>' --header
    'Content-Type:application/json' --data '[{"number":"RR123456789CN"}]'
    https://api.17track.net/track/v1/register` (v1 docs, "Data request"); v2.2 keeps the
    header and the array body under `https://api.17track.net/track/v2.2/` ("Quick Guide").
    `changecarrier` items: `{"number", "carrier_old", "carrier_new"}` [clients].
    """
    sent = await _sent([NUMBER], _envelope([], [_rejected(NUMBER, -18019902)]))
    info, register = sent
    for request, path in ((info, "gettrackinfo"), (register, "register")):
        assert str(request.url) == f"https://api.17track.net/track/v2.2/{path}"
        assert request.method == "POST"
        assert request.headers["17token"] == KEY
        assert request.headers["content-type"] == "application/json"
        assert request.content == b'[{"number":"RR123456789CN"}]'
    moved = _item(YUNEXPRESS, [], carrier=190012)
    _, change = await _sent([YUNEXPRESS], _envelope([moved]))
    assert str(change.url) == "https://api.17track.net/track/v2.2/changecarrier"
    assert change.content == (
        b'[{"number":"YT2611200000000001","carrier_old":190012,"carrier_new":190008}]'
    )


def _sandbox_request(path: str, body: bytes, content_type: str = "application/json") -> Any:
    headers = {"17token": SANDBOX.credentials["token"], "content-type": content_type}
    return SandboxRequest("POST", f"/track/v2.2{path}", {}, headers, body)


def test_sandbox_checks_what_the_real_api_checks() -> None:
    body = b'[{"number":"RR123456789CN"}]'
    assert SANDBOX.numbers(_sandbox_request("/register", body)) == [NUMBER]
    with pytest.raises(ValueError, match="application/json"):
        SANDBOX.numbers(_sandbox_request("/register", body, "text/plain"))
    forty_one = json.dumps([{"number": f"LX{i:09d}CN"} for i in range(41)]).encode()
    with pytest.raises(ValueError, match="at most 40"):
        SANDBOX.numbers(_sandbox_request("/gettrackinfo", forty_one))
    request = _sandbox_request("/register", body)
    assert SANDBOX.authorized(request)
    wrong_name = SandboxRequest("POST", request.path, {}, {"token": KEY}, body)
    assert not SANDBOX.authorized(wrong_name)
    assert ("POST", "/track/v2.2/changecarrier") in SANDBOX.routes


# -- milestones ------------------------------------------------------------------------------


def test_departure_and_arrival_come_from_milestones_when_event_stages_are_null() -> None:
    departed, arrived = "2026-10-06T02:10:00Z", "2026-10-08T09:40:00Z"
    events = [  # newest first, stages null, texts the classifier cannot place
        _event(arrived, "Processing at ZX-9", country="DE"),
        _event(departed, "Handed over, batch 7731"),
        _event("2026-10-04T13:35:22Z", "Accepted", stage="PickedUp"),
    ]
    milestones = [("PickedUp", "2026-10-04T13:35:22Z"), ("Departure", departed)]
    milestones += [("Arrival", arrived), ("Delivered", "")]
    body = json.dumps(_envelope([_item(NUMBER, events, milestones=milestones)])).encode()
    outcome = parse(body)[NUMBER]
    assert isinstance(outcome, TrackResult)
    times = milestone_times(outcome.events)
    assert times["departed_origin"] == datetime(2026, 10, 6, 2, 10, tzinfo=UTC)
    assert times["arrived_destination"] == datetime(2026, 10, 8, 9, 40, tzinfo=UTC)
    assert times["delivered"] is None
    assert len(outcome.events) == 3  # stages given to the events, nothing invented


def test_a_milestone_without_its_event_is_kept_as_17tracks_statement() -> None:
    events = [_event("2026-10-04T13:35:22Z", "Accepted", stage="PickedUp")]
    milestones = [("PickedUp", "2026-10-04T13:35:22Z"), ("Departure", "2026-10-06T02:10:00Z")]
    body = json.dumps(_envelope([_item(NUMBER, events, milestones=milestones)])).encode()
    outcome = parse(body)[NUMBER]
    assert isinstance(outcome, TrackResult)
    (kept,) = [e for e in outcome.events if e.stage is Stage.DEPARTED_ORIGIN]
    assert kept.code == "milestone.Departure"
    assert kept.occurred_at == datetime(2026, 10, 6, 2, 10, tzinfo=UTC)


def test_an_events_own_key_stage_is_not_overridden_by_a_milestone() -> None:
    when = "2026-10-04T13:35:22Z"
    events = [_event(when, "Accepted", stage="PickedUp")]
    body = json.dumps(_envelope([_item(NUMBER, events, milestones=[("PickedUp", when)])]))
    outcome = parse(body.encode())[NUMBER]
    assert isinstance(outcome, TrackResult)
    assert [e.stage for e in outcome.events] == [Stage.PICKED_UP]


# -- other shapes refused by name ------------------------------------------------------------

V1_ITEM = {
    "number": NUMBER,
    "track": {
        "e": 40,
        "w1": 3011,
        "z0": {"a": "2026-10-06 10:00", "z": "Delivered"},
        "z1": [{"a": "2026-10-06 10:00", "c": "", "d": "", "z": "Delivered"}],
        "z2": [],
    },
}
V1_BODY = {"code": 0, "data": {"accepted": [V1_ITEM], "rejected": []}}
WEB_BODY = {
    "ret": 1,
    "msg": "Ok",
    "g": "0f0e0d0c",
    "dat": [{"no": NUMBER, "track": {"e": 40, "z1": [], "z2": []}}],
}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(V1_BODY, "17TRACK API v1", id="api-v1"),
        pytest.param(
            {"event": "TRACKING_UPDATED", "data": V1_BODY["data"]["accepted"][0]},
            "v1 push",
            id="v1-push",
        ),  # type: ignore[index]
        pytest.param(WEB_BODY, "web tracking API", id="web-api"),
    ],
)
def test_other_17track_shapes_are_refused_by_name(body: Any, named: str) -> None:
    with pytest.raises(BadPayloadError) as caught:
        parse(json.dumps(body).encode())
    message = str(caught.value)
    assert named in message
    assert "17TRACK API v2.2/v2.4" in message  # what is supported


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b'{"code": 0, "data": []}', "`data` is a list where an object is expected"),
        pytest.param(b'{"data": {"accepted": []}}', "`code` is missing"),
        pytest.param(
            b'{"code": 0, "data": {"accepted": [{"track_info": {}}]}}',
            "`data.accepted.0.number` is missing",
        ),
    ],
)
def test_wrong_shapes_are_refused_in_plain_words(body: bytes, reason: str) -> None:
    with pytest.raises(BadPayloadError) as caught:
        parse(body)
    message = str(caught.value)
    assert message.startswith("17track: this is not a 17TRACK API v2.2/v2.4")
    assert reason in message
    assert "Input should be" not in message
    assert "_Data" not in message


# -- the awaiting state, stored ---------------------------------------------------------------


def test_awaiting_data_is_stored_as_such_and_polled_again_within_minutes(
    sqlite_url: str, make_engine: Any
) -> None:
    engine = make_engine(sqlite_url)
    with transaction(engine) as connection:
        connection.execute(
            sa.text(
                "INSERT INTO shipments (carrier, tracking_number, role, carrier_name, state, "
                "carrier_status, final, poll_count, created_at) VALUES "
                "('17track', :n, 'origin', '', 'new', '', false, 0, :t)"
            ),
            {"n": NUMBER, "t": datetime(2026, 11, 20, tzinfo=UTC).isoformat(" ")},
        )
        sid = connection.execute(sa.text("SELECT id FROM shipments")).scalar_one()
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    exchange = Exchange("17track", "v", "POST", f"{BASE}/register", None, 200, (), b"{}", now)
    awaiting = CarrierFailure(NUMBER, ErrorKind.AWAITING_DATA, "registered just now")
    store_results(
        engine,
        shipment_ids={NUMBER: sid},
        results=[NumberResult(NUMBER, (exchange,), awaiting)],
        now=now,
        run_id=None,
    )
    with engine.connect() as connection:
        state, error_kind, next_poll = connection.execute(
            sa.text("SELECT state, error_kind, next_poll_at FROM shipments")
        ).one()
    assert (state, error_kind) == ("awaiting_data", "awaiting_data")
    assert datetime.fromisoformat(str(next_poll)).replace(tzinfo=UTC) - now == timedelta(minutes=15)

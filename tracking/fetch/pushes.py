"""Carrier pushes in: a verified 17TRACK push is stored and judged like a fetched answer.

The push body is kept as a raw exchange (the same evidence as a `gettrackinfo` answer),
parsed by the 17TRACK parser and stored through the pipeline's own path
(`repository.store_results`); then every order whose shipment, or one of its legs, is that
number is judged again (`store.polls.orders_touching`, `repository.recompute_verdicts`), in
every tenant, each under the policy of its stored verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from carriers.track17 import CARRIER
from carriers.track17.client import Track17Settings
from carriers.track17.parse import STOPPED_STATUS, push_number
from carriers.track17.push import verify_push
from tracking.core.config import Settings, load_carrier_settings
from tracking.core.domain import Exchange, NumberResult
from tracking.judge.policies import resolve_policy, stored_policy
from tracking.store.answers import store_results
from tracking.store.exchanges import store_exchange
from tracking.store.polls import orders_touching, shipments_of_number
from tracking.store.runs import verdict_policies
from tracking.store.verdicts import recompute_verdicts

__all__ = ["PUSH_URL", "PushReceipt", "push_keys", "receive_17track_push", "sign_ok"]

PUSH_URL = "inbound:/v1/carriers/17track/push"
"""The `url` of a stored push exchange: received from 17TRACK, not fetched."""


@dataclass(frozen=True, slots=True)
class PushReceipt:
    """What one push did: its event and number, the shipments and orders it touched."""

    event: str
    number: str
    shipments: int
    orders_judged: int
    exchange_sha256: str

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def push_keys(settings: Settings) -> list[str]:
    """The keys a 17TRACK push may be signed with: `push_key`, else (and also) `token`."""
    carrier = load_carrier_settings(Track17Settings, settings=settings, code=CARRIER.code)
    assert isinstance(carrier, Track17Settings)
    return [s.get_secret_value() for s in (carrier.push_key, carrier.token) if s is not None]


def sign_ok(body: bytes, sign: str, keys: Sequence[str]) -> bool:
    """Whether the push's `sign` matches its raw body under one of `keys`."""
    return verify_push(body, sign, keys)


def receive_17track_push(
    engine: Engine,
    *,
    body: bytes,
    content_type: str,
    settings: Settings,
    now: datetime,
) -> PushReceipt:
    """Store a verified push and judge the orders it concerns again.

    Raises `BadPayloadError` (nothing stored) when the body is not a 17TRACK push.
    """
    event, number = push_number(body)
    parsed = CARRIER.parse(body, requested=(number,))
    exchange = Exchange(
        carrier=CARRIER.code,
        adapter_version=CARRIER.adapter_version,
        method="POST",
        url=PUSH_URL,
        request_body=None,
        status=200,
        headers=(("content-type", content_type or "application/json"),),
        body=body,
        fetched_at=now,
    )
    shipment_ids = _shipments(engine, number)
    outcome = parsed.get(number)
    if outcome is None or not shipment_ids:
        store_exchange(engine, exchange, shipment_ids=shipment_ids, run_id=None)
        return PushReceipt(event, number, len(shipment_ids), 0, exchange.sha256)
    stopped = getattr(outcome, "carrier_status", "") == STOPPED_STATUS
    if stopped:
        # A "stopped" notice has no events: kept as evidence, it changes no state.
        store_exchange(engine, exchange, shipment_ids=shipment_ids, run_id=None)
        return PushReceipt(event, number, len(shipment_ids), 0, exchange.sha256)
    for sid in shipment_ids:
        store_results(
            engine,
            shipment_ids={number: sid},
            results=[NumberResult(number, (exchange,), outcome)],
            now=now,
            run_id=None,
        )
    orders = orders_touching(engine, shipment_ids=shipment_ids)
    _judge(engine, orders, settings=settings, now=now)
    return PushReceipt(event, number, len(shipment_ids), len(orders), exchange.sha256)


def _shipments(engine: Engine, number: str) -> list[int]:
    """Ids of the 17TRACK shipments of `number` (as stored, or upper-cased without spaces)."""
    spellings = sorted({number, "".join(number.split()).upper()})
    return shipments_of_number(engine, carrier=CARRIER.code, spellings=spellings)


def _judge(engine: Engine, orders: Sequence[int], *, settings: Settings, now: datetime) -> None:
    """Judge `orders` again, each under its stored verdict's policy (the default else)."""
    if not orders:
        return
    default = resolve_policy(settings.policy, settings=settings)
    named = verdict_policies(engine, order_ids=orders)
    groups: dict[str, list[int]] = defaultdict(list)
    policies = {default.name: default}
    for pk in orders:
        name = named.get(pk) or default.name
        if name not in policies:
            policies[name] = stored_policy(name, current=default) or default
        groups[policies[name].name].append(pk)
    for name, ids in groups.items():
        recompute_verdicts(engine, order_ids=ids, as_of=now, policy=policies[name], now=now)

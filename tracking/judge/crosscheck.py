"""Cross-order checks: tracking numbers cited by more than one order of one seller.

One indexed query per chunk of orders (`orders.tracking_number` is indexed), never a loop over
all orders: the chunk's numbers go into one `IN (...)` and every order citing one of them
comes back. Only orders of the same account group count (the stores of one seller, see
`tracking.store.isolation`): an unrelated tenant citing the number is neither revealed nor able to
change the verdict. The validator turns the result into `number.shared` findings.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracking.store.handles import table_of
from tracking.store.isolation import group_keys
from tracking.store.tables import OrderParcelRecord, OrderRecord, VerdictRecord

__all__ = [
    "OrderRef",
    "former_partners",
    "shared_tracking",
]

OT = table_of(OrderRecord)
V = table_of(VerdictRecord)
P = table_of(OrderParcelRecord)

_IN_CHUNK = 1000
_SHARED_CODES = ("number.shared", "number.merged")


@dataclass(frozen=True, slots=True, order=True)
class OrderRef:
    """Another order, as a finding points at it: `tenant/order id`."""

    tenant: str
    order_id: str
    pk: int
    group: str = field(default="", compare=False)
    """How the export groups its parcel (`orders.parcel_group`): "merged", "package:<id>"."""

    @property
    def ref(self) -> str:
        return f"{self.tenant}/{self.order_id}"


def shared_tracking(
    connection: Connection, orders: Sequence[tuple[int, str]]
) -> dict[int, tuple[OrderRef, ...]]:
    """For each (order pk, tracking number), the *other* orders of its account group citing
    the same number.

    Orders with no such order are left out. Empty numbers are ignored. One query per 1,000
    distinct numbers, and one for the groups of the tenants found.
    """
    numbers = sorted({number for _, number in orders if number})
    holders: dict[str, list[OrderRef]] = defaultdict(list)
    for start in range(0, len(numbers), _IN_CHUNK):
        chunk = numbers[start : start + _IN_CHUNK]
        rows = connection.execute(
            sa.select(
                OT.c.id, OT.c.tenant, OT.c.order_id, OT.c.tracking_number, OT.c.parcel_group
            ).where(OT.c.tracking_number.in_(chunk))
        )
        for pk, tenant, order_id, number, group in rows:
            holders[number].append(OrderRef(tenant, order_id, pk, group or ""))
        parcels = connection.execute(  # further parcels of split orders cite numbers too
            sa.select(OT.c.id, OT.c.tenant, OT.c.order_id, P.c.tracking_number, OT.c.parcel_group)
            .join(OT, OT.c.id == P.c.order_pk)
            .where(P.c.tracking_number.in_(chunk))
        )
        for pk, tenant, order_id, number, group in parcels:
            holders[number].append(OrderRef(tenant, order_id, pk, group or ""))
    found: dict[int, tuple[OrderRef, ...]] = {}
    shared = {number: refs for number, refs in holders.items() if len(refs) > 1}
    if not shared:
        return found
    group_of = group_keys(connection, {ref.tenant for refs in shared.values() for ref in refs})
    for pk, number in orders:
        refs = shared.get(number, [])
        mine = next((ref for ref in refs if ref.pk == pk), None)
        if mine is None:
            continue
        group = group_of[mine.tenant]
        others = tuple(
            sorted(ref for ref in refs if ref.pk != pk and group_of[ref.tenant] == group)
        )
        if others:
            found[pk] = others
    return found


def former_partners(connection: Connection, order_pks: Sequence[int]) -> set[int]:
    """Orders that the stored verdicts of `order_pks` name as sharing their number.

    When an order's number changes (a corrected orders file), the orders it used to share
    it with must be judged again, or they would keep a `number.shared` finding that is no
    longer true.
    """
    pairs: set[tuple[str, str]] = set()
    for start in range(0, len(order_pks), _IN_CHUNK):
        chunk = list(order_pks[start : start + _IN_CHUNK])
        rows = connection.execute(
            sa.select(V.c.findings).where(
                V.c.order_pk.in_(chunk),
                sa.or_(*(V.c.findings.contains(f'"{code}"') for code in _SHARED_CODES)),
            )
        )
        for (text,) in rows:
            pairs.update(_pointers(text))
    return _order_pks(connection, pairs)


def _pointers(findings_json: str) -> Iterable[tuple[str, str]]:
    try:
        items = json.loads(findings_json)
    except ValueError:
        return
    for item in items:
        if not isinstance(item, dict) or item.get("code") not in _SHARED_CODES:
            continue
        for pointer in item.get("evidence", ()):
            if isinstance(pointer, str) and pointer.startswith("order:"):
                tenant, sep, order_id = pointer[len("order:") :].partition("/")
                if sep:
                    yield tenant, order_id


def _order_pks(connection: Connection, pairs: set[tuple[str, str]]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(pairs)
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        found.update(
            connection.execute(
                sa.select(OT.c.id).where(sa.tuple_(OT.c.tenant, OT.c.order_id).in_(chunk))
            ).scalars()
        )
    return found

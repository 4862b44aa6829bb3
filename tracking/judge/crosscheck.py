"""Cross-order checks: tracking numbers cited by more than one order of one seller.

Pure functions; the store reads the facts (`tracking.store.portfolio.number_holders`: every
order citing one of a chunk's numbers, one indexed query per 1,000 numbers) and
`tracking.store.portfolio.shared_tracking` puts the two together. Only orders of the same
account group count (the stores of one seller, see `tracking.store.isolation`): an unrelated
tenant citing the number is neither revealed nor able to change the verdict. The validator
turns the result into `number.shared` findings (`tracking.judge.rules.numbers`).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "SHARED_CODES",
    "OrderRef",
    "shared_among",
    "shared_pointers",
]

SHARED_CODES = ("number.shared", "number.merged")
"""The finding codes that name other orders citing the same number."""


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


def shared_among(
    orders: Sequence[tuple[int, str]],
    holders: Mapping[str, Sequence[OrderRef]],
    group_of: Mapping[str, Hashable],
) -> dict[int, tuple[OrderRef, ...]]:
    """For each (order pk, tracking number), the *other* orders of its account group citing
    the same number, given every order citing each number (`holders`) and the account group
    of each tenant among them (`group_of`).

    Orders with no such order are left out.
    """
    found: dict[int, tuple[OrderRef, ...]] = {}
    shared = {number: refs for number, refs in holders.items() if len(refs) > 1}
    if not shared:
        return found
    for pk, number in orders:
        refs = shared.get(number, ())
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


def shared_pointers(findings_json: str) -> Iterable[tuple[str, str]]:
    """The (tenant, order id) pairs a stored verdict's sharing findings point at.

    When an order's number changes (a corrected orders file), the orders it used to share it
    with must be judged again, or they would keep a `number.shared` finding that is no longer
    true (`tracking.store.history.former_partners`).
    """
    try:
        items = json.loads(findings_json)
    except ValueError:
        return
    for item in items:
        if not isinstance(item, dict) or item.get("code") not in SHARED_CODES:
            continue
        for pointer in item.get("evidence", ()):
            if isinstance(pointer, str) and pointer.startswith("order:"):
                tenant, sep, order_id = pointer[len("order:") :].partition("/")
                if sep:
                    yield tenant, order_id

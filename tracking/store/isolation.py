"""Tenant isolation: tenants share nothing they did not both prove (design §13, issue 15).

The decision, and why
---------------------

Before, a shipment was unique by (carrier, tracking number) and shared by every tenant citing
the number; carrier requests were batched across tenants. A tenant importing another's number
then saw the other's events, the batch's URL and body (up to 40 other parcels of the other
tenant, with destinations and histories), and `number.shared` let it flip the other's verdict
to fail and fire its webhooks. Two designs could close this:

1. **Slice bodies**: keep one shared shipment, and serve a tenant only the part of a stored
   body answering for its own numbers, with the slice's own digest and a proof of inclusion.
   Every carrier's body format (JSON batches, 17TRACK pages, HTML errors) would need a slicer
   and a proof format a reviewer can check, and events would still be shared.
2. **Own shipments, own requests** (chosen): a shipment belongs to one tenant, unique by
   (tenant, carrier, number). Due shipments are batched per carrier *and tenant*
   (`tenant_batches`), so a carrier request carries one tenant's numbers only and every stored
   body answers for that tenant alone: it can be served whole, with the digest of the bytes
   the carrier sent. Each exchange records whose request it was (`exchanges.tenant`); an
   order lists, and `GET /v1/exchanges/{sha256}` serves, only its tenant's exchanges. A body
   identical for two tenants (the same answer about the same single number) is stored once,
   content-addressed, and each may read it: it names nothing the reader did not ask about.

   The price: two tenants citing one number cost two requests and two copies of its events.
   A number cited by unrelated stores is rare (it is the brushing signal of design §14), so
   the price is small; per-tenant carrier accounts need separate requests anyway.

Data stored before migration 0006: a shipment cited by several tenants stays with the first
and the others get a fresh one (fetched by their next pull); an exchange that answered for
several tenants' numbers is served and listed to nobody (`exchanges.tenant` NULL).

Cross-store checks
------------------

`number.shared` compares an order only with orders of its own **account group**: the stores
one seller operates, as the operator declares them (`track-evidence groups set`, table
`account_groups`). A tenant in no group is a group of its own. Across unrelated tenants a
shared number is neither revealed nor allowed to change the other tenant's verdict. Views
scoped to one store (API, webhooks, bundles) also hide which sibling store an order is of
(`tracking.judge.findings.redact_other_stores`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.store.engine import transaction
from tracking.store.tables import ACCOUNT_GROUPS

__all__ = [
    "GroupKey",
    "clear_group",
    "group_keys",
    "list_groups",
    "set_group",
    "tenant_batches",
]

GroupKey = tuple[str, str]
"""("group", name) for a declared group, ("tenant", name) for a tenant in none."""


class _Owned(Protocol):
    @property
    def tenant(self) -> str: ...


T = TypeVar("T", bound=_Owned)


def tenant_batches(shipments: Sequence[T], size: int) -> list[list[T]]:
    """`shipments` in batches of at most `size`, each holding one tenant's shipments only.

    The order within a tenant is kept; tenants come in order of first appearance.
    """
    by_tenant: dict[str, list[T]] = defaultdict(list)
    for shipment in shipments:
        by_tenant[shipment.tenant].append(shipment)
    size = max(1, size)
    return [
        items[start : start + size]
        for items in by_tenant.values()
        for start in range(0, len(items), size)
    ]


def group_keys(connection: Connection, tenants: Iterable[str]) -> dict[str, GroupKey]:
    """Each tenant's account group key (a tenant in no group is its own group)."""
    wanted = sorted(set(tenants))
    keys: dict[str, GroupKey] = {t: ("tenant", t) for t in wanted}
    for start in range(0, len(wanted), 1000):
        rows = connection.execute(
            sa.select(ACCOUNT_GROUPS.c.tenant, ACCOUNT_GROUPS.c.group_name).where(
                ACCOUNT_GROUPS.c.tenant.in_(wanted[start : start + 1000])
            )
        )
        for tenant, group in rows:
            keys[tenant] = ("group", group)
    return keys


def set_group(engine: Engine, *, group: str, tenants: Sequence[str]) -> None:
    """Put `tenants` in account group `group` (moving them out of any other)."""
    group = group.strip()
    names = sorted({t.strip() for t in tenants if t.strip()})
    if not group or len(group) > 128:
        raise ValueError("a group name is 1 to 128 characters")
    if not names or any(len(t) > 128 for t in names):
        raise ValueError("name at least one store (tenant), each at most 128 characters")
    now = datetime.now(UTC)
    with transaction(engine) as connection:
        connection.execute(sa.delete(ACCOUNT_GROUPS).where(ACCOUNT_GROUPS.c.tenant.in_(names)))
        connection.execute(
            sa.insert(ACCOUNT_GROUPS),
            [{"tenant": t, "group_name": group, "created_at": now} for t in names],
        )


def clear_group(engine: Engine, *, tenants: Sequence[str]) -> int:
    """Take `tenants` out of their account groups; how many were in one."""
    with transaction(engine) as connection:
        result = connection.execute(
            sa.delete(ACCOUNT_GROUPS).where(ACCOUNT_GROUPS.c.tenant.in_(list(tenants)))
        )
    return max(result.rowcount, 0)


def list_groups(engine: Engine) -> Mapping[str, list[str]]:
    """Every declared group and its stores, sorted."""
    groups: dict[str, list[str]] = defaultdict(list)
    with engine.connect() as connection:
        for tenant, group in connection.execute(
            sa.select(ACCOUNT_GROUPS.c.tenant, ACCOUNT_GROUPS.c.group_name).order_by(
                ACCOUNT_GROUPS.c.group_name, ACCOUNT_GROUPS.c.tenant
            )
        ):
            groups[group].append(tenant)
    return dict(groups)

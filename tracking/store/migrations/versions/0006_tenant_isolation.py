"""Tenant isolation: shipments belong to one tenant, exchanges name whose request they were,
account groups for cross-store checks

Before this revision a shipment was unique by (carrier, number) and shared by every tenant
citing the number, so one tenant saw another's events and batch bodies. Now:

* `shipments.tenant`: each shipment is one tenant's; unique by (tenant, carrier, number). A
  shipment cited by orders of several tenants stays with the tenant whose order cited it first
  (lowest order id); every other tenant gets a new shipment of its own, never fetched yet
  (its next pull fetches it with a request of its own). Legs follow their origin shipment.
* `exchanges.tenant`: the tenant whose numbers the request carried. An exchange stored before
  this revision that answered for shipments of several tenants (a batch mixing their numbers)
  gets NULL: it is listed and served to nobody.
* `account_groups`: the operator's seller account groups (`track-evidence groups`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import tracking.store.tables
from tracking.store.migrations.columns import index_new_shipments, string, utc

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    bind = op.get_bind()
    # The partial index is dropped around SQLite's table copy and made again after it.
    op.drop_index("ix_shipments_new", table_name="shipments")
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(
            sa.Column("tenant", sa.String(length=128), nullable=False, server_default="")
        )
        batch.drop_constraint("uq_shipment_carrier_number", type_="unique")
        batch.create_unique_constraint(
            "uq_shipment_tenant_number", ["tenant", "carrier", "tracking_number"]
        )
    index_new_shipments()
    with op.batch_alter_table("exchanges") as batch:
        batch.add_column(string("tenant", 128, nullable=True))
    op.create_table(
        "account_groups",
        string("tenant", 128),
        string("group_name", 128),
        utc("created_at"),
        sa.PrimaryKeyConstraint("tenant"),
    )
    with op.batch_alter_table("account_groups") as batch:
        batch.create_index(batch.f("ix_account_groups_group_name"), ["group_name"], unique=False)
    _split_shared_shipments(bind)


def _split_shared_shipments(bind: sa.Connection) -> None:
    # 1. An origin shipment belongs to the tenant of the first order citing it.
    bind.exec_driver_sql(
        "UPDATE shipments SET tenant = (SELECT o.tenant FROM orders o "
        "WHERE o.shipment_id = shipments.id ORDER BY o.id LIMIT 1) "
        "WHERE EXISTS (SELECT 1 FROM orders o WHERE o.shipment_id = shipments.id)"
    )
    # 2. Legs follow their parent (a leg of a leg at most a few levels deep).
    for _ in range(4):
        bind.exec_driver_sql(
            "UPDATE shipments SET tenant = (SELECT p.tenant FROM shipments p "
            "WHERE p.id = shipments.parent_id) WHERE parent_id IS NOT NULL AND tenant <> "
            "(SELECT p.tenant FROM shipments p WHERE p.id = shipments.parent_id)"
        )
    # 3. Every other tenant citing the number gets a shipment of its own.
    others = bind.exec_driver_sql(
        "SELECT DISTINCT o.tenant, s.carrier, s.tracking_number FROM orders o "
        "JOIN shipments s ON s.id = o.shipment_id WHERE o.tenant <> s.tenant "
        "ORDER BY o.tenant, s.carrier, s.tracking_number"
    ).all()
    now = datetime.now(UTC)
    shipments = sa.table(
        "shipments",
        sa.column("id", sa.Integer()),
        sa.column("tenant", sa.String()),
        sa.column("carrier", sa.String()),
        sa.column("tracking_number", sa.String()),
        sa.column("role", sa.String()),
        sa.column("carrier_name", sa.String()),
        sa.column("state", sa.String()),
        sa.column("carrier_status", sa.String()),
        sa.column("final", sa.Boolean()),
        sa.column("poll_count", sa.Integer()),
        sa.column("created_at", tracking.store.tables.UTCDateTime()),
    )
    for tenant, carrier, number in others:
        new_id = bind.execute(
            sa.insert(shipments)
            .values(
                tenant=tenant,
                carrier=carrier,
                tracking_number=number,
                role="origin",
                carrier_name="",
                state="new",
                carrier_status="",
                final=False,
                poll_count=0,
                created_at=now,
            )
            .returning(shipments.c.id)
        ).scalar_one()
        bind.execute(
            sa.text(
                "UPDATE orders SET shipment_id = :new WHERE tenant = :tenant AND shipment_id IN "
                "(SELECT id FROM shipments WHERE carrier = :carrier AND tracking_number = :number "
                "AND tenant <> :tenant)"
            ),
            {"new": new_id, "tenant": tenant, "carrier": carrier, "number": number},
        )
    # 4. An exchange is its tenant's when every shipment it answered for is that tenant's.
    bind.exec_driver_sql(
        "UPDATE exchanges SET tenant = (SELECT MIN(s.tenant) FROM exchange_shipments xs "
        "JOIN shipments s ON s.id = xs.shipment_id WHERE xs.exchange_id = exchanges.id) "
        "WHERE (SELECT COUNT(DISTINCT s.tenant) FROM exchange_shipments xs "
        "JOIN shipments s ON s.id = xs.shipment_id WHERE xs.exchange_id = exchanges.id) = 1"
    )


def downgrade() -> None:
    with op.batch_alter_table("account_groups") as batch:
        batch.drop_index(batch.f("ix_account_groups_group_name"))
    op.drop_table("account_groups")
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_column("tenant")
    op.drop_index("ix_shipments_new", table_name="shipments")
    # Going back needs (carrier, number) unique again: only the first tenant's shipment stays
    # cited; the others' orders point at it (as before this revision).
    bind = op.get_bind()
    bind.exec_driver_sql(
        "UPDATE orders SET shipment_id = (SELECT MIN(k.id) FROM shipments s "
        "JOIN shipments k ON k.carrier = s.carrier AND k.tracking_number = s.tracking_number "
        "WHERE s.id = orders.shipment_id) WHERE shipment_id IS NOT NULL"
    )
    bind.exec_driver_sql(
        "DELETE FROM events WHERE shipment_id IN (SELECT s.id FROM shipments s WHERE EXISTS "
        "(SELECT 1 FROM shipments k WHERE k.carrier = s.carrier "
        "AND k.tracking_number = s.tracking_number AND k.id < s.id))"
    )
    bind.exec_driver_sql(
        "DELETE FROM exchange_shipments WHERE shipment_id IN (SELECT s.id FROM shipments s "
        "WHERE EXISTS (SELECT 1 FROM shipments k WHERE k.carrier = s.carrier "
        "AND k.tracking_number = s.tracking_number AND k.id < s.id))"
    )
    bind.exec_driver_sql(
        "UPDATE shipments SET parent_id = NULL WHERE parent_id IN (SELECT s.id FROM shipments s "
        "WHERE EXISTS (SELECT 1 FROM shipments k WHERE k.carrier = s.carrier "
        "AND k.tracking_number = s.tracking_number AND k.id < s.id))"
    )
    bind.exec_driver_sql(
        "DELETE FROM shipments WHERE EXISTS (SELECT 1 FROM shipments k "
        "WHERE k.carrier = shipments.carrier AND k.tracking_number = shipments.tracking_number "
        "AND k.id < shipments.id)"
    )
    with op.batch_alter_table("shipments") as batch:
        batch.drop_constraint("uq_shipment_tenant_number", type_="unique")
        batch.create_unique_constraint("uq_shipment_carrier_number", ["carrier", "tracking_number"])
        batch.drop_column("tenant")
    index_new_shipments()

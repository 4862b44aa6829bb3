"""Storage: SQLModel tables, the engine factory, migrations and idempotent writes.

SQLite (WAL, busy timeout) is the default; PostgreSQL (`postgresql+psycopg://...`) at scale.
Exchanges and events are insert-or-ignore on their identity, so re-running never duplicates.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from tracking.core.exceptions import StorageError
from tracking.core.redaction import install_database_redaction

__all__ = [
    "AccountGroup",
    "EventRecord",
    "ExchangeBody",
    "ExchangeRecord",
    "ExchangeShipment",
    "OrderRecord",
    "RunRecord",
    "ShipmentRecord",
    "UTCDateTime",
    "VerdictHistory",
    "VerdictRecord",
    "compress_body",
    "decompress_body",
    "insert_ignore",
    "migrate",
    "open_engine",
    "transaction",
]

_COMPRESS_MIN = 256


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; naive values are refused (they are bugs)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite hands back the UTC text written above: parse it in one C call instead of
        # SQLAlchemy's regular expression, then process_result_value (the bulk of a load).
        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str):
                return datetime.fromisoformat(value).replace(tzinfo=UTC)
            return self.process_result_value(value, dialect)

        return process


def _utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def _now() -> datetime:
    return datetime.now(UTC)


class RunRecord(SQLModel, table=True):
    """One pull or refresh run."""

    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=16)
    source: str = Field(default="", max_length=1024)
    started_at: datetime = Field(sa_column=_utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    status: str = Field(default="running", max_length=16)
    stats: str = Field(default="{}")


class ShipmentRecord(SQLModel, table=True):
    """A tenant's (carrier, tracking number); a last-mile leg links to its origin shipment.

    One tenant's: two tenants citing one number each have their own shipment, fetched with
    their own requests (see `tracking.store.isolation`).
    """

    __tablename__ = "shipments"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant", "carrier", "tracking_number", name="uq_shipment_tenant_number"
        ),
        sa.Index("ix_shipments_due", "next_poll_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(default="", max_length=128)
    carrier: str = Field(max_length=32)
    tracking_number: str = Field(max_length=64, index=True)
    parent_id: int | None = Field(default=None, foreign_key="shipments.id", index=True)
    role: str = Field(default="origin", max_length=16)
    carrier_name: str = Field(default="", max_length=128)
    state: str = Field(default="new", max_length=16)
    carrier_status: str = Field(default="", max_length=128)
    latest_stage: str | None = Field(default=None, max_length=32)
    final: bool = False
    origin_country: str | None = Field(default=None, max_length=2)
    destination_country: str | None = Field(default=None, max_length=2)
    error_kind: str | None = Field(default=None, max_length=32)
    error_message: str | None = Field(default=None, max_length=1024)
    poll_count: int = 0
    created_at: datetime = Field(default_factory=_now, sa_column=_utc_column())
    first_fetched_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    last_fetched_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    last_event_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    not_found_since: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    next_poll_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class OrderRecord(SQLModel, table=True):
    """A marketplace order, unique by (tenant, order_id)."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.UniqueConstraint("tenant", "order_id", name="uq_order_tenant_id"),
        sa.Index("ix_orders_tenant_date", "tenant", "order_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant: str = Field(max_length=128)
    order_id: str = Field(max_length=512)
    marketplace: str = Field(default="", max_length=64)
    order_date: datetime = Field(sa_column=_utc_column())
    ship_date: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    tracking_number: str = Field(max_length=64, index=True)
    carrier: str | None = Field(default=None, max_length=32)
    carrier_declared: str = Field(default="", max_length=256)
    carrier_source: str = Field(default="declared", max_length=32)
    destination_country: str = Field(max_length=2)
    destination_postal_code: str = Field(default="", max_length=32)
    destination_city: str = Field(default="", max_length=128)
    order_value: Decimal | None = Field(
        default=None, sa_column=sa.Column(sa.Numeric(14, 2), nullable=True)
    )
    currency: str = Field(default="", max_length=3)
    shipment_id: int | None = Field(default=None, foreign_key="shipments.id", index=True)
    parcel_group: str = Field(default="", max_length=160)
    """How the export groups this order's parcel with other orders' ("merged": an ERP's merge
    flag; "package:<id>": its package id); "" when it says nothing."""
    source: str = Field(default="", max_length=1024)
    last_run_id: str | None = Field(default=None, max_length=36, index=True)
    created_at: datetime = Field(default_factory=_now, sa_column=_utc_column())
    updated_at: datetime = Field(default_factory=_now, sa_column=_utc_column())


class OrderParcelRecord(SQLModel, table=True):
    """Another parcel of an order shipped in several (a split order).

    The order's own `tracking_number` and `shipment_id` are its first parcel; each further
    distinct tracking number the export gives the order is one row here, tracked and judged
    like the first (the order's verdict needs every parcel's milestones).
    """

    __tablename__ = "order_parcels"
    __table_args__ = (
        sa.UniqueConstraint("order_pk", "tracking_number", name="uq_order_parcel_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_pk: int = Field(foreign_key="orders.id", index=True)
    tracking_number: str = Field(max_length=64)
    carrier: str | None = Field(default=None, max_length=32)
    carrier_declared: str = Field(default="", max_length=256)
    carrier_source: str = Field(default="declared", max_length=32)
    shipment_id: int | None = Field(default=None, foreign_key="shipments.id", index=True)
    source: str = Field(default="", max_length=1024)
    created_at: datetime = Field(default_factory=_now, sa_column=_utc_column())
    updated_at: datetime = Field(default_factory=_now, sa_column=_utc_column())


class ExchangeBody(SQLModel, table=True):
    """A raw response body, stored once per sha256 (of the original bytes)."""

    __tablename__ = "exchange_bodies"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    encoding: str = Field(default="identity", max_length=16)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))


class ExchangeRecord(SQLModel, table=True):
    """One raw carrier HTTP exchange, append-only, secrets removed."""

    __tablename__ = "exchanges"

    id: int | None = Field(default=None, primary_key=True)
    carrier: str = Field(max_length=32, index=True)
    adapter_version: str = Field(max_length=64)
    method: str = Field(max_length=8)
    url: str = Field(max_length=4096)
    request_body: bytes | None = Field(
        default=None, sa_column=sa.Column(sa.LargeBinary(), nullable=True)
    )
    status: int
    headers: str = Field(default="[]")
    body_sha256: str = Field(foreign_key="exchange_bodies.sha256", max_length=64, index=True)
    fetched_at: datetime = Field(sa_column=_utc_column())
    run_id: str | None = Field(default=None, max_length=36)
    tenant: str | None = Field(default=None, max_length=128)
    """Whose numbers the request carried; None when several tenants' (served to nobody)."""


class ExchangeShipment(SQLModel, table=True):
    """Which shipments an exchange answered for (a batch answers for several)."""

    __tablename__ = "exchange_shipments"

    exchange_id: int = Field(foreign_key="exchanges.id", primary_key=True)
    shipment_id: int = Field(foreign_key="shipments.id", primary_key=True, index=True)


class EventRecord(SQLModel, table=True):
    """A normalized event, unique per shipment by its identity key."""

    __tablename__ = "events"
    __table_args__ = (sa.UniqueConstraint("shipment_id", "dedup_key", name="uq_event_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    # Indexed by uq_event_identity, whose first column it is (no index of its own).
    shipment_id: int = Field(foreign_key="shipments.id")
    dedup_key: str = Field(max_length=40)
    stage: str = Field(max_length=32)
    code: str = Field(default="", max_length=128)
    description: str = Field(default="")
    location: str = Field(default="", max_length=512)
    country: str | None = Field(default=None, max_length=2)
    occurred_at: datetime = Field(sa_column=_utc_column())
    local_offset: int | None = None
    time_source: str = Field(max_length=24)
    raw_time: str = Field(default="", max_length=128)
    exchange_id: int = Field(foreign_key="exchanges.id")
    first_seen_at: datetime = Field(sa_column=_utc_column())


class VerdictRecord(SQLModel, table=True):
    """The current verdict of an order."""

    __tablename__ = "verdicts"

    order_pk: int = Field(foreign_key="orders.id", primary_key=True)
    status: str = Field(max_length=16, index=True)
    policy: str = Field(max_length=32)
    milestones: str = Field(default="{}")
    findings: str = Field(default="[]")
    digest: str = Field(max_length=64)
    computed_at: datetime = Field(sa_column=_utc_column())


class VerdictHistory(SQLModel, table=True):
    """Every distinct verdict an order has had, oldest first."""

    __tablename__ = "verdict_history"

    id: int | None = Field(default=None, primary_key=True)
    order_pk: int = Field(foreign_key="orders.id", index=True)
    status: str = Field(max_length=16)
    policy: str = Field(max_length=32)
    milestones: str = Field(default="{}")
    findings: str = Field(default="[]")
    digest: str = Field(max_length=64)
    computed_at: datetime = Field(sa_column=_utc_column())


class AccountGroup(SQLModel, table=True):
    """An operator-declared seller account group: stores whose orders are checked together."""

    __tablename__ = "account_groups"

    tenant: str = Field(primary_key=True, max_length=128)
    group_name: str = Field(max_length=128, index=True)
    created_at: datetime = Field(sa_column=_utc_column())


# -- engine -------------------------------------------------------------------------------


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Checkpoint the WAL every 8192 pages (32 MiB) rather than 1000: a pull commits often, and
    # each checkpoint copies pages back and syncs the database file.
    cursor.execute("PRAGMA wal_autocheckpoint=8192")
    cursor.close()


def open_engine(url: str, *, migrate_schema: bool = True) -> Engine:
    """An engine for `url` with the schema migrated to the latest revision.

    Raises `StorageError` with a plain message when the database cannot be opened.
    """
    try:
        if url.startswith("sqlite"):
            path = sa.engine.make_url(url).database
            if path and path != ":memory:":
                parent = Path(path).expanduser().resolve().parent
                if not parent.is_dir():
                    raise StorageError(f"database folder {parent} does not exist")
            engine = sa.create_engine(url, connect_args={"timeout": 30, "cached_statements": 32})
            sa_event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True)
        install_database_redaction(engine)  # no registered secret is ever written
        if migrate_schema:
            migrate(engine)
        return engine
    except StorageError:
        raise
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"cannot open database {_safe_url(url)}: {_first_line(exc)}") from exc


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid URL>"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def migrate(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied (idempotent, safe to run concurrently)."""
    from alembic import command
    from alembic.config import Config

    script_location = Path(__file__).resolve().parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if engine.dialect.name == "sqlite":
        _migrate_sqlite(engine, config)
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # One migrator at a time when several workers start together.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(7317001)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _migrate_sqlite(engine: Engine, config: Any) -> None:
    """SQLite's way to change a table (https://www.sqlite.org/lang_altertable.html, the
    12-step procedure): foreign keys off outside the transaction, the table copied, the keys
    checked with `PRAGMA foreign_key_check` before commit, then foreign keys back on.
    """
    from alembic import command

    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise StorageError(f"migration broke a foreign key in table {broken[0]}")
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction; SQLite's lock contention becomes a `StorageError`."""
    try:
        with engine.begin() as connection:
            yield connection
    except OperationalError as exc:
        raise StorageError(f"database write failed: {_first_line(exc)}") from exc


def insert_ignore(
    connection: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    count: bool = False,
) -> int:
    """Insert rows, silently skipping those whose `conflict` columns already exist.

    With `count`, return how many rows were new (else 0).
    """
    if not rows:
        return 0
    dialect = connection.dialect.name
    stmt = _insert_ignore_statement(dialect, table, tuple(conflict))
    if count and dialect == "postgresql":
        # psycopg reports no rowcount for executemany; RETURNING names the new rows.
        key = table.primary_key.columns.values()[0]
        return len(connection.execute(stmt.returning(key), list(rows)).all())
    # SQLite: a plain executemany reuses one prepared statement (a multi-row RETURNING form
    # would cache a large statement per batch size) and reports the rows really inserted.
    result = connection.execute(stmt, list(rows))
    return max(result.rowcount, 0) if count else 0


def upsert(
    connection: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Iterable[str],
) -> None:
    """Insert rows, updating the `update` columns of those that already exist."""
    if not rows:
        return
    stmt = _upsert_statement(connection.dialect.name, table, tuple(conflict), tuple(update))
    connection.execute(stmt, list(rows))


def _dialect_insert(dialect: str, table: sa.Table) -> Any:
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise StorageError(f"unsupported database dialect {dialect}")  # pragma: no cover


# Building an ON CONFLICT statement (its `excluded` columns above all) costs more than
# running it; the few shapes in use are built once per process.
@functools.cache
def _insert_ignore_statement(dialect: str, table: sa.Table, conflict: tuple[str, ...]) -> Any:
    return _dialect_insert(dialect, table).on_conflict_do_nothing(index_elements=list(conflict))


@functools.cache
def _upsert_statement(
    dialect: str, table: sa.Table, conflict: tuple[str, ...], update: tuple[str, ...]
) -> Any:
    ins = _dialect_insert(dialect, table)
    return ins.on_conflict_do_update(
        index_elements=list(conflict), set_={c: getattr(ins.excluded, c) for c in update}
    )


def compress_body(body: bytes) -> tuple[str, bytes]:
    """(encoding, stored bytes): bodies above a few hundred bytes are zlib-compressed."""
    if len(body) >= _COMPRESS_MIN:
        packed = zlib.compress(body, 3)  # level 3: half the time of 6, a few % larger
        if len(packed) < len(body):
            return "zlib", packed
    return "identity", body


def decompress_body(encoding: str, data: bytes) -> bytes:
    """The original bytes of a stored body."""
    if encoding == "zlib":
        return zlib.decompress(data)
    if encoding == "identity":
        return data
    raise StorageError(f"unknown body encoding {encoding!r}")


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON (stable digests)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

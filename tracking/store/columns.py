"""Column types every table shares: `UTCDateTime` (aware instants stored as UTC).

The one place a stored instant's form is decided, for SQLite (naive UTC text) and PostgreSQL
(`timestamptz`) alike; every write and read goes through it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime", "utc_column", "utc_now"]


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

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # SQLite stores the UTC instant as naive text: write it in one C call, the very text
        # SQLAlchemy's own SQLite DATETIME writes ("YYYY-MM-DD HH:MM:SS.ffffff"), instead of
        # process_bind_param followed by that type's %-formatting (the bulk of a write).
        # A batch repeats one instant on every row (`first_seen_at`, `last_fetched_at`): the
        # last one formatted is kept, as one (value, text) pair swapped atomically.
        memo: tuple[datetime | None, str | None] = (None, None)

        def process(value: datetime | None) -> str | None:
            nonlocal memo
            if value is None:
                return None
            last = memo
            if last[0] is value:
                return last[1]
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            memo = (value, text)
            return text

        return process

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


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    """A `UTCDateTime` column for a SQLModel field's `sa_column`."""
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def utc_now() -> datetime:
    """Now, aware, in UTC (a column's default)."""
    return datetime.now(UTC)

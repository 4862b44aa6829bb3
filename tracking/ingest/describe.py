"""What the command line and the API say about a file as read, and the `--map` syntax."""

from __future__ import annotations

from collections.abc import Iterable

from tracking.core.exceptions import InputError
from tracking.ingest.orders_file import OrdersFile


def parse_maps(entries: Iterable[str]) -> dict[str, str]:
    """`field="Header"` entries (from --map, or the API's `map`) -> {field: header}."""
    found: dict[str, str] = {}
    for entry in entries:
        field, equals, header = entry.partition("=")
        header = header.strip()
        if len(header) >= 2 and header[0] == header[-1] and header[0] in "\"'":
            header = header[1:-1]
        if not equals or not field.strip():
            raise InputError(
                f'--map {entry!r}: write field="Header", e.g. --map order_date="Created Time"'
            )
        found[field.strip()] = header
    return found


def read_line(orders_file: OrdersFile) -> str:
    """One line: which export was recognized, the sheet, the time zone of naive times."""
    profile = orders_file.profile
    what = f"recognized {profile.name}" if profile is not None else "columns matched by name"
    where = f", sheet {orders_file.sheet!r}" if orders_file.sheet else ""
    return (
        f"{orders_file.path.name}: {what}{where} (header row {orders_file.header_row});"
        f" times without a zone read as {orders_file.timezone}"
    )

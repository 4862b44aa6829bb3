"""Result rows as the store's dataclasses: one mapper for every row type.

`from_row(Delivery, row)` fills each field of the dataclass from the row's attribute of the
same name; the fields stored in another form (JSON text, an integer flag) or computed are
given as keywords: `from_row(Job, row, params=json.loads(row.params))`.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

__all__ = ["from_row"]

D = TypeVar("D")


_NAMES: dict[type[Any], tuple[str, ...]] = {}


def _names(cls: type[Any]) -> tuple[str, ...]:
    """The field names of a dataclass (TypeError for any other class), read once."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def from_row(cls: type[D], row: Any, /, **values: Any) -> D:
    """A `cls` (a dataclass) whose fields are `row`'s attributes of the same names, but for
    `values`.

    `row` is a result row (or any object with those attributes, such as a split order's
    parcel copy); every field of `cls` not in `values` must be one of its attributes.
    """
    read = {name: getattr(row, name) for name in _names(cls) if name not in values}
    return cls(**read, **values)

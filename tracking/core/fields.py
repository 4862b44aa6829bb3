"""One object built from another by field name: a result row as a store dataclass, one view
from another. Many of the project's records copy most of their fields as they are; this is the
one place that copies them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import Any, TypeVar

__all__ = ["field_values", "from_fields"]

T = TypeVar("T")

_NAMES: dict[type[Any], tuple[str, ...]] = {}
_MISSING = object()


def _names(cls: type[Any]) -> tuple[str, ...]:
    """The field names of a dataclass (TypeError for any other class), read once."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def field_values(
    source: object, target: type[Any], *, skip: Collection[str] = ()
) -> dict[str, Any]:
    """The fields of the dataclass `target` that `source` (a dataclass, a result row, any
    object) has an attribute of the same name for, less `skip`, with `source`'s values."""
    values = {}
    for name in _names(target):
        if name not in skip:
            value = getattr(source, name, _MISSING)
            if value is not _MISSING:
                values[name] = value
    return values


def from_fields(target: type[T], source: object, /, **values: Any) -> T:
    """`target(**values)`, each other field of the dataclass `target` taken from `source`'s
    attribute of the same name where it has one (else left to its default; a required field
    neither gives is a TypeError).

    `from_fields(Delivery, row)` reads a stored delivery; fields stored in another form or
    computed are given: `from_fields(Job, row, params=json.loads(row.params))`.
    """
    return target(**field_values(source, target, skip=values), **values)

"""Build one frozen view from another by field name (the views copy many fields as they are)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import Any, TypeVar

__all__ = ["field_values", "from_fields"]

T = TypeVar("T")


def field_values(
    source: object, target: type[Any], *, skip: Collection[str] = ()
) -> dict[str, Any]:
    """The fields of the dataclass `target` that `source` has an attribute of the same name
    for (a dataclass, or a database row), less `skip`, with `source`'s values."""
    return {
        f.name: getattr(source, f.name)
        for f in fields(target)
        if f.name not in skip and hasattr(source, f.name)
    }


def from_fields(target: type[T], source: object, /, **values: Any) -> T:
    """`target(**values)`, each other field of the dataclass `target` taken from `source`'s
    attribute of the same name where it has one (else left to its default)."""
    return target(**field_values(source, target, skip=values), **values)

"""Tables kept as data beside the code that reads them (docs/style.md, "data beside code").

A carrier's status codes (`carriers/<code>/statuses.toml`) and the catalogue of findings
(`tracking/judge/findings.toml`) are TOML files of the package, an array of tables each, every
row checked against a pydantic model when the module loads; a mistake names the file, the
row and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Hashable
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["read_rows"]

R = TypeVar("R", bound=BaseModel)


@cache
def _document(package: str, filename: str) -> dict[str, Any]:
    """The parsed file (once per process: several modules may read tables of one file)."""
    where = f"{package}/{filename}"
    try:
        text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
        return tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def read_rows(
    package: str,
    filename: str,
    key: str,
    model: type[R],
    *,
    unique: Callable[[R], Hashable] | None = None,
) -> tuple[R, ...]:
    """The `key` rows (an array of tables) of the package's data file `filename`, each
    checked as `model`; with `unique`, no two rows may give the same `unique(row)`.

    A mistake raises `ValueError` naming the file, the row (1-based, with its `code` when it
    has one) and the field.
    """
    where = f"{package}/{filename}"
    rows = _document(package, filename).get(key)
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{where}: no `{key}` rows (an array of tables: `{key} = [...]`)")
    checked: list[R] = []
    seen: dict[Hashable, int] = {}
    for number, row in enumerate(rows, start=1):
        code = row.get("code") if isinstance(row, dict) else None
        label = f"`{key}` row {number}" + (f" ({code})" if code else "")
        try:
            value = model.model_validate(row)
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = ".".join(str(p) for p in problem["loc"]) or "row"
            raise ValueError(f"{where}: {label}, {field}: {problem['msg']}") from None
        if unique is not None:
            first = seen.setdefault(unique(value), number)
            if first != number:
                raise ValueError(f"{where}: {label} repeats row {first}")
        checked.append(value)
    return tuple(checked)

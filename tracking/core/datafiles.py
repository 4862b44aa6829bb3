"""Tables kept as data beside the code that reads them (docs/style.md, "data beside code").

A carrier's status codes (`carriers/<code>/statuses.toml`) and the catalogue of findings
(`tracking/judge/findings.toml`) are TOML files of the package, an array of tables each, every
row checked against a pydantic model when the module loads; a mistake names the file, the
row and the field.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["read_rows"]

R = TypeVar("R", bound=BaseModel)


def read_rows(package: str, filename: str, key: str, model: type[R]) -> tuple[R, ...]:
    """The `key` rows (an array of tables) of the package's data file `filename`, each
    checked as `model`.

    A mistake raises `ValueError` naming the file, the row (1-based) and the field.
    """
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    try:
        rows = tomllib.loads(text).get(key)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{package}/{filename}: {exc}") from None
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{package}/{filename}: no `{key}` rows")
    checked: list[R] = []
    for number, row in enumerate(rows, start=1):
        try:
            checked.append(model.model_validate(row))
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "row"
            raise ValueError(
                f"{package}/{filename}: `{key}` row {number}, {where}: {problem['msg']}"
            ) from None
    return tuple(checked)

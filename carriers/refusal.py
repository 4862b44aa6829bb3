"""Loud refusals: a body a parser does not read, said in one plain line.

A parser that meets a shape it does not support must say so, name what it expects and,
when it recognizes the shape, what the body is ("17TRACK API v1"), never report an empty
success nor a validation library's wording ("Input should be a valid dictionary or
instance of _Data").
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tracking.core.exceptions import BadPayloadError

__all__ = ["plain_reason", "refusal"]

_TYPE_WORDS: dict[str, str] = {
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "a list",
    "tuple_type": "a list",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "null" if value is None else type(value).__name__


def plain_reason(exc: ValidationError) -> str:
    """The first problem of a validation failure, in plain words with its JSON path.

    E.g. "`data` is a list where an object is expected", "`code` is missing".
    """
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "the body"
    more = exc.error_count() - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
    kind = first["type"]
    if kind == "missing":
        return f"`{where}` is missing{tail}"
    wanted = _TYPE_WORDS.get(kind)
    if wanted is not None:
        got = _json_type(first.get("input"))
        return f"`{where}` is {got} where {wanted} is expected{tail}"
    return f"`{where}` has an unexpected value{tail}"


def refusal(carrier: str, *, expected: str, reason: str) -> BadPayloadError:
    """`<carrier>: this is not a <expected> response: <reason>` as a `BadPayloadError`."""
    return BadPayloadError(
        f"{carrier}: this is not a {expected} response: {reason}", carrier=carrier
    )

"""Loud refusals: name an answer the parser does not read, and say what it does read.

An evidence tool must never turn an answer it cannot read into "no events". When a parser
refuses a body, `loud` (a decorator on the carrier's `parse`) says what the body is, if it is
a known carrier shape (`recognize`), and which shapes the parser supports; a body naming no
tracking number at all is refused too, rather than printed as an empty success. Messages are
plain: no validation-library wording reaches a user (`plain_problem`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from tracking.core.exceptions import BadPayloadError

__all__ = ["SUPPORTED", "loud", "plain_problem", "recognize"]

SUPPORTED: dict[str, str] = {
    "cainiao": "Cainiao global/detail.json ({success, module[]})",
    "4px": "4PX open platform tr.order.tracking.get ({result, data.trackingList[]}) and "
    "4PX's public tracking page listTrackV3 ({result, data[].tracks[]})",
    "yanwen": "Yanwen trackapi api/tracking ({code, result[].checkpoints[]}) and the legacy "
    "Yanwen API ({code, state, origin_items[], destin_items[]})",
    "yunexpress": "YunExpress Tracking/GetTrackInfo and GetTrackAllInfo ({Item, Code}); "
    "YunExpress Open Platform track-service/info/get ({success, result})",
}
"""Per carrier, the answer shapes its parser reads."""

# (name, the carrier whose own shape it is, test) - most specific first.
_SHAPES: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    (
        "4PX public tracking page (listTrackV3)",
        "4px",
        lambda d: (
            isinstance(d.get("data"), list)
            and any(isinstance(i, dict) and ("tracks" in i or "queryCode" in i) for i in d["data"])
        ),
    ),
    (
        "17TRACK push (webhook)",
        "17track",
        lambda d: d.get("event") in ("TRACKING_UPDATED", "TRACKING_STOPPED"),
    ),
    (
        "17TRACK API v1",
        "",
        lambda d: any(
            isinstance(i, dict) and isinstance(i.get("track"), dict)
            for i in _get(d, "data", "accepted") or d.get("accepted") or ()
        ),
    ),
    (
        "17TRACK API v2",
        "17track",
        lambda d: (
            isinstance(_get(d, "data", "accepted"), list)
            or isinstance(_get(d, "data", "rejected"), list)
        ),
    ),
    ("17TRACK web tracking (restapi)", "", lambda d: "dat" in d and "ret" in d),
    ("AfterShip API", "", lambda d: isinstance(d.get("meta"), dict) and "data" in d),
    ("Cainiao global/detail.json", "cainiao", lambda d: "module" in d),
    (
        "YunExpress Tracking/GetTrackInfo",
        "yunexpress",
        lambda d: "Item" in d or "ResultCode" in d,
    ),
    (
        "YunExpress Open Platform",
        "yunexpress",
        lambda d: "success" in d and ("result" in d or "request_id" in d),
    ),
    (
        "4PX open platform tr.order.tracking.get",
        "4px",
        lambda d: "result" in d and ("errors" in d or isinstance(d.get("data"), dict)),
    ),
    (
        "Yanwen trackapi api/tracking",
        "yanwen",
        lambda d: "code" in d and isinstance(d.get("result"), list),
    ),
    ("Yanwen legacy API", "yanwen", lambda d: "origin_items" in d or "waybill_number" in d),
)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def recognize(body: bytes) -> tuple[str, str] | None:
    """(what the body is, whose own shape) for a known carrier answer; None otherwise."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = {"data": data}
    if not isinstance(data, dict):
        return None
    for name, owner, test in _SHAPES:
        try:
            if test(data):
                return name, owner
        except (AttributeError, TypeError):
            continue
    return None


_PLAIN = {
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "list_type": "expected a list",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "missing": "missing",
    "literal_error": "an unexpected value",
}


def plain_problem(error_type: str, fallback: str = "an unexpected value") -> str:
    """A validation error's type in plain words (no library jargon)."""
    return _PLAIN.get(error_type, fallback)


ParseFn = Callable[..., dict[str, Any]]


def loud(code: str) -> Callable[[ParseFn], ParseFn]:
    """Wrap carrier `code`'s parse: refusals name the body and the supported shapes."""
    supported = SUPPORTED[code]

    def wrap(parse: ParseFn) -> ParseFn:
        @functools.wraps(parse)
        def parse_loudly(body: bytes, *, requested: Sequence[str] = ()) -> dict[str, Any]:
            try:
                parsed = parse(body, requested=requested)
            except BadPayloadError as exc:
                if " parser reads " in str(exc) or " parser does not read" in str(exc):
                    raise  # already said by an inner loud parser
                raise _refusal(code, body, str(exc), supported) from None
            if not parsed and not requested:
                known = recognize(body)
                what = f" ({known[0]})" if known else ""
                raise BadPayloadError(
                    f"{code}: the answer{what} names no tracking number, so there is nothing "
                    "to show (a real answer lists each number asked for)",
                    carrier=code,
                )
            return parsed

        return parse_loudly

    return wrap


def _refusal(code: str, body: bytes, detail: str, supported: str) -> BadPayloadError:
    from carriers.blocking import detect_block

    if (challenge := detect_block(200, "", body)) is not None:
        return BadPayloadError(
            f"{code}: this is not a tracking answer but a {challenge}: the carrier refused "
            "the request that fetched it",
            carrier=code,
        )
    known = recognize(body)
    if known is not None and known[1] != code:
        return BadPayloadError(
            f"{code}: this is a {known[0]} answer, which the {code} parser does not read; "
            f"it reads {supported}",
            carrier=code,
        )
    return BadPayloadError(f"{detail}; the {code} parser reads {supported}", carrier=code)

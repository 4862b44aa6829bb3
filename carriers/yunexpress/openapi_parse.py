"""Pure parser of YunExpress Open Platform `GET /v1/track-service/info/get` answers.

Envelope (carrier-apis §4.2, [clients]): `{"t", "success", "code", "msg", "request_id",
"result"}`. No raw payload of `result` is public; two candidate shapes are known and both are
read here:

* `result.track_info[].track_events[]` with `event_date` (naive), `time_zone` (`"+8"`),
  `description` and `location` (evan-lc/yunexpress-sdk, `src/resources/tracking/types.ts`);
* events carrying `track_node_code`, `process_content` and `process_utc_time` (ISO, `Z`), as
  an independent Java client reads them (carrier-apis §4.2).

Anything else is refused by name, never read as "no events". The first real answer settles
which shape YunExpress sends (README, YunExpress).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from carriers.base import ParseOutput
from carriers.kit.outcomes import not_found
from carriers.yunexpress.parse import json_dict, node_event
from tracking.core.countries import CHINA_OFFSET, CHINA_TZ
from tracking.core.domain import (
    FINAL_STAGES,
    ParsedEvent,
    TimeSource,
    TrackResult,
)
from tracking.core.exceptions import AuthError, BadPayloadError, CarrierServerError

__all__ = ["SUPPORTED", "parse"]

CODE = "yunexpress"
SUPPORTED = (
    "YunExpress Open Platform track-service/info/get "
    "(result.track_info[].track_events[] or events with process_utc_time)"
)
_OFFSET = re.compile(r"^(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_AUTH_WORDS = ("token", "sign", "签名", "授权", "unauthor")


def parse(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Read one answer; results keyed by the requested number (one per call)."""
    data = json_dict(body)
    if "success" not in data or ("result" not in data and "code" not in data):
        raise BadPayloadError(
            f"{CODE}: not an Open Platform answer (no success/result); expected {SUPPORTED}",
            carrier=CODE,
        )
    code, msg = str(data.get("code") or ""), str(data.get("msg") or "")
    if data.get("success") is not True:
        said = f"code {code}: {msg}" if code else msg or "success false"
        if any(w in f"{code} {msg}".lower() for w in _AUTH_WORDS):
            raise AuthError(f"{CODE}: Open Platform refused the request ({said})", carrier=CODE)
        raise CarrierServerError(f"{CODE}: Open Platform answered {said}", carrier=CODE)
    number = requested[0] if requested else str(_dig(data, "result", "waybill_number") or "")
    raw_events = _events(data.get("result"))
    if not raw_events:
        return {n: not_found(n, "YunExpress has no tracking events") for n in requested or [number]}
    events = tuple(_event(e) for e in raw_events)
    return {
        number: TrackResult(
            tracking_number=number,
            events=events,
            final=any(e.stage in FINAL_STAGES for e in events),
            origin_country="CN",
        )
    }


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _events(result: Any) -> list[dict[str, Any]]:
    """Every event object of either known shape; a `BadPayloadError` for another shape."""
    if result is None:
        return []
    if isinstance(result, list):  # some endpoints answer a list of per-number results
        return [e for item in result for e in _events(item)]
    if not isinstance(result, dict):
        raise BadPayloadError(
            f"{CODE}: result is not an object; expected {SUPPORTED}", carrier=CODE
        )
    found: list[dict[str, Any]] = []
    for info in result.get("track_info") or ():
        events = info.get("track_events") if isinstance(info, dict) else None
        if not isinstance(events, list):
            raise BadPayloadError(f"{CODE}: track_info without track_events", carrier=CODE)
        found.extend(events)
    found.extend(result.get("track_events") or ())
    for event in found:
        if not isinstance(event, dict) or not (
            event.get("event_date") or event.get("process_utc_time")
        ):
            raise BadPayloadError(
                f"{CODE}: an event has neither event_date nor process_utc_time; "
                f"expected {SUPPORTED}",
                carrier=CODE,
            )
    return found


def _event(raw: dict[str, Any]) -> ParsedEvent:
    # Origin-side events happen in China; the answer names no destination country.
    occurred_at, offset, source, raw_time = _instant(raw)
    return node_event(
        str(raw.get("track_node_code") or "").strip(),
        str(raw.get("description") or raw.get("process_content") or "").strip(),
        (occurred_at, offset, source),
        location=str(raw.get("location") or raw.get("process_location") or "").strip(),
        raw_time=raw_time,
    )


def _instant(raw: dict[str, Any]) -> tuple[datetime, int | None, TimeSource, str]:
    utc = raw.get("process_utc_time")
    if utc:
        text = str(utc)
        moment = _iso(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment, None, TimeSource.EXPLICIT, text
    text = str(raw.get("event_date"))
    moment = _iso(text)
    if moment.tzinfo is not None:
        minutes = int(moment.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        return moment, minutes, TimeSource.EXPLICIT, text
    zone = str(raw.get("time_zone") or "").strip()
    match = _OFFSET.match(zone)
    if match is None:
        # No usable zone: China time, YunExpress's convention everywhere else.
        return moment.replace(tzinfo=CHINA_TZ), CHINA_OFFSET, TimeSource.CARRIER_CONVENTION, text
    sign = -1 if match.group(1) == "-" else 1
    minutes = sign * (int(match.group(2)) * 60 + int(match.group(3) or 0))
    tz = timezone(timedelta(minutes=minutes))
    return moment.replace(tzinfo=tz), minutes, TimeSource.EXPLICIT, f"{text} {zone}"


def _iso(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadPayloadError(f"{CODE}: {text!r} is not a date", carrier=CODE) from None

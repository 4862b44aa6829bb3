"""4PX's public tracking page (`track.4px.com`, `listTrackV3`): a credential-free source.

`POST https://track.4px.com/track/v2/front/listTrackV3` with
`{"queryCodes": [...], "language": "en-us", "translateLanguage": "en-us"}` answers
`{"result": 1, "message", "data": [{"queryCode", "status", "ctEndCode", "tracks": [...]}]}`
(carrier-apis §6; public trackers itsvic-dev/parcel and others send exactly this). Each track
has `tkCode` (the open platform's `businessLinkCode`), `tkDesc`, `tkLocation`, `tkTimezone`,
`tkDate` and `tkDateStr`. `tkDate` carries the instant (an ISO time with its offset, or epoch
milliseconds) and is read as such; `tkDateStr` is always China time (UTC+8) whatever the
event's place, and is kept verbatim as the raw time. An unknown number has `status` 7 and
`tracks: null`.

It is not 4PX's API: the adapter uses it only when asked (`TRACK_EVIDENCE_4PX__PUBLIC_PAGE`)
and without open platform credentials, and every result says where it came from
(`carrier_status` starts with `PUBLIC_SOURCE`), as does the stored exchange's URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from carriers.base import ParseOutput
from carriers.fourpx.parse import stage_of
from carriers.kit.outcomes import not_found, side_country
from carriers.textstage import classify
from tracking.core.countries import CHINA_OFFSET, CHINA_TZ, to_iso2
from tracking.core.domain import (
    FINAL_STAGES,
    ParsedEvent,
    TimeSource,
    TrackResult,
)
from tracking.core.exceptions import BadPayloadError, CarrierServerError

__all__ = ["PUBLIC_PATH", "PUBLIC_SOURCE", "PUBLIC_URL", "parse_public", "public_body"]

PUBLIC_URL = "https://track.4px.com"
PUBLIC_PATH = "/track/v2/front/listTrackV3"
PUBLIC_SOURCE = "4PX public tracking page (listTrackV3), no credentials"
_NOT_FOUND_STATUS = 7
_ZONE = re.compile(r"^(?:GMT|UTC)?\s*([+-]?)(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def public_body(numbers: Sequence[str]) -> str:
    """The exact JSON text the public page is asked with (English texts)."""
    return json.dumps(
        {"queryCodes": list(numbers), "language": "en-us", "translateLanguage": "en-us"},
        separators=(",", ":"),
    )


def parse_public(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Read one `listTrackV3` answer: per number, a result marked as this source, or a failure."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadPayloadError(
            f"4px: public page answer is not JSON ({exc})", carrier="4px"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("data", []), list):
        raise BadPayloadError("4px: not a listTrackV3 answer (no data list)", carrier="4px")
    if str(data.get("result")) != "1":
        message = str(data.get("message") or "no message")
        raise CarrierServerError(f"4px: public page answered {message}", carrier="4px")
    spelling = {n.strip().upper(): n for n in requested}
    out: ParseOutput = {}
    for item in data.get("data") or ():
        if not isinstance(item, dict) or not isinstance(item.get("queryCode"), str):
            raise BadPayloadError("4px: a listTrackV3 item has no queryCode", carrier="4px")
        code: str = item["queryCode"]
        number = spelling.get(code.strip().upper(), code)
        tracks = item.get("tracks")
        if not tracks or item.get("status") == _NOT_FOUND_STATUS:
            out[number] = not_found(number, "4PX's public tracking page has no tracks for it")
            continue
        if not isinstance(tracks, list):
            raise BadPayloadError("4px: listTrackV3 tracks is not a list", carrier="4px")
        destination = to_iso2(str(item.get("ctEndCode") or "")) or None
        events = tuple(_event(t, destination=destination) for t in tracks)
        out[number] = TrackResult(
            tracking_number=number,
            events=events,
            final=any(e.stage in FINAL_STAGES for e in events),
            origin_country=to_iso2(str(item.get("ctStartCode") or "")) or None,
            destination_country=destination,
            carrier_status=f"{PUBLIC_SOURCE}; status {item.get('status')}",
        )
    return out


def _event(track: Any, *, destination: str | None) -> ParsedEvent:
    if not isinstance(track, dict):
        raise BadPayloadError("4px: a listTrackV3 track is not an object", carrier="4px")
    code = str(track.get("tkCode") or "").strip()
    text = str(track.get("tkDesc") or track.get("tkTranslatedDesc") or "").strip()
    stage = stage_of(code) if code else classify(text)
    occurred_at, source = _instant(track, code)
    raw_time = str(track.get("tkDateStr") or track.get("tkDate") or "")
    offset = _zone(track.get("tkTimezone"))
    if source is TimeSource.CARRIER_CONVENTION:
        offset = CHINA_OFFSET
    return ParsedEvent(
        stage=stage,
        code=code,
        description=text,
        occurred_at=occurred_at,
        local_offset=offset,
        time_source=source,
        location=str(track.get("tkLocation") or "").strip(),
        country=side_country(stage, destination=destination),
        raw_time=raw_time,
    )


def _instant(track: dict[str, Any], code: str) -> tuple[datetime, TimeSource]:
    """`tkDate` as the instant; `tkDateStr` at UTC+8 only when `tkDate` is absent."""
    value = track.get("tkDate")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC), TimeSource.EXPLICIT
    if isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment, TimeSource.EXPLICIT
    text = str(track.get("tkDateStr") or "").strip()
    try:
        local = datetime.strptime(f"{text} +0800", "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        raise BadPayloadError(
            f"4px: public page event {code or '(no code)'} has no readable time", carrier="4px"
        ) from None
    return local.astimezone(CHINA_TZ), TimeSource.CARRIER_CONVENTION


def _zone(value: Any) -> int | None:
    """Minutes east of UTC of `tkTimezone` (`UTC+08:00`, `GMT+8`, `+8`, `8`); None if odd."""
    match = _ZONE.match(str(value or "").strip())
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14:
        return None
    total = int(hours) * 60 + int(minutes or 0)
    return -total if sign == "-" else total

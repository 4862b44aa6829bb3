"""Other 17TRACK shapes the parser recognizes only to refuse them by name.

- **17TRACK API v1** (`https://api.17track.net/track/v1`, documented at
  https://asset.17track.net/api/document/v1_en/index.html): the same `code`/`data.accepted`
  envelope as v2.x, but each accepted item carries `track` with the legacy one-letter keys
  (`e` status, `w1`/`w2` carriers, `z0` latest event, `z1`/`z2` origin and destination
  events) instead of `track_info`. Its pushes are `{"event", "data": {"number", "track"}}`.
- **17TRACK's web tracking API** (`www.17track.net/restapi/handlertrack.ashx`, used by the
  public site, not the paid API): `{"ret", "msg", "g", "dat": [{"no", "track": {...}}]}`
  (carrier-apis §5; `reference/carrier-samples/17track_2.json`).

Reading either as v2.x would silently find no events, which an evidence tool must never
report as success.
"""

from __future__ import annotations

from typing import Any

__all__ = ["foreign_shape"]

_V1_TRACK_KEYS = frozenset({"z0", "z1", "z2", "e", "w1", "w2"})


def _v1_track(item: Any) -> bool:
    if not isinstance(item, dict) or "track_info" in item:
        return False
    track = item.get("track")
    return isinstance(track, dict) and bool(_V1_TRACK_KEYS & track.keys())


def foreign_shape(raw: dict[str, Any]) -> str | None:
    """What the body is, when it is a 17TRACK shape this tool does not read; else None."""
    if "dat" in raw and ("ret" in raw or "g" in raw):
        return (
            "17TRACK's web tracking API (the public site's `restapi`, "
            "`ret`/`dat[].track` with `z1`/`z2` events), not the paid API"
        )
    data = raw.get("data")
    if isinstance(data, dict):
        accepted = data.get("accepted")
        if isinstance(accepted, list) and any(_v1_track(item) for item in accepted):
            return "a 17TRACK API v1 answer (`accepted[].track` with `z0`/`z1`/`z2` events)"
        if "event" in raw and _v1_track(data):
            return "a 17TRACK API v1 push (`data.track` with `z0`/`z1`/`z2` events)"
    return None

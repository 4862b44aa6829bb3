"""Plain words for what a reviewer reads: carrier status codes and what a link leads to.

A carrier's raw status code (`PackageState=3`, `CLEAR_CUSTOMS`, `Delivered_Other`) is shown in
words with the code beside it; a tracking link says whose page it opens (the carrier's own, or
17TRACK's public page, which is an aggregator, not the carrier).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tracking.evidence.layout import MUTED, Span

__all__ = ["carrier_status_words", "link_label", "status_cell"]

# YunExpress `PackageState`: every source agrees on 2, 3 and 7 only (carrier-apis.md, YunExpress
# section: the LMS source yung-chu/yunExpress, the PHP client and the Go SDK); other values
# differ between sources, so they are shown as the bare code.
_YUNEXPRESS_STATES = {2: "In transit", 3: "Delivered", 7: "Returned to sender"}
_PACKAGE_STATE = re.compile(r"^PackageState=(\d+)$")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _humanize(token: str) -> str:
    """`CLEAR_CUSTOMS` -> `Clear customs`; `InTransit_PickedUp` -> `In transit, picked up`."""
    if token.upper() == token:
        text = token.replace("_", " ").strip().lower()
        return text[:1].upper() + text[1:]
    parts = [p for p in token.split("_") if p]
    words = []
    for part in parts:
        spaced = part if part.isupper() else _CAMEL.sub(" ", part)
        words.append(spaced.lower())
    text = ", ".join(words)
    return text[:1].upper() + text[1:]


def carrier_status_words(carrier: str, code: str) -> str:
    """The words of a carrier status code ("" when none can be given honestly)."""
    found = _PACKAGE_STATE.match(code)
    if found:
        return _YUNEXPRESS_STATES.get(int(found.group(1)), "")
    if re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,}", code):
        return _humanize(code)
    if re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:_[A-Z][A-Za-z]+)*", code):
        return _humanize(code)
    return ""


def status_cell(carrier: str, code: str) -> list[Span] | str:
    """A table cell: the status in words, the raw code beside it (muted)."""
    if not code:
        return "—"
    words = carrier_status_words(carrier, code)
    if not words or words == code:
        return [Span(code, 7.5)]
    return [Span(words, 7.5), Span(f"carrier code: {code}", 6.5, MUTED)]


def link_label(carrier_name: str, url: str) -> tuple[str, str]:
    """Whose page `url` opens, in English and Chinese."""
    host = (urlsplit(url).hostname or "").lower()
    if "17track" in host or carrier_name.lower() in ("17track", "17 track"):
        return (
            "17TRACK's public page (a tracking aggregator)",
            "17TRACK 公共查询页面（物流聚合平台）",
        )
    return f"{carrier_name}'s own tracking page", f"{carrier_name} 官方查询页面"

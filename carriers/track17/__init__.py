"""17TRACK (API v2.2): one tracker for many carriers, the origin post and the last mile."""

from __future__ import annotations

import re

from carriers.base import CarrierInfo, RateLimit
from carriers.track17 import parse, sandbox
from carriers.track17.client import Track17Adapter, Track17Settings
from tracking.core.numbers import s10_number

__all__ = ["CARRIER", "NUMBER_PATTERNS", "Track17Adapter", "Track17Settings", "make_number"]

NUMBER_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}"),  # UPU S10: origin posts and postal last miles
    re.compile(r"\d{10,30}"),  # long numerics: domestic last-mile numbers
)
"""Tracking-number shapes 17TRACK is used for here, matched with `fullmatch` on the
upper-cased number. 17TRACK detects far more carriers; these are the project's uses."""


def make_number(serial: int) -> str:
    """A sandbox number: a China Post S10 (`LX`, valid check digit, `CN`), scrambled."""
    return s10_number("LX", (serial * 7919 + 104729) % 100_000_000, "CN")


CARRIER = CarrierInfo(
    code="17track",
    name="17TRACK",
    batch_size=40,  # documented by 17TRACK (more is refused with `-18010014`)
    # 3 requests a second per key, documented (HTTP 429 beyond); a batch takes two.
    rate_limit=RateLimit(3.0, concurrency=3),
    default_base_url="https://api.17track.net/track/v2.2",
    tracking_url="https://t.17track.net/en#nums={number}",
    adapter_version="17track-v2.2/1",
    settings_model=Track17Settings,
    adapter=Track17Adapter,
    parse=parse.parse,
    sandbox=sandbox.SANDBOX,
    number_patterns=NUMBER_PATTERNS,
    make_number=make_number,
)
"""The 17TRACK carrier, as the `track_evidence.carriers` entry point names it."""

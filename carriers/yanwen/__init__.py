"""Yanwen (燕文): the merchant tracking API at `trackapi.yanwentech.com` (carrier-apis §7).

One GET takes several comma-joined numbers; the customer number is the credential, sent raw
in the `Authorization` header. Neither the batch size nor the rate limit is documented: 20
numbers a call and 5 requests a second, 3 in flight, are guesses to revise on the first live
run [unverified].
"""

from __future__ import annotations

import re

from carriers.base import CarrierInfo, RateLimit
from carriers.yanwen import parse, sandbox
from carriers.yanwen.client import YanwenAdapter, YanwenSettings
from tracking.core.numbers import s10_check_digit

__all__ = ["CARRIER", "NUMBER_PATTERNS", "YanwenAdapter", "YanwenSettings", "make_number"]

NUMBER_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[A-Z]{2}\d{9}YP"),  # S10-like with the YP suffix (not a country code)
    re.compile(r"YD\d{9}YW"),
    re.compile(r"6A\d{11}"),
    re.compile(r"[A-Z]{2}\d{9}YR"),  # Yanwen's own number
    re.compile(r"[A-Z]{2}\d{9}CN"),  # UPU S10 of China Post, which Yanwen also tracks
)
"""Tracking-number shapes (carrier-apis §11), used with `fullmatch` on the upper-cased number."""


def make_number(serial: int) -> str:
    """A sandbox number: `UY` + 8 scrambled digits + the S10 check digit + `YP`."""
    digits = f"{(serial * 61_803_399 + 28_417_593) % 10**8:08d}"
    return f"UY{digits}{s10_check_digit(digits)}YP"


CARRIER = CarrierInfo(
    code="yanwen",
    name="Yanwen",
    batch_size=20,  # comma-joined in `nums`; Yanwen documents no limit [unverified]
    rate_limit=RateLimit(5.0, concurrency=3),  # undocumented: a conservative guess [unverified]
    default_base_url="http://trackapi.yanwentech.com",
    tracking_url="https://track.yw56.com.cn/en/querydel?nums={number}",
    adapter_version="yanwen/1",
    settings_model=YanwenSettings,
    adapter=YanwenAdapter,
    parse=parse.parse,
    sandbox=sandbox.SANDBOX,
    number_patterns=NUMBER_PATTERNS,
    make_number=make_number,
)
"""The Yanwen carrier, as the `track_evidence.carriers` entry point names it."""

"""4PX (递四方): the open platform's `tr.order.tracking.get` (carrier-apis §6).

One number per signed POST, so `batch_size` is 1 and the numbers of a batch go out
concurrently. The rate limit is undocumented: 5 requests a second, 3 in flight, is a guess to
revise on the first live run [unverified].
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from carriers.base import CarrierInfo, ParseOutput, RateLimit
from carriers.fourpx import parse, sandbox
from carriers.fourpx.client import FourPXAdapter, FourPXSettings, sign
from carriers.fourpx.public import parse_public
from carriers.shapes import loud, recognize

__all__ = ["CARRIER", "NUMBER_PATTERNS", "FourPXAdapter", "FourPXSettings", "make_number", "sign"]

NUMBER_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"4PX\d{13}CN"),  # 4PX's own tracking number
    re.compile(r"\d{12}"),  # internal order numbers are plain digits
    re.compile(r"[A-Z]\d{2}[A-Z]{3}\d{10}"),  # e.g. H01LFA0002326683
)
"""Tracking-number shapes (carrier-apis §11), used with `fullmatch` on the upper-cased number."""


def make_number(serial: int) -> str:
    """A sandbox number: `4PX` + 13 scrambled digits + `CN`."""
    return f"4PX{(serial * 7_919_004_517 + 3_852_964_170_219) % 10**13:013d}CN"


@loud("4px")
def parse_any(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """The open platform's answer, or the public tracking page's (`listTrackV3`)."""
    known = recognize(body)
    if known is not None and known[0].startswith("4PX public tracking page"):
        return parse_public(body, requested=requested)
    return parse.parse(body, requested=requested)


CARRIER = CarrierInfo(
    code="4px",
    name="4PX",
    batch_size=1,  # `tr.order.tracking.get` takes one `deliveryOrderNo` per call
    rate_limit=RateLimit(5.0, concurrency=3),  # undocumented: a conservative guess [unverified]
    # HTTPS: 4PX serves the router over TLS (its SDKs and clients call it so).
    default_base_url="https://open.4px.com",
    tracking_url="https://track.4px.com/#/result/0/{number}",
    adapter_version="4px-open/1",
    settings_model=FourPXSettings,
    adapter=FourPXAdapter,
    parse=parse_any,
    sandbox=sandbox.SANDBOX,
    number_patterns=NUMBER_PATTERNS,
    make_number=make_number,
)
"""The 4PX carrier, as the `track_evidence.carriers` entry point names it."""

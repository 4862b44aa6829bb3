"""YunExpress (云途): the classic OMS API's full trace, `Tracking/GetTrackAllInfo` (carrier-apis
§4.1), or the newer Open Platform when its app id and secret are configured (§4.2).

One number per call, so `batch_size` is 1 and numbers of a batch go out concurrently. The
rate limit is undocumented (error code 10000 exists for it): 5 requests a second, 5 in
flight, is a guess to revise on the first live run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from carriers.base import CarrierInfo, ParseOutput, RateLimit
from carriers.shapes import loud
from carriers.yunexpress import openapi_parse, parse, sandbox
from carriers.yunexpress.client import (
    DEFAULT_BASE_URL,
    YunExpressAdapter,
    YunExpressSettings,
    build_adapter,
)

__all__ = ["CARRIER", "NUMBER_PATTERNS", "YunExpressAdapter", "YunExpressSettings", "make_number"]

NUMBER_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"YT\d{16}"),  # waybill: YT + 16 digits (carrier-apis §11)
)
"""Tracking-number shapes, to be used with `fullmatch` on the upper-cased number.

The last-mile `TrackingNumber` (an S10 or a local post's number) belongs to the
last-mile carrier, and customer order numbers have no fixed shape, so neither is listed.
"""


@loud("yunexpress")
def parse_any(body: bytes, *, requested: Sequence[str] = ()) -> ParseOutput:
    """Either credential kind's answer: the Open Platform's `{success, result}` envelope or
    the classic `{Item, Code}` one (what `parse --carrier yunexpress` reads)."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if isinstance(data, dict) and "success" in data and "Item" not in data and "Code" not in data:
        return openapi_parse.parse(body, requested=requested)
    return parse.parse(body, requested=requested)


def make_number(serial: int) -> str:
    """A sandbox waybill: `YT` + 16 digits, scrambled so serials do not look sequential."""
    return f"YT{(serial * 7919 + 104729) % 10**16:016d}"


CARRIER = CarrierInfo(
    code="yunexpress",
    name="YunExpress",
    batch_size=1,
    rate_limit=RateLimit(5.0, concurrency=5),
    default_base_url=DEFAULT_BASE_URL,
    tracking_url="https://www.yuntrack.com/parcelTracking?id={number}",
    adapter_version="yunexpress/2",
    settings_model=YunExpressSettings,
    adapter=build_adapter,
    parse=parse_any,
    sandbox=sandbox.SANDBOX,
    number_patterns=NUMBER_PATTERNS,
    make_number=make_number,
)
"""The YunExpress carrier, as the `track_evidence.carriers` entry point names it."""

"""Cainiao (AliExpress): the public `global.cainiao.com/global/detail.json` endpoint."""

from __future__ import annotations

import re

from carriers.base import CarrierInfo, RateLimit
from carriers.cainiao import parse, sandbox
from carriers.cainiao.client import CainiaoAdapter, CainiaoSettings

__all__ = ["CARRIER", "NUMBER_PATTERNS", "CainiaoAdapter", "CainiaoSettings", "make_number"]

NUMBER_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"LP\d{14}"),  # Cainiao's own: LP00 + 12 digits
    re.compile(r"[A-Z]{2}\d{10}[A-Z]"),  # e.g. two letters, ten digits, Y
    re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}"),  # UPU S10 shape, as Cainiao also issues
    re.compile(r"AE\d{9,20}"),  # AliExpress form, seen in one capture's filename [single]
)
"""Tracking-number shapes, to be used with `fullmatch` on the upper-cased number."""


def make_number(serial: int) -> str:
    """A sandbox number: `LP00` + 12 digits, scrambled so serials do not look sequential."""
    return f"LP00{(serial * 7919 + 104729) % 10**12:012d}"


CARRIER = CarrierInfo(
    code="cainiao",
    name="Cainiao (AliExpress)",
    # Numbers per call, comma-joined in `mailNos`. The comma separator is not confirmed
    # (carrier-apis §3.1, [unverified]); if Cainiao ignores it, every number but one comes
    # back as not found, which a recorded real batch would show.
    batch_size=20,
    # One request every 3 seconds, one at a time (up to 400 numbers a minute in batches of
    # 20). Cainiao documents no limit for this unofficial public endpoint, and blocks
    # automated traffic with Alibaba's captcha (`carriers.blocking`). Its public clients ask
    # far less often: one number per request, at most once per number every 2 to 5 minutes
    # (e.g. the mailtrack Cainiao client: `RATE_LIMIT_MS = 2 * 60 * 1000` / `5 * 60 * 1000`
    # per tracking number; carrier-apis §3.1 "community code throttles to one request per
    # number every 2 to 5 minutes"), for a handful of a user's own parcels. A seller's
    # thousands of orders need more, so this stays well under what a person refreshing the
    # page sends, with no parallel requests; raise it
    # (`TRACK_EVIDENCE_CAINIAO__RATE_PER_SECOND`) only knowingly.
    rate_limit=RateLimit(1.0, period=3.0, concurrency=1),
    default_base_url="https://global.cainiao.com",
    tracking_url="https://global.cainiao.com/newDetail.htm?mailNoList={number}",
    adapter_version="cainiao/1",
    settings_model=CainiaoSettings,
    adapter=CainiaoAdapter,
    parse=parse.parse,
    sandbox=sandbox.SANDBOX,
    number_patterns=NUMBER_PATTERNS,
    make_number=make_number,
)
"""The Cainiao carrier, as the `track_evidence.carriers` entry point names it."""

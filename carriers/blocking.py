"""Blocks are blocks: recognising a carrier's anti-bot refusal, and backing off from it.

A block is not a bad payload: the carrier answered, but with a challenge instead of data.
`detect_block` names what the body is (it is stored as the evidence of what happened); the
HTTP layer then raises `BlockedError` and records the block in the carrier's `BlockGate`,
which every later request of that carrier consults first. The back-off is exponential per
carrier (`BLOCK_BACKOFF`) and, with a shared gate (`tracking.fetch.limits`), common to all workers.

What is recognised:

* Alibaba's anti-bot JSON (Cainiao is an Alibaba company): `ret` holding
  `FAIL_SYS_USER_VALIDATE` or `RGV587_ERROR::SM::...` ("被挤爆啦"), usually with a
  `data.url` to `/_____tmd_____/punish?x5secdata=...&action=captcha`;
* Alibaba's captcha and "baxia" challenge pages (`_____tmd_____`, `x5secdata`, `punish`,
  `nocaptcha`, `baxia-dialog`);
* other challenge pages (`captcha`, "Access Denied", "Just a moment", "verify you are human");
* any HTML page where the API answers JSON, under HTTP 2xx or 403.

Sources for the Alibaba markers: public clients of Alibaba web APIs that detect the same
challenge (code corpus: `looksLikeAntiBotChallengeText`, Xianyu/Amap/AliExpress clients'
`FAIL_SYS_USER_VALIDATE` / `RGV587_ERROR::SM` handling).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = [
    "BLOCK_BACKOFF",
    "BlockBackoff",
    "BlockGate",
    "LocalBlockGate",
    "blocked_message",
    "detect_block",
]

_ALIBABA_RET = re.compile(r"FAIL_SYS_USER_VALIDATE|RGV587_ERROR|FAIL_SYS_ILLEGAL_ACCESS", re.I)
_CHALLENGE_MARKERS = (
    "_____tmd_____",
    "x5secdata",
    "/punish",
    "nocaptcha",
    "baxia-dialog",
    "aliyuncaptcha",
    "captcha",
    "access denied",
    "just a moment",
    "verify you are human",
    "are you a robot",
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_SNIFF = 65_536


@dataclass(frozen=True, slots=True)
class BlockBackoff:
    """How long a carrier is left alone after its n-th consecutive block."""

    first: timedelta = timedelta(minutes=15)
    cap: timedelta = timedelta(hours=24)

    def delay(self, level: int) -> timedelta:
        """15 min, 30 min, 1 h, 2 h ... up to a day, for level 1, 2, 3 ..."""
        return min(self.first * (1 << min(max(level - 1, 0), 30)), self.cap)


BLOCK_BACKOFF = BlockBackoff()
"""The default: a challenge is not retried for 15 minutes, then twice as long each time."""


def detect_block(status: int, content_type: str, body: bytes) -> str | None:
    """What in this answer shows an anti-bot refusal, or None when it is not one.

    Only answers that should be JSON are judged (every supported API answers JSON). Server
    errors (5xx) are not blocks unless they carry a challenge marker.
    """
    head = body[:_SNIFF]
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first in (b"{", b"["):
        # The common case, kept cheap: JSON is only parsed when an Alibaba marker is there.
        if b"FAIL_SYS_" in head or b"RGV587" in head:
            return _alibaba_json(body)
        return None
    lower = head.decode("utf-8", errors="replace").lower()
    is_html = "html" in content_type.lower() or first == b"<"
    marker = next((m for m in _CHALLENGE_MARKERS if m in lower), None)
    if marker is not None and (is_html or status in (200, 403, 405, 429)):
        return f"challenge page{_title(head)} (contains {marker!r}, HTTP {status})"
    if is_html and (200 <= status < 300 or status == 403):
        return f"HTML page{_title(head)} where JSON was expected (HTTP {status})"
    return None


def _alibaba_json(body: bytes) -> str | None:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    ret = data.get("ret")
    codes = [str(r) for r in ret] if isinstance(ret, list) else [str(ret or "")]
    if not any(_ALIBABA_RET.search(c) for c in codes):
        return None
    url = data.get("data", {}).get("url") if isinstance(data.get("data"), dict) else None
    where = " with a captcha URL" if url else ""
    return f"Alibaba anti-bot challenge (ret {', '.join(codes)}){where}"


def _title(head: bytes) -> str:
    match = _TITLE.search(head)
    if match is None:
        return ""
    title = " ".join(match.group(1).decode("utf-8", errors="replace").split())[:80]
    return f' "{title}"' if title else ""


def blocked_message(name: str, retry_at: datetime) -> str:
    """The line a user reads: "Cainiao is refusing automated requests; retrying at ..."."""
    return f"{name} is refusing automated requests; retrying at {retry_at:%Y-%m-%d %H:%M} UTC"


class BlockGate(Protocol):
    """One carrier's block state: shared by all workers, or in-process."""

    async def blocked_until(self) -> datetime | None:
        """When the current block ends; None when the carrier is not blocked."""
        ...

    def peek(self) -> datetime | None:
        """The last known end of a current block, without asking the store (no I/O)."""
        ...

    async def record_block(self) -> datetime:
        """Count one more consecutive block; when the back-off it earns ends.

        A block answered to a request sent before the carrier closed belongs to the same
        episode: it does not escalate, it returns the current end.
        """
        ...

    async def clear(self) -> None:
        """A normal answer came back: the next block starts from the first delay again."""
        ...


class LocalBlockGate:
    """The in-process gate (one process, no shared store)."""

    def __init__(self, backoff: BlockBackoff = BLOCK_BACKOFF) -> None:
        self.backoff = backoff
        self.level = 0
        self.until: datetime | None = None
        self._lock = asyncio.Lock()

    async def blocked_until(self) -> datetime | None:
        return self.peek()

    def peek(self) -> datetime | None:
        if self.until is not None and self.until > datetime.now(UTC):
            return self.until
        return None

    async def record_block(self) -> datetime:
        async with self._lock:
            now = datetime.now(UTC)
            if self.until is not None and self.until > now:
                return self.until  # requests already in flight: the same episode
            self.level += 1
            self.until = now + self.backoff.delay(self.level)
            return self.until

    async def clear(self) -> None:
        self.level = 0
        self.until = None

"""17TRACK pushes (webhooks): the `sign` header, checked over the raw body.

17TRACK POSTs `{"event": "TRACKING_UPDATED" | "TRACKING_STOPPED", "data": {...}}` to the
WebHook URL set in its console (Settings -> WebHook; help centre, "What is a webhook? How
to configure it", https://help.17track.net/hc/en-us/articles/37470032453529). Each push
carries a `sign` header: the lower-case hex SHA-256 of the raw body bytes, "/", and the
account's API key, `sha256(<raw body> + "/" + <key>)`. Sources: godely/aio17track
(`aio17track/webhook.py`, `SPEC.md` §9, written from the v2.4 docs) and a public 17TRACK
integration's setup notes ("Signature Header: `sign`", "SHA256(`{payload}/API_KEY`)");
docs/carrier-apis.md §5 held the same formula as unverified. Only a first real push can
confirm it byte for byte (README, "17TRACK").

The body must be hashed exactly as received: parsing and re-serializing it changes the
bytes and breaks the hash.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

__all__ = ["SIGN_HEADER", "push_sign", "verify_push"]

SIGN_HEADER = "sign"
"""The request header carrying the push signature."""


def push_sign(body: bytes, key: str) -> str:
    """The `sign` 17TRACK sends with `body` when its key is `key` (lower-case hex)."""
    return hashlib.sha256(body + b"/" + key.encode("utf-8")).hexdigest()


def verify_push(body: bytes, sign: str, keys: Iterable[str]) -> bool:
    """Whether `sign` is the signature of `body` under one of `keys` (constant time).

    Hex case carries no meaning, so an upper-case `sign` is read as the same digest.
    Several keys allow a key change: 17TRACK takes up to 5 minutes to switch to a new key
    (v1 docs, "Get the API access key").
    """
    given = sign.strip().lower()
    matched = False
    for key in keys:
        if key:
            matched |= hmac.compare_digest(given.encode(), push_sign(body, key).encode())
    return matched

"""The project's exception tree.

```
TrackingError                 root: anything the tool reports to a user
├── ConfigError               settings missing or invalid
├── InputError                an input file cannot be used at all (not a CSV, no needed column)
├── StorageError              the database cannot be opened or migrated
└── CarrierError              a carrier call failed for a whole batch
    ├── TransportError        network failure or timeout, after retries
    ├── AuthError             credentials refused (never retried)
    ├── RateLimitedError      429 or the carrier's "too many requests", after retries
    ├── CarrierServerError    5xx or an error envelope, after retries
    ├── BadPayloadError       a body that does not have the carrier's shape
    ├── BlockedError          the carrier refuses automated requests (challenge, captcha)
    ├── QuotaExhaustedError   the account's quota at the carrier is used up
    └── PermissionDeniedError valid credentials not allowed this call
```

Problems with a single tracking number are not exceptions: they come back as
`tracking.core.domain.CarrierFailure` so one number never fails its batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, Unpack

from tracking.core.domain import ErrorKind, Exchange

__all__ = [
    "AuthError",
    "BadPayloadError",
    "BlockedError",
    "CarrierError",
    "CarrierServerError",
    "ConfigError",
    "InputError",
    "PermissionDeniedError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "StorageError",
    "TrackingError",
    "TransportError",
]


class TrackingError(Exception):
    """Root of every error track-evidence reports."""


class ConfigError(TrackingError):
    """Settings are missing or invalid."""


class InputError(TrackingError):
    """An input file cannot be used at all."""


class StorageError(TrackingError):
    """The database cannot be opened, migrated or written."""


class _CarrierContext(TypedDict, total=False):
    """`CarrierError`'s keywords, which its subclasses pass on."""

    carrier: str
    status: int | None
    exchange: Exchange | None


class CarrierError(TrackingError):
    """A carrier call failed for a whole batch; `kind` is the per-number error it becomes."""

    kind: ErrorKind = ErrorKind.CARRIER_ERROR

    def __init__(
        self,
        message: str,
        *,
        carrier: str = "",
        status: int | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(message)
        self.carrier = carrier
        self.status = status
        self.exchange = exchange


class TransportError(CarrierError):
    """Network failure or timeout, after retries."""


class AuthError(CarrierError):
    """The carrier refused the credentials."""

    kind = ErrorKind.AUTH


class RateLimitedError(CarrierError):
    """The carrier kept answering "too many requests"."""

    kind = ErrorKind.RATE_LIMITED


class CarrierServerError(CarrierError):
    """The carrier answered 5xx or an error envelope."""


class BadPayloadError(CarrierError):
    """The body does not have the carrier's documented shape."""

    kind = ErrorKind.BAD_PAYLOAD


class BlockedError(CarrierError):
    """The carrier refuses automated requests: an anti-bot challenge instead of an answer.

    `retry_at` is when the carrier's (shared) back-off lets the next request go.
    """

    kind = ErrorKind.BLOCKED

    def __init__(
        self,
        message: str,
        *,
        evidence: str = "",
        retry_at: datetime | None = None,
        **context: Unpack[_CarrierContext],
    ) -> None:
        super().__init__(message, **context)
        self.evidence = evidence
        """What in the body shows the block (e.g. `HTML page "Access denied"`)."""
        self.retry_at = retry_at
        """When the carrier's back-off lets requests go again."""


class QuotaExhaustedError(CarrierError):
    """The account's quota at the carrier is used up."""

    kind = ErrorKind.QUOTA


class PermissionDeniedError(CarrierError):
    """Valid credentials, but not allowed this call (or this number)."""

    kind = ErrorKind.PERMISSION

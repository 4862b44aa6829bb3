"""17TRACK's vocabularies: key stages, sub-statuses, error codes and carrier keys.

Key stages and sub-statuses are data (`statuses.toml`, one row each with its stage and
source); the rest is tabled here.

Sources (facts only):

- API v2.2 documentation, https://asset.17track.net/api/document/v2.2_en/index.html
  (endpoints, `17token` header, 40 numbers a call, `milestone[].key_stage`, error codes).
- API v1 documentation, https://asset.17track.net/api/document/v1_en/index.html
  (HTTP statuses, the `-1801xxxx` envelope codes, unchanged in v2.x).
- Quota codes `-18019907` / `-18019908` and "no tracking information" `-18019909`: seen in
  several independent clients (godely/aio17track `SPEC.md` §7 and its error enum, and two
  other public integrations) [clients].
- Carrier keys: the carrier list of wksw/17track-golang-sdk (`17track_carrier.go`), as
  tabled in docs/carrier-apis.md §5.
"""

from __future__ import annotations

import re

from carriers.kit.tables import StatusRow, StatusTable, read_rows, read_table
from tracking.core.domain import ErrorKind, Stage

__all__ = [
    "ALREADY_REGISTERED",
    "AUTH_CODES",
    "KEY_STAGES",
    "KNOWN_CARRIER_KEYS",
    "NOT_REGISTERED",
    "PERMISSION_CODES",
    "QUOTA_CODES",
    "REJECTION_KINDS",
    "STAGE_MAP",
    "STATUSES",
    "SUB_STATUS_MAP",
    "TOO_MANY_NUMBERS",
    "Track17Status",
    "expected_carrier",
    "stage_of",
]


class Track17Status(StatusRow):
    """A `status` row of `statuses.toml`: a sub-status, its stage, and the stages of the
    events the sandbox sends it with (`sent_for`)."""

    sent_for: tuple[Stage, ...] = ()


STATUSES = read_table("carriers.track17", Track17Status)
"""17TRACK's sub-statuses (`statuses.toml`, carrier-apis §5)."""

STAGE_MAP: dict[str, Stage] = StatusTable(
    read_rows("carriers.track17", "statuses.toml", "key_stage", StatusRow)
).stage_map
"""Key stage -> stage (`statuses.toml`, the `key_stage` rows), in 17TRACK's order. Other
`stage` values (a `latest_event` shows "Exception") fall through to `sub_status`."""

KEY_STAGES: tuple[str, ...] = tuple(STAGE_MAP)
"""The nine `track_info.milestone[].key_stage` values, in 17TRACK's order."""

CUSTOMS = Stage.IMPORT_CUSTOMS  # export_customs when the event is in the origin country

SUB_STATUS_MAP: dict[str, Stage] = STATUSES.stage_map
"""Event `sub_status` -> stage, when the event's `stage` is null or not a key stage."""

ALREADY_REGISTERED = -18019901
"""`register` rejection for a number registered before: not an error, it is tracked."""

NOT_REGISTERED = -18019902
"""`gettrackinfo` rejection of a number never registered: register it (costs quota)."""

TOO_MANY_NUMBERS = -18010014
"""More than 40 numbers in one call: the adapter never sends that, so it is a bug."""

AUTH_CODES: dict[int, str] = {
    -18010002: "the access key is invalid",
}
"""Envelope codes that refuse the credentials themselves [payload: v1/v2.2 error table]."""

PERMISSION_CODES: dict[int, str] = {
    -18010001: "this IP address is not on the key's whitelist",
    -18010004: "the account is disabled",
    -18010005: "unauthorised access",
}
"""Envelope codes where the key is known but not allowed (an IP whitelist, a disabled
account): typed `permission`, given up by the shared rule, never retried blindly."""

QUOTA_CODES: dict[int, str] = {
    -18019907: "the daily tracking limit is reached",
    -18019908: "the tracking quota is used up",
}
"""Quota codes [clients]; typed `quota` (the account refuses more registrations until its
quota renews; nothing is wrong with the numbers). Whether 17TRACK sends them as the envelope
`code` or per number in `rejected` is not verified: both are handled."""

REJECTION_KINDS: dict[int, ErrorKind] = {
    NOT_REGISTERED: ErrorKind.NOT_FOUND,  # only when registering is not an option
    -18019903: ErrorKind.NOT_FOUND,  # carrier cannot be detected (a carrier key might help)
    -18019909: ErrorKind.NOT_FOUND,  # no tracking information at the moment [clients]
    -18010011: ErrorKind.INVALID_NUMBER,  # the value of a field is invalid
    -18010012: ErrorKind.INVALID_NUMBER,  # the format of a field is invalid
    -18019907: ErrorKind.QUOTA,
    -18019908: ErrorKind.QUOTA,
}
"""Per-number `rejected[].error.code` -> failure kind; any other code is `carrier_error`."""

KNOWN_CARRIER_KEYS: tuple[tuple[re.Pattern[str], int, str], ...] = (
    (re.compile(r"YT\d{16}"), 190008, "YunExpress"),  # YunExpress waybill (carrier-apis §11)
    (re.compile(r"4PX\d{13}CN"), 190094, "4PX"),  # 4PX's own number (carrier-apis §11)
    (re.compile(r"[A-Z]{2}\d{9}(YP|YR)|YD\d{9}YW"), 190012, "Yanwen"),  # §11: not countries
    (re.compile(r"LP\d{14}"), 190271, "Cainiao"),  # Cainiao's own LP number
)
"""Number shapes that name their carrier beyond doubt, with that carrier's 17TRACK key.

17TRACK detects a number's carrier itself; for these shapes the project knows better, so
the number is registered with the key and its carrier changed (`changecarrier`) when
17TRACK tracks it under another. UPU S10 numbers are deliberately absent: their suffix
names a country, and several carriers of one country issue them."""


def expected_carrier(number: str) -> tuple[int, str] | None:
    """(17TRACK key, name) of the carrier whose number shape `number` has, if beyond doubt."""
    normalized = "".join(number.split()).upper()
    for pattern, key, name in KNOWN_CARRIER_KEYS:
        if pattern.fullmatch(normalized):
            return key, name
    return None


def stage_of(stage: str | None, sub_status: str | None) -> Stage:
    """The stage of an event from its `stage`, else its `sub_status`; `UNKNOWN` if neither.

    Customs sub-statuses come back as `import_customs`; the parser makes them
    `export_customs` when the event is located in the origin country.
    """
    if stage and stage.strip() in STAGE_MAP:
        return STAGE_MAP[stage.strip()]
    if sub_status and sub_status.strip() in SUB_STATUS_MAP:
        return SUB_STATUS_MAP[sub_status.strip()]
    return Stage.UNKNOWN

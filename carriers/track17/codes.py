"""17TRACK's vocabularies: key stages, sub-statuses, error codes and carrier keys.

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
    "SUB_STATUS_MAP",
    "TOO_MANY_NUMBERS",
    "expected_carrier",
    "stage_of",
]

KEY_STAGES: tuple[str, ...] = (
    "InfoReceived",
    "PickedUp",
    "Departure",
    "Arrival",
    "AvailableForPickup",
    "OutForDelivery",
    "Delivered",
    "Returning",
    "Returned",
)
"""The nine `track_info.milestone[].key_stage` values, in 17TRACK's order [payload: the
v2.x webhook example of 17TRACK's docs lists all nine, unreached ones with null times]."""

STAGE_MAP: dict[str, Stage] = {
    # The nine key stages, also used as an event's `stage` (carrier-apis §5, [payload]).
    "InfoReceived": Stage.INFO_RECEIVED,
    "PickedUp": Stage.PICKED_UP,
    "Departure": Stage.DEPARTED_ORIGIN,  # left the origin country's port
    "Arrival": Stage.ARRIVED_DESTINATION,  # reached the destination country's port
    "AvailableForPickup": Stage.AVAILABLE_FOR_PICKUP,  # waiting at a pickup point: not delivered
    "OutForDelivery": Stage.OUT_FOR_DELIVERY,
    "Delivered": Stage.DELIVERED,
    "Returning": Stage.RETURNING,
    "Returned": Stage.RETURNED,
}
"""Key stage -> stage. Other `stage` values (a `latest_event` shows "Exception") fall
through to `sub_status`."""

CUSTOMS = Stage.IMPORT_CUSTOMS  # export_customs when the event is in the origin country

SUB_STATUS_MAP: dict[str, Stage] = {
    # 17TRACK help centre sub-statuses (carrier-apis §5), used when `stage` is null.
    "InfoReceived": Stage.INFO_RECEIVED,
    "InTransit_PickedUp": Stage.PICKED_UP,
    "InTransit_Departure": Stage.DEPARTED_ORIGIN,
    "InTransit_Arrival": Stage.ARRIVED_DESTINATION,
    "InTransit_CustomsProcessing": CUSTOMS,
    "InTransit_CustomsReleased": CUSTOMS,
    "InTransit_CustomsRequiringInformation": CUSTOMS,
    # 17TRACK has no facility sub-status: sorting scans, in either country, are this one.
    "InTransit_Other": Stage.IN_TRANSIT,
    "AvailableForPickup_Other": Stage.AVAILABLE_FOR_PICKUP,
    "OutForDelivery_Other": Stage.OUT_FOR_DELIVERY,
    "DeliveryFailure_Other": Stage.DELIVERY_FAILED,
    "DeliveryFailure_NoBody": Stage.DELIVERY_FAILED,
    "DeliveryFailure_Security": Stage.DELIVERY_FAILED,
    "DeliveryFailure_Rejected": Stage.DELIVERY_FAILED,
    "DeliveryFailure_InvalidAddress": Stage.DELIVERY_FAILED,
    "Delivered_Other": Stage.DELIVERED,
    "Exception_Returning": Stage.RETURNING,
    "Exception_Returned": Stage.RETURNED,
    "Exception_Other": Stage.EXCEPTION,
    "Exception_NoBody": Stage.EXCEPTION,
    "Exception_Security": Stage.EXCEPTION,  # held (customs, security, fees) before delivery
    "Exception_Damage": Stage.EXCEPTION,
    "Exception_Rejected": Stage.EXCEPTION,
    "Exception_Lost": Stage.EXCEPTION,
    "Exception_Destroyed": Stage.EXCEPTION,
    "Exception_Cancel": Stage.EXCEPTION,
    # Deliberately unknown: a possible delay, an expiry or "nothing found" says nothing about
    # where the parcel is, and `exception` would end the order's verdict as a problem.
    "Exception_Delayed": Stage.UNKNOWN,
    "Expired_Other": Stage.UNKNOWN,
    "NotFound_Other": Stage.UNKNOWN,
    "NotFound_InvalidCode": Stage.UNKNOWN,
}
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

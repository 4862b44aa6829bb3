"""When to poll a shipment again: an adaptive policy by stage and age (design §12)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracking.domain import Stage

__all__ = ["GIVE_UP_NOT_FOUND", "given_up", "next_poll_at"]

GIVE_UP_NOT_FOUND = timedelta(days=30)
"""A number the carrier still does not know after this long is given up."""

AWAITING_POLL = timedelta(minutes=15)
"""Next poll of a number an aggregator (17TRACK) registered and has not fetched yet."""
AWAITING_WINDOW = timedelta(hours=6)
"""How long `awaiting_data` is polled every `AWAITING_POLL`; then as not found (bounded)."""

_BY_STAGE: dict[str, timedelta] = {
    Stage.INFO_RECEIVED.value: timedelta(hours=6),
    Stage.OUT_FOR_DELIVERY.value: timedelta(hours=2),
    Stage.AVAILABLE_FOR_PICKUP.value: timedelta(hours=6),
    Stage.DELIVERY_FAILED.value: timedelta(hours=4),
}
_DEFAULT = timedelta(hours=12)
_AFTER_ERROR = timedelta(hours=1)
_CONFIRM_FINAL = timedelta(hours=24)


def given_up(*, not_found_since: datetime | None, last_fetched_at: datetime | None) -> bool:
    """Whether a number still unknown when last asked (`last_fetched_at`) was given up.

    True once it had been not found for `GIVE_UP_NOT_FOUND`: that poll set no next one.
    """
    if not_found_since is None or last_fetched_at is None:
        return False
    return last_fetched_at - not_found_since >= GIVE_UP_NOT_FOUND


def next_poll_at(
    *,
    now: datetime,
    state: str,
    latest_stage: str | None,
    final: bool,
    was_final: bool,
    not_found_since: datetime | None,
) -> datetime | None:
    """The next time to poll, or None for never again.

    Final shipments get one confirming poll a day later, then none. Unknown numbers back
    off (6 h, then daily, then every 2 days) and are given up after 30 days; a number
    registered with an aggregator that has not fetched it yet (`awaiting_data`) is polled
    every 15 minutes for 6 hours, then like an unknown one. A failed fetch is retried
    within the hour.
    """
    if final:
        return None if was_final else now + _CONFIRM_FINAL
    if state == "awaiting_data" and now - (not_found_since or now) < AWAITING_WINDOW:
        return now + AWAITING_POLL
    if state in ("not_found", "awaiting_data"):
        since = not_found_since or now
        age = now - since
        if given_up(not_found_since=since, last_fetched_at=now):
            return None
        if age < timedelta(days=1):
            return now + timedelta(hours=6)
        if age < timedelta(days=7):
            return now + timedelta(days=1)
        return now + timedelta(days=2)
    if state == "error":
        return now + _AFTER_ERROR
    return now + _BY_STAGE.get(latest_stage or "", _DEFAULT)

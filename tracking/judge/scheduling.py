"""When to poll a shipment again: an adaptive policy by stage and age (design §12).

Giving up is one rule (`given_up`): a number the carrier has not answered with tracking for
`GIVE_UP_AFTER` (30 days) is no longer polled, whatever the carrier answered meanwhile - not
found, an unknown error code, refused permission, an exhausted quota, an anti-bot block, a
body we cannot read. The streak starts at the first failed poll (`shipments.not_found_since`,
"failing since") and ends at the first answer with tracking. Every failure backs off the same
way as it ages (`FAILURE_SCHEDULE`); a blocked carrier's own back-off (`retry_at`) comes first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tracking.core.domain import Stage

__all__ = ["FAILURE_SCHEDULE", "GIVE_UP_AFTER", "GIVE_UP_NOT_FOUND", "given_up", "next_poll_at"]

GIVE_UP_AFTER = timedelta(days=30)
"""A number the carrier has not answered with tracking for this long is given up."""
GIVE_UP_NOT_FOUND = GIVE_UP_AFTER
"""The same rule, by its former name."""

FAILURE_SCHEDULE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(hours=6)),
    (timedelta(days=7), timedelta(days=1)),
)
"""(streak younger than, next poll after) for failures; older streaks: every 2 days."""
_FAILURE_LATE = timedelta(days=2)
_NOT_SOON = frozenset({"auth", "permission", "quota"})
"""Errors an hour does not mend (credentials, rights, a used-up quota): not-found's pace."""

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
    """Whether a number still failing when last asked (`last_fetched_at`) was given up.

    `not_found_since` is the start of the failure streak (not found or any carrier error).
    True once it had lasted `GIVE_UP_AFTER`: that poll set no next one.
    """
    if not_found_since is None or last_fetched_at is None:
        return False
    return last_fetched_at - not_found_since >= GIVE_UP_AFTER


def next_poll_at(
    *,
    now: datetime,
    state: str,
    latest_stage: str | None,
    final: bool,
    was_final: bool,
    not_found_since: datetime | None,
    retry_at: datetime | None = None,
    error_kind: str | None = None,
) -> datetime | None:
    """The next time to poll, or None for never again.

    Final shipments get one confirming poll a day later, then none. Failures - `not_found`
    or `error` - back off as their streak ages: within its first day every 6 h (a server
    error, a throttle or an unreadable answer: every hour), then daily, then every 2 days,
    and are given up after 30 days. A number registered with an aggregator that has not
    fetched it yet (`awaiting_data`) is polled every 15 minutes for 6 hours, then like an
    unknown one (the same streak, the same bound).
    `retry_at` (a blocked carrier's back-off) overrides the first day's interval.
    """
    if final:
        return None if was_final else now + _CONFIRM_FINAL
    if state == "awaiting_data" and now - (not_found_since or now) < AWAITING_WINDOW:
        return now + AWAITING_POLL
    if state in ("not_found", "error", "awaiting_data"):
        since = not_found_since or now
        if given_up(not_found_since=since, last_fetched_at=now):
            return None
        age = now - since
        step = next((after for younger, after in FAILURE_SCHEDULE if age < younger), _FAILURE_LATE)
        if age < FAILURE_SCHEDULE[0][0] and state == "error" and error_kind not in _NOT_SOON:
            step = _AFTER_ERROR  # a server error or a throttle may well be gone within the hour
        if retry_at is not None and age < FAILURE_SCHEDULE[0][0]:
            return max(retry_at, now)
        return now + step
    return now + _BY_STAGE.get(latest_stage or "", _DEFAULT)

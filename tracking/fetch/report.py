"""What a pull or refresh did: the report `pull --json` prints, and its progress hook."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from tracking.core.domain import CarrierFailure, ErrorKind, NumberResult
from tracking.fetch.outcome import outcome

__all__ = ["ProgressHook", "PullReport", "note_blocks"]

ProgressHook = Callable[[str, int, int], None]
"""Called as (carrier code, numbers done, numbers total)."""


_POLL_COUNTS = {
    "due": "shipments_due",
    "fetched": "shipments_fetched",
    "not_found": "shipments_not_found",
    "failed": "shipments_failed",
    "events_new": "events_new",
    "requests": "requests",
}
"""A poll's counts by name, and the `PullReport` field of each."""


@dataclass
class PullReport:
    """What a pull or refresh did, as `pull --json` prints it."""

    run_id: str
    rows_read: int = 0
    rows_rejected: int = 0
    orders_read: int = 0  # rows of one store and order id are one order
    item_rows: int = 0  # further rows (items) of an order already read
    parcels_stored: int = 0  # further parcels of split orders (another tracking number)
    orders_stored: int = 0
    orders_in_window: int = 0
    shipments_due: int = 0
    shipments_fetched: int = 0
    shipments_not_found: int = 0
    shipments_failed: int = 0
    events_new: int = 0
    legs_found: int = 0
    requests: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"pass": 0, "fail": 0, "pending": 0})
    by_carrier: dict[str, dict[str, int]] = field(default_factory=dict)
    errors_file: str | None = None
    source: dict[str, str] | None = None  # the file as read: profile, sheet, time zone
    window: tuple[str, str] | None = None
    seconds: float = 0.0
    notices: dict[str, str] = field(default_factory=dict)
    """Per carrier, what a user must know about the run (a carrier refusing requests)."""
    problems: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per carrier, its failures by kind and a message of each (`tracking.fetch.outcome`)."""

    def carrier(self, code: str) -> dict[str, int]:
        """The counts of carrier `code` in this run (made, all zero, on first use)."""
        return self.by_carrier.setdefault(
            code, {"due": 0, "fetched": 0, "not_found": 0, "failed": 0}
        )

    def as_json(self) -> dict[str, Any]:
        """Every field (in their order; `window` as start and end, `seconds` rounded), then
        the run's `outcome` before `problems`."""
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "problems"}
        shown["window"] = {"start": self.window[0], "end": self.window[1]} if self.window else None
        shown["seconds"] = round(self.seconds, 3)
        shown["outcome"] = outcome(self)
        shown["problems"] = self.problems
        return shown

    def poll_counts(self) -> dict[str, int]:
        """The counts of a poll by name: what a worker's poll job returns and its run records."""
        return {name: getattr(self, field) for name, field in _POLL_COUNTS.items()}


def note_blocks(report: PullReport, code: str, results: Sequence[NumberResult]) -> None:
    """Keep the latest "<carrier> is refusing automated requests; retrying at ..." line."""
    for result in results:
        outcome = result.outcome
        if isinstance(outcome, CarrierFailure) and outcome.kind is ErrorKind.BLOCKED:
            report.notices[code] = outcome.message.split(" (the answer was ", 1)[0]
            return

"""Which events prove the three milestones (explicit evidence only; the validator infers)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tracking.core.domain import MILESTONES, ParsedEvent, Stage

__all__ = ["chronological", "explicit_milestones", "milestone_times"]


def chronological(events: Iterable[ParsedEvent]) -> list[ParsedEvent]:
    """Events oldest first (stable for equal instants)."""
    return sorted(events, key=lambda e: e.occurred_at)


def explicit_milestones(events: Iterable[ParsedEvent]) -> dict[Stage, ParsedEvent | None]:
    """The earliest event of each milestone stage, or None where no event has that stage."""
    found: dict[Stage, ParsedEvent | None] = dict.fromkeys(MILESTONES)
    for event in chronological(events):
        if event.stage in found and found[event.stage] is None:
            found[event.stage] = event
    return found


def milestone_times(events: Iterable[ParsedEvent]) -> dict[str, datetime | None]:
    """Milestone name -> UTC instant of the proving event (None when unproven)."""
    return {
        stage.value: (event.occurred_at if event is not None else None)
        for stage, event in explicit_milestones(events).items()
    }

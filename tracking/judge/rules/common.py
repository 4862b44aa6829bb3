"""What every rule module uses: a finding at a severity, a pointer to an event's raw response,
and the event that proves a milestone explicitly."""

from __future__ import annotations

from collections.abc import Sequence

from tracking.core.domain import Stage
from tracking.judge.findings import finding
from tracking.read.views import EventView, FindingView, MilestoneView, Severity

__all__ = ["finding_at", "first_explicit", "ref"]


def finding_at(
    code: str,
    severity: Severity,
    message: str,
    message_zh: str,
    evidence: Sequence[str] = (),
) -> FindingView:
    """A finding of `code` at `severity` (see `tracking.judge.findings.finding`)."""
    return finding(code, message, message_zh, evidence, severity=severity)


def ref(event: EventView) -> str:
    """The evidence pointer of the raw response that carried `event`."""
    return f"exchange:{event.exchange_sha256}"


def first_explicit(milestones: Sequence[MilestoneView], stage: Stage) -> EventView | None:
    """The event proving `stage` explicitly, if any."""
    for view in milestones:
        if view.stage == stage.value and view.status == "explicit":
            return view.event
    return None

"""What a pull or refresh came to (succeeded, partial, failed) and, per carrier, why.

A run that fetched nothing must never look like a success: the command line exits 1 and the
API's pull job ends `failed`, each with one line per carrier that says what stood in the way
(no credentials, blocked, quota, unreachable ...). Per-number answers such as "not found" or
"invalid number" are results, not problems of the carrier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from tracking.core.config import Settings, load_carrier_settings
from tracking.core.domain import CarrierFailure, ErrorKind, NumberResult
from tracking.core.exceptions import ConfigError
from tracking.core.redaction import redact

if TYPE_CHECKING:
    from tracking.fetch.report import PullReport

__all__ = ["CARRIER_PROBLEMS", "Outcome", "explain", "note_problems", "outcome"]

Outcome = Literal["succeeded", "partial", "failed"]

CARRIER_PROBLEMS: dict[ErrorKind, str] = {
    ErrorKind.AUTH: "credentials refused",
    ErrorKind.PERMISSION: "not allowed with these credentials",
    ErrorKind.BLOCKED: "blocked",
    ErrorKind.QUOTA: "quota used up",
    ErrorKind.RATE_LIMITED: "rate limited",
    ErrorKind.CARRIER_ERROR: "carrier error",
    ErrorKind.BAD_PAYLOAD: "unreadable answers",
}
"""Failure kinds that come from the carrier (or the way to it), with what users call them."""


def note_problems(
    problems: dict[str, dict[str, Any]], code: str, results: Sequence[NumberResult]
) -> None:
    """Count carrier `code`'s failures by kind in `problems`; keep the first message of each."""
    for result in results:
        failure = result.outcome
        if not isinstance(failure, CarrierFailure) or failure.kind not in CARRIER_PROBLEMS:
            continue
        entry = problems.setdefault(code, {"kinds": {}, "messages": {}})
        kind = failure.kind.value
        entry["kinds"][kind] = entry["kinds"].get(kind, 0) + 1
        entry["messages"].setdefault(kind, failure.message)


def outcome(report: PullReport) -> Outcome:
    """`failed` when carriers failed and none answered; `partial` when some did."""
    if not report.problems:
        return "succeeded"
    answered = report.shipments_fetched + report.shipments_not_found
    return "partial" if answered else "failed"


def _unreachable(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in ("timed out", "connect", "network", "resolve", "dns"))


def _env_names(code: str, fields: Sequence[str]) -> str:
    return ", ".join(f"TRACK_EVIDENCE_{code.upper()}__{name.upper()}" for name in fields)


def explain(
    report: PullReport,
    *,
    settings: Settings,
    carriers: Mapping[str, Any],
    sandbox: bool = False,
) -> dict[str, str]:
    """One line per carrier that had problems: what happened, to how many, what to do.

    `carriers` maps codes to their `CarrierInfo` (to tell missing credentials from refused);
    a `sandbox` run brings its own credentials.
    """
    lines: dict[str, str] = {}
    for code, entry in sorted(report.problems.items()):
        kinds: dict[str, int] = entry["kinds"]
        kind = max(kinds, key=lambda k: kinds[k])
        message = redact(str(entry["messages"].get(kind, "")))  # carriers echo keys back
        label = CARRIER_PROBLEMS[ErrorKind(kind)]
        if kind == ErrorKind.CARRIER_ERROR and _unreachable(message):
            label = "unreachable"
        missing = [] if sandbox else _missing(code, settings=settings, carriers=carriers)
        if missing and kind in (ErrorKind.AUTH, ErrorKind.PERMISSION):
            label = "no credentials"
        due = report.by_carrier.get(code, {}).get("due", 0)
        failed = sum(kinds.values())
        text = f"{label}: {failed} of {due or failed} shipments failed"
        if message:
            text += f" ({message})"
        if missing and "TRACK_EVIDENCE_" not in message:  # unless the carrier said it
            text += f"; not set: {_env_names(code, missing)}"
        lines[code] = text
    return lines


def _missing(code: str, *, settings: Settings, carriers: Mapping[str, Any]) -> list[str]:
    info = carriers.get(code)
    if info is None:
        return []
    try:
        configured = load_carrier_settings(info.settings_model, settings=settings, code=code)
    except ConfigError:
        return []
    return list(configured.missing_credentials())

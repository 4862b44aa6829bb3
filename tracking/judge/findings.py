"""The catalogue of findings (design §14): stable codes, severities and plain titles.

A finding is what a marketplace reviewer would raise against an order's evidence. Its code is
stable (reports group by it, appeal builders key on it); its message says what is wrong in
plain English and Chinese; its evidence points at what shows it (`exchange:<sha256>` for a
raw carrier response, `order:<tenant>/<order id>` for another order).

The catalogue itself is data (`findings.toml`, one row per code). This module is pure: the
validator builds findings with `finding`, the report groups them by `CATALOGUE` entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from tracking.core.datafiles import read_rows
from tracking.read.views import FindingView, Severity

__all__ = [
    "CATALOGUE",
    "SEVERITY_RANK",
    "FindingSpec",
    "finding",
    "redact_other_stores",
    "spec",
]

SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
"""Most serious first."""


class FindingSpec(BaseModel):
    """One finding code: its usual severity and a short bilingual title for reports.

    **Parameters:**

    * **code** - the stable code, `<area>.<what>`.
    * **severity** - the usual severity; a policy or the order's age may change it, and the
      severity of each finding instance is what counts.
    * **title** / **title_zh** - a short name for the problem, English and Chinese.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    title: str
    title_zh: str


CATALOGUE: dict[str, FindingSpec] = {
    row.code: row
    for row in read_rows(
        "tracking.judge", "findings.toml", "finding", FindingSpec, unique=lambda r: r.code
    )
}
"""Every finding code the validator emits (`findings.toml` beside this module)."""


def spec(code: str) -> FindingSpec:
    """The catalogue entry of `code` (a generic entry for a code not in the catalogue)."""
    found = CATALOGUE.get(code)
    if found is not None:
        return found
    return FindingSpec(code=code, severity="warning", title=code, title_zh=code)


def finding(
    code: str,
    message: str,
    message_zh: str,
    evidence: Sequence[str] = (),
    *,
    severity: Severity | None = None,
) -> FindingView:
    """A finding of a catalogued `code`, at its usual severity unless `severity` is given.

    Evidence pointers are de-duplicated, first occurrence first.
    """
    if code not in CATALOGUE:
        raise ValueError(f"finding code {code!r} is not in the catalogue")
    chosen = severity or CATALOGUE[code].severity
    if chosen not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {chosen!r}")
    return FindingView(
        code=code,
        severity=chosen,
        message=message,
        message_zh=message_zh,
        evidence=tuple(dict.fromkeys(evidence)),
    )


def redact_other_stores(evidence: Sequence[str], *, tenant: str) -> tuple[str, ...]:
    """`evidence` with pointers to orders of stores other than `tenant` anonymized.

    For views scoped to one store (the HTTP API): `order:<other>/<id>` becomes
    `order:(another store)`, so a store learns that its number is reused elsewhere but not
    by whom. Other pointers are kept as they are.
    """
    prefix = f"order:{tenant}/"
    return tuple(
        "order:(another store)" if p.startswith("order:") and not p.startswith(prefix) else p
        for p in evidence
    )

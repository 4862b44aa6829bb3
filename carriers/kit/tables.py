"""A carrier's status table: its codes, the stage each one means, and the sandbox's wording.

The house rule for things that grow (docs/style.md, "data beside code"): a carrier's status
codes live in a data file of its package, `statuses.toml`, one row per code, with the reason
for its stage (and its public source) as a comment beside the row. Adding a code the parser
reads exactly touches no control flow. The parser reads `StatusTable.stage_map`; the sandbox
emits, for each stage, the codes of that stage that carry wording (`texts`), picked by the
event's variant in the file's order (so the row order is the sandbox's behaviour). Parser and
sandbox read one table; `tests/test_datafiles.py` checks that each carrier's parser reads
every row's code as the row's stage, the rows read `by_rule` included.

A row holds at least `code` and `stage`; a carrier whose rows say more (a standard
description, a status group) declares a `StatusRow` subclass with those fields. Files that
are not code-keyed (17TRACK's texts per language) are read with `read_rows`
(`tracking.core.datafiles`), which checks every row the same way and names the file and row
of any mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from carriers.kit.sandboxes import event_code
from carriers.kit.simulated import SimEvent
from tracking.core.datafiles import read_rows
from tracking.core.domain import Stage

__all__ = ["StatusRow", "StatusTable", "read_rows", "read_table"]


class StatusRow(BaseModel):
    """One status code: the stage it means; the sandbox's wording and exception detail."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    stage: Stage
    texts: tuple[str, ...] = ()
    """Invented wording the sandbox sends with this code (`{city}` filled in); a row with
    texts is one the sandbox emits for its stage, unless it has a `detail`."""
    detail: str = ""
    """The `SimEvent.detail` of the exception the sandbox reports with this code."""
    by_rule: bool = False
    """The parser reads this code by a rule (a prefix family), not from the exact map: the row
    only carries the sandbox's wording, and `stage` must be what the rule gives
    (`tests/test_datafiles.py` checks every carrier's parser reads every row as its stage)."""


S = TypeVar("S", bound=StatusRow)


@dataclass(frozen=True, slots=True)
class StatusTable(Generic[S]):
    """A carrier's status rows, looked up the ways its parser and sandbox need."""

    rows: tuple[S, ...]
    by_code: Mapping[str, S] = field(init=False)
    emitted: Mapping[Stage, tuple[str, ...]] = field(init=False)
    """Stage -> the codes the sandbox emits for it, in the file's order."""
    exception_codes: Mapping[str, str] = field(init=False)
    """`SimEvent.detail` -> the code the sandbox reports that exception with."""

    def __post_init__(self) -> None:
        by_code: dict[str, S] = {}
        emitted: dict[Stage, list[str]] = {}
        exceptions: dict[str, str] = {}
        for row in self.rows:
            code = row.code
            if not code or code != code.strip():
                raise ValueError(f"status code {code!r}: empty, or spaces around it")
            if code in by_code:
                raise ValueError(f"status code {code!r} is listed twice")
            by_code[code] = row
            if row.detail:
                if row.stage is not Stage.EXCEPTION:
                    raise ValueError(f"status code {code!r}: a detail needs stage exception")
                if row.detail in exceptions:
                    raise ValueError(f"detail {row.detail!r} is given to two codes")
                exceptions[row.detail] = code
            elif row.texts:
                emitted.setdefault(row.stage, []).append(code)
        object.__setattr__(self, "by_code", by_code)
        object.__setattr__(self, "emitted", {s: tuple(c) for s, c in emitted.items()})
        object.__setattr__(self, "exception_codes", exceptions)

    @property
    def stage_map(self) -> dict[str, Stage]:
        """Code -> stage, as the parser reads a code exactly (rows read `by_rule` left out)."""
        return {row.code: row.stage for row in self.rows if not row.by_rule}

    def row_for(self, event: SimEvent) -> S:
        """The row the sandbox sends an event with: an exception's by its `detail`, otherwise
        one of its stage's coded rows, picked by its `variant` (`kit.sandboxes.event_code`)."""
        return self.by_code[event_code(event, self.emitted, self.exception_codes)]


def read_table(package: str, model: type[S]) -> StatusTable[S]:
    """The package's `statuses.toml` (its `status` rows) as a `StatusTable`; a mistake
    raises `ValueError` naming the file."""
    rows = read_rows(package, "statuses.toml", "status", model)
    try:
        return StatusTable(rows)
    except ValueError as exc:
        raise ValueError(f"{package}/statuses.toml: {exc}") from None

"""How hard the randomized tests search: fixed and bounded under `make test`, fresh and deep
under `make fuzz`.

`make test` must give the same answer on every run and machine, so Hypothesis runs its
`deterministic` profile (see conftest.py) and schemathesis gets a fixed seed. `make fuzz` sets
`TRACK_EVIDENCE_FUZZ=<factor>` and `--hypothesis-profile=fuzz`: every randomized test then draws
`factor` times as many examples from fresh seeds (the seed of a failure is printed).
"""

from __future__ import annotations

import os

__all__ = ["FUZZ_FACTOR", "SCHEMATHESIS_SEED", "examples"]

FUZZ_FACTOR = max(1, int(os.environ.get("TRACK_EVIDENCE_FUZZ", "1") or "1"))
"""1 under `make test`; the multiplier `make fuzz` asks for."""

SCHEMATHESIS_SEED: int | None = 20261205 if FUZZ_FACTOR == 1 else None
"""Schemathesis' seed: fixed for `make test`, fresh (random) for `make fuzz`."""


def examples(count: int) -> int:
    """`count` examples for `make test`, `count * FUZZ_FACTOR` for `make fuzz`."""
    return count * FUZZ_FACTOR

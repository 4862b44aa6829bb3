"""What the carriers' sandbox renderers share: the numbers a request lists, and the cap on them.

Each carrier's `sandbox.py` reads its own wire format; where two read the numbers the same
way (a comma-joined query parameter, a cap of a batch's size), they read them through here.
"""

from __future__ import annotations

from collections.abc import Sequence

from carriers.base import SandboxRequest

__all__ = ["at_most", "listed_numbers"]


def at_most(numbers: Sequence[str], most: int) -> list[str]:
    """`numbers` as a list; `ValueError` if a request asks for more than `most`."""
    if len(numbers) > most:
        raise ValueError(f"at most {most} numbers per request")
    return list(numbers)


def listed_numbers(request: SandboxRequest, name: str, *, most: int) -> list[str]:
    """The numbers of the comma-separated query parameter `name`; `ValueError` if none or
    more than `most`."""
    numbers = [n.strip() for n in request.query.get(name, "").split(",") if n.strip()]
    if not numbers:
        raise ValueError(f"{name} is missing or empty")
    return at_most(numbers, most)

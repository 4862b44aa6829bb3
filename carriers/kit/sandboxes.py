"""What the carriers' sandbox renderers share: the numbers a request lists, and the cap on them;
the code and text a simulated event goes out with; the compact JSON bodies.

Each carrier's `sandbox.py` reads and writes its own wire format; where two do a thing the
same way (a comma-joined query parameter, a cap of a batch's size, a code picked by the
event's variant), they do it through here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from carriers.base import SandboxRequest
from carriers.kit.simulated import SimEvent
from tracking.core.domain import Stage

__all__ = ["at_most", "event_code", "json_body", "listed_numbers", "variant_of"]

T = TypeVar("T")


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


def json_body(data: Any) -> bytes:
    """`data` as a compact UTF-8 JSON body, non-ASCII text written as it is."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def variant_of(options: Sequence[T], event: SimEvent) -> T:
    """The one of `options` the event's `variant` picks."""
    return options[event.variant % len(options)]


def event_code(
    event: SimEvent, codes: Mapping[Stage, Sequence[str]], exception_codes: Mapping[str, str]
) -> str:
    """The carrier's code for an event: an exception's by its `detail`, otherwise one of its
    stage's codes, picked by its `variant`."""
    if event.stage is Stage.EXCEPTION:
        return exception_codes[event.detail]
    return variant_of(codes[event.stage], event)

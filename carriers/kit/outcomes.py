"""What every parser builds: a number the carrier does not know, an event's country."""

from __future__ import annotations

from tracking.core.domain import CarrierFailure, ErrorKind, Side, Stage

__all__ = ["not_found", "side_country"]


def not_found(number: str, message: str) -> CarrierFailure:
    """`number`'s failure when the carrier answers but has nothing for it."""
    return CarrierFailure(number, ErrorKind.NOT_FOUND, message)


def side_country(
    stage: Stage, *, origin: str | None = None, destination: str | None = None
) -> str | None:
    """The country an event of `stage` happens in, as far as the stage's side tells:
    `origin` on the origin side, `destination` on the destination side, else none."""
    return {Side.ORIGIN: origin, Side.DESTINATION: destination}.get(stage.side)

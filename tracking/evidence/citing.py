"""Which orders `upload/` cites: the ones that pass, unless the seller decides otherwise.

By default an order is cited when its verdict is `pass`. `verdicts` changes that set (the CLI's
`--verdict`, the API's `verdicts`), `orders` narrows it to named orders (`--order`), and the
seller decides knowingly with `include` (cite this order whatever its verdict) and `exclude`
(never cite it). The manifest records the rule and both lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tracking.core.exceptions import InputError
from tracking.read.views import OrderEvidence

__all__ = ["Citation"]


@dataclass(frozen=True, slots=True)
class Citation:
    """The rule that picks the cited orders among those of the window."""

    verdicts: tuple[str, ...] = ("pass",)
    orders: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        both = sorted(set(self.include) & set(self.exclude))
        if both:
            raise InputError(f"order {both[0]!r} is given to both --include and --exclude")

    def cites(self, order: OrderEvidence) -> bool:
        """Whether `upload/` documents `order`."""
        if order.order_id in self.exclude:
            return False
        if order.order_id in self.include:
            return True
        if self.orders and order.order_id not in self.orders:
            return False
        return order.verdict in self.verdicts

    def check_known(self, seen: Iterable[str]) -> None:
        """Refuse `include`/`exclude`/`orders` ids that are not orders of the window."""
        known = set(seen)
        for flag, ids in (
            ("--include", self.include),
            ("--exclude", self.exclude),
            ("--order", self.orders),
        ):
            unknown = sorted(set(ids) - known)
            if unknown:
                raise InputError(f"{flag} {unknown[0]}: no such order in the window")

    def describe(self) -> str:
        """The rule in words (the precheck prints it)."""
        text = "verdict " + " or ".join(self.verdicts)
        if self.orders:
            text += f", among {len(self.orders)} named orders"
        if self.include:
            text += f"; included: {', '.join(self.include)}"
        if self.exclude:
            text += f"; excluded: {', '.join(self.exclude)}"
        return text

    def as_json(self) -> dict[str, Any]:
        """The manifest's `citation` object."""
        return {
            "verdicts": list(self.verdicts),
            "orders": sorted(self.orders),
            "include": sorted(self.include),
            "exclude": sorted(self.exclude),
        }

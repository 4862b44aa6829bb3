"""Carrier discovery through the `track_evidence.carriers` entry-point group."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from carriers.base import CarrierInfo
from tracking.core.exceptions import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "all_carriers", "get_carrier", "load_carriers"]

ENTRY_POINT_GROUP = "track_evidence.carriers"

log = logging.getLogger(__name__)


def load_carriers(points: Iterable[EntryPoint]) -> dict[str, CarrierInfo]:
    """Load carriers from entry points; a duplicate code is an error, a broken third-party
    plugin is skipped with a warning, and a broken built-in carrier (this package's own, e.g.
    a mistake in its `statuses.toml`) is an error: its orders would silently go unfetched."""
    found: dict[str, CarrierInfo] = {}
    for point in points:
        try:
            info = point.load()
        except Exception as exc:  # a third-party plugin may fail in any way
            if point.module.partition(".")[0] == __package__:
                raise ConfigError(
                    f"built-in carrier {point.name!r} could not be loaded: {exc}"
                ) from exc
            log.warning("carrier plugin %s could not be loaded: %s", point.value, exc)
            continue
        if not isinstance(info, CarrierInfo):
            log.warning("carrier plugin %s is not a CarrierInfo; skipped", point.value)
            continue
        if info.code in found:
            raise ConfigError(
                f"two carriers register the code {info.code!r}: "
                f"{found[info.code].name} and {info.name} ({point.value})"
            )
        found[info.code] = info
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def all_carriers() -> dict[str, CarrierInfo]:
    """Every registered carrier, by code (built-in ones register like third-party ones)."""
    return load_carriers(entry_points(group=ENTRY_POINT_GROUP))


def get_carrier(code: str) -> CarrierInfo:
    """The carrier registered as `code`; `ConfigError` naming the known codes otherwise."""
    carriers = all_carriers()
    try:
        return carriers[code.lower()]
    except KeyError:
        known = ", ".join(carriers) or "none"
        raise ConfigError(f"unknown carrier {code!r}; known carriers: {known}") from None

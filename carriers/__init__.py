"""Carrier adapters: one package per carrier, registered through entry points."""

from carriers.base import CarrierAdapter, CarrierInfo, CarrierSandbox, RateLimit
from carriers.registry import all_carriers, get_carrier

__all__ = [
    "CarrierAdapter",
    "CarrierInfo",
    "CarrierSandbox",
    "RateLimit",
    "all_carriers",
    "get_carrier",
]

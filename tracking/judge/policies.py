"""Verdict policies: what each marketplace needs proven for an order, and how strictly.

A `Policy` decides which milestones an order must prove (possibly by the order's value),
which inferences are allowed, when an unfinished shipment stops being pending, when silence
at the carrier becomes suspicious, how plausible a transit time is, and how serious a
declared channel that differs from the real carrier is. The validator applies it; the
policy's name is stored with every verdict and in the bundle manifest.

Built-in policies (design §1, §5, §14):

* **default** - the three milestones (departed the origin country, arrived in the destination
  country, delivered); arrival may be inferred from import customs or a destination facility
  in the destination country after departure; pending up to 60 days; stale after 20 days
  without a carrier update; a declared channel that differs from the carrier is a warning.
* **joom** - Joom grades "tracking depth" by order value. The value is converted to USD with a
  rate table (built-in defaults below, or the user's file). Below USD 5, departure from the
  origin country suffices: the order passes once `departed_origin` is proven and no error
  finding stands. At USD 5 and above, all three milestones are needed, and delivery must be
  shown in the destination country (a delivered event without a country and no other sign of
  the destination gets `policy.delivery_country_unproven`). An order without a value, or in a
  currency the table has no rate for, gets the stricter rule (`policy.value_unknown`,
  `policy.currency_unknown`). A declared channel (e.g. "Joom Logistics") that differs from the
  carrier that really has the number is an error: Joom treats it as fake logistics.
* **shopee** - Shopee freezes shops for fake logistics, and appeals need logistics and delivery
  proof: the three milestones as in `default`, delivery shown in the destination country as in
  `joom`, a declared channel differing from the real carrier is an error, and a shipment is
  stale after 10 days without a carrier update (Shopee's own tracking is checked often).

Transit plausibility (`transit.too_fast` / `transit.too_slow`, warnings) compares the days from
departure to delivery with `TRANSIT_DAYS` by destination country, else `DEFAULT_TRANSIT_DAYS`.
The bounds are meant to catch fabricated or mis-keyed timelines, not to judge service levels:
the lower bound is what even air express rarely beats, the upper one what postal services
rarely exceed.
"""

from __future__ import annotations

import csv
import io
import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from tracking.core.domain import MILESTONES, Stage
from tracking.core.exceptions import ConfigError
from tracking.judge.findings import finding
from tracking.read.views import FindingView, Severity

__all__ = [
    "DEFAULT_RATES",
    "DEFAULT_RATES_DATE",
    "DEFAULT_TRANSIT_DAYS",
    "POLICIES",
    "RATES_FILE_ENV",
    "TRANSIT_DAYS",
    "Policy",
    "Rate",
    "RateTable",
    "Requirement",
    "ValueRule",
    "load_rates",
    "resolve_policy",
    "stored_policy",
]

RATES_FILE_ENV = "TRACK_EVIDENCE_RATES_FILE"
"""Environment variable naming the user's rate table (TOML or CSV)."""

_ALL_MILESTONES: tuple[str, ...] = tuple(s.value for s in MILESTONES)
_STAGE_WORDS = {
    Stage.DEPARTED_ORIGIN.value: "departure from the origin country",
    Stage.ARRIVED_DESTINATION.value: "arrival in the destination country",
    Stage.DELIVERED.value: "delivery",
}

DEFAULT_RATES_DATE = date(2025, 1, 1)
"""The date of the built-in rates (approximate mid-market rates around that day)."""

# USD per one unit of the currency, rounded *up* by about 3 % from the mid-market rate of
# DEFAULT_RATES_DATE, so that an order near the USD 5 line falls under the stricter rule.
_DEFAULT_USD_PER_UNIT: dict[str, str] = {
    "USD": "1",
    "CNY": "0.141",
    "HKD": "0.133",
    "TWD": "0.0314",
    "EUR": "1.07",
    "GBP": "1.29",
    "CHF": "1.14",
    "SEK": "0.094",
    "PLN": "0.25",
    "CZK": "0.043",
    "RUB": "0.0094",
    "UAH": "0.0245",
    "KZT": "0.00196",
    "BYN": "0.31",
    "TRY": "0.029",
    "ILS": "0.283",
    "AED": "0.28",
    "SAR": "0.275",
    "JPY": "0.0066",
    "KRW": "0.0007",
    "SGD": "0.755",
    "MYR": "0.23",
    "THB": "0.030",
    "IDR": "0.0000636",
    "PHP": "0.0177",
    "VND": "0.0000405",
    "INR": "0.0121",
    "AUD": "0.64",
    "CAD": "0.716",
    "MXN": "0.0505",
    "BRL": "0.167",
    "CLP": "0.00104",
    "COP": "0.000235",
    "PEN": "0.274",
    "ARS": "0.001",
}

TRANSIT_DAYS: dict[str, tuple[float, float]] = {
    # neighbours of the origin (mainland China): express can deliver within a day
    **dict.fromkeys(("HK", "MO", "TW", "KR", "JP", "MN", "SG", "MY", "TH", "VN", "PH"), (1, 30)),
    # overland and postal routes to the CIS are slow
    **dict.fromkeys(("RU", "BY", "UA", "KZ", "UZ", "KG", "MD", "AM", "GE", "AZ"), (2, 60)),
    # Latin America: long hauls and slow import customs
    **dict.fromkeys(("BR", "CL", "AR", "MX", "CO", "PE", "UY", "EC"), (3, 90)),
}
"""Plausible departed→delivered days (low, high) by destination country."""

DEFAULT_TRANSIT_DAYS: tuple[float, float] = (2, 45)
"""Plausible departed→delivered days for a destination not in `TRANSIT_DAYS`."""

_TRANSIT_TABLE: tuple[tuple[str, float, float], ...] = tuple(
    (code, low, high) for code, (low, high) in sorted(TRANSIT_DAYS.items())
)


@dataclass(frozen=True, slots=True)
class Rate:
    """USD per one unit of a currency, and where that figure comes from."""

    usd_per_unit: Decimal
    source: str


@dataclass(frozen=True, slots=True)
class RateTable:
    """Exchange rates to USD (currency ISO 4217 code -> `Rate`)."""

    rates: tuple[tuple[str, Rate], ...]

    def rate(self, currency: str) -> Rate | None:
        """The rate of `currency`, or None when the table has none."""
        code = currency.strip().upper()
        for name, rate in self.rates:
            if name == code:
                return rate
        return None

    def merged(self, other: RateTable) -> RateTable:
        """This table with `other`'s rates taking precedence."""
        combined = dict(self.rates)
        combined.update(other.rates)
        return RateTable(tuple(sorted(combined.items())))


DEFAULT_RATES = RateTable(
    tuple(
        sorted(
            (
                code,
                Rate(
                    Decimal(value),
                    f"built-in default rate of {DEFAULT_RATES_DATE.isoformat()}",
                ),
            )
            for code, value in _DEFAULT_USD_PER_UNIT.items()
        )
    )
)
"""Conservative built-in rates (see `DEFAULT_RATES_DATE`); supply your own for exact figures."""


@dataclass(frozen=True, slots=True)
class ValueRule:
    """Tracking depth by order value (Joom): cheap orders need origin-side milestones only.

    **Parameters:**

    * **threshold_usd** - orders below this value (in USD) need only `below`.
    * **below** - the milestones a cheap order must prove.
    * **rates** - the rates used to convert the order's value to USD.
    """

    threshold_usd: Decimal = Decimal("5")
    below: tuple[str, ...] = (Stage.DEPARTED_ORIGIN.value,)
    rates: RateTable = DEFAULT_RATES


@dataclass(frozen=True, slots=True)
class Requirement:
    """What one order must prove under a policy, and the findings that explain the choice."""

    milestones: tuple[str, ...]
    delivery_in_destination: bool = False
    findings: tuple[FindingView, ...] = ()


class _Money(Protocol):
    @property
    def order_value(self) -> Decimal | None: ...

    @property
    def currency(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Policy:
    """A verdict policy.

    **Parameters:**

    * **name** - recorded with every verdict and in the bundle manifest.
    * **max_transit_days** - an unfinished shipment older than this fails instead of pending.
    * **infer_arrival** - whether `arrival_evidence` events in the destination country (after
      departure) may stand in for an explicit arrival.
    * **arrival_evidence** - the stages arrival may be inferred from.
    * **stale_after_days** - days without a carrier update before `shipment.stale`.
    * **not_found_grace_days** - a number unknown to the carrier is a warning, not an error,
      while the order is younger than this.
    * **channel_mismatch_severity** - severity of `carrier.channel_mismatch`.
    * **delivery_in_destination** - delivery must be shown in the destination country (a
      delivered event without a country needs another sign of the destination).
    * **value_rule** - tracking depth by order value (None: every order needs all milestones).
    * **transit_days** / **default_transit_days** - plausible departed→delivered days.
    * **description** - one line for reports.
    """

    name: str = "default"
    max_transit_days: int = 60
    infer_arrival: bool = True
    arrival_evidence: frozenset[str] = frozenset(
        {Stage.IMPORT_CUSTOMS.value, Stage.DESTINATION_FACILITY.value}
    )
    stale_after_days: int = 20
    not_found_grace_days: int = 7
    channel_mismatch_severity: Severity = "warning"
    delivery_in_destination: bool = False
    value_rule: ValueRule | None = None
    transit_days: tuple[tuple[str, float, float], ...] = _TRANSIT_TABLE
    default_transit_days: tuple[float, float] = DEFAULT_TRANSIT_DAYS
    description: str = "three milestones: departed, arrived, delivered"

    def transit_bounds(self, country: str) -> tuple[float, float]:
        """Plausible (low, high) departed→delivered days to `country`."""
        for code, low, high in self.transit_days:
            if code == country:
                return low, high
        return self.default_transit_days

    def requirement(self, order: _Money) -> Requirement:
        """The milestones `order` must prove, with findings explaining a value-based choice."""
        full = Requirement(_ALL_MILESTONES, delivery_in_destination=self.delivery_in_destination)
        rule = self.value_rule
        if rule is None:
            return full
        strict = Requirement(_ALL_MILESTONES, delivery_in_destination=True)
        value, currency = order.order_value, order.currency.strip().upper()
        threshold = f"USD {rule.threshold_usd}"
        if value is None:
            note = finding(
                "policy.value_unknown",
                f"The order has no value, so the {self.name} rule for orders of {threshold} "
                "or more applies: departure, arrival and delivery in the destination country.",
                f"订单缺少金额，按 {threshold} 及以上订单的规则审核："
                "需离境、到达目的国并在目的国妥投。",
            )
            return replace(strict, findings=(note,))
        rate = rule.rates.rate(currency) if currency else None
        if rate is None:
            shown = f"{value} {currency}".strip() if currency else f"{value} (no currency)"
            note = finding(
                "policy.currency_unknown",
                f"No exchange rate to USD for the order value {shown}; the {self.name} rule "
                f"for orders of {threshold} or more applies. Add the currency to the rate "
                f"table ({RATES_FILE_ENV}) to apply the value rule.",
                f"订单金额 {shown} 的币种没有美元汇率，按 {threshold} 及以上订单的规则审核；"
                f"可在汇率表（{RATES_FILE_ENV}）中补充该币种。",
            )
            return replace(strict, findings=(note,))
        exact = value * rate.usd_per_unit
        if exact >= rule.threshold_usd:
            return strict
        usd = exact.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        converted = (
            f"USD {usd}"
            if currency == "USD"
            else f"{value} {currency} = USD {usd} at {rate.usd_per_unit} USD/{currency}, "
            f"{rate.source}"
        )
        stages = ", ".join(_STAGE_WORDS.get(stage, stage) for stage in rule.below)
        note = finding(
            "policy.origin_tracking_only",
            f"Order value {converted} is below {threshold}: {self.name} needs tracking only up "
            f"to {stages}; arrival and delivery are shown when known but not required.",
            f"订单金额（{converted}）低于 {threshold}：只需证明到离开始发国为止的轨迹，"
            "到达与妥投节点不作要求。",
        )
        return Requirement(rule.below, delivery_in_destination=False, findings=(note,))


# -- rate tables -------------------------------------------------------------------------------


def _rate_value(raw: Any, *, where: str) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ConfigError(f"{where}: {raw!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"{where}: a rate must be a positive number, not {raw!r}")
    return value


def _currency_code(raw: Any, *, where: str) -> str:
    code = str(raw).strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ConfigError(f"{where}: {raw!r} is not an ISO 4217 currency code (e.g. CNY)")
    return code


def _table(pairs: Iterable[tuple[Any, Any, str]], *, source: str, as_of: str | None) -> RateTable:
    label = f"rate from {source}" + (f" ({as_of})" if as_of else "")
    rates: dict[str, Rate] = {}
    for currency, value, where in pairs:
        code = _currency_code(currency, where=where)
        rates[code] = Rate(_rate_value(value, where=where), label)
    if not rates:
        raise ConfigError(f"{source}: the rate table is empty")
    return RateTable(tuple(sorted(rates.items())))


def load_rates(path: Path | str) -> RateTable:
    """Read a user's rate table (USD per one unit of each currency) from TOML or CSV.

    TOML::

        as_of = "2026-10-01"          # optional, quoted with every conversion
        [usd_per_unit]
        CNY = 0.1389
        EUR = 1.08

    CSV: a header `currency,usd_per_unit` (an optional `as_of` column), one currency a row.
    Raises `ConfigError` with a plain message when the file cannot be used.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"rate table {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"rate table {file} cannot be read: {exc}") from None
    source = file.name
    if file.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"rate table {file} is not valid TOML: {exc}") from None
        table = data.get("usd_per_unit")
        if not isinstance(table, dict):
            raise ConfigError(f"rate table {file} needs a [usd_per_unit] table")
        as_of = data.get("as_of")
        return _table(
            ((k, v, f"{file} [usd_per_unit] {k}") for k, v in table.items()),
            source=source,
            as_of=str(as_of) if as_of else None,
        )
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"currency", "usd_per_unit"} <= {(h or "").strip().lower() for h in rows[0]}:
        raise ConfigError(f"rate table {file} needs a header 'currency,usd_per_unit'")
    norm = [{(k or "").strip().lower(): (v or "") for k, v in row.items()} for row in rows]
    dates = {r.get("as_of", "").strip() for r in norm} - {""}
    return _table(
        (
            (r["currency"], r["usd_per_unit"], f"{file} row {i}")
            for i, r in enumerate(norm, start=2)
            if r["currency"].strip()
        ),
        source=source,
        as_of=", ".join(sorted(dates)) or None,
    )


# -- the built-in policies ---------------------------------------------------------------------

_DEFAULT = Policy()
_JOOM = Policy(
    name="joom",
    delivery_in_destination=True,
    channel_mismatch_severity="error",
    value_rule=ValueRule(),
    description="Joom tracking depth: below USD 5 departure suffices; "
    "from USD 5 delivery in the destination country",
)
_SHOPEE = Policy(
    name="shopee",
    delivery_in_destination=True,
    channel_mismatch_severity="error",
    stale_after_days=10,
    description="Shopee logistics proof: three milestones, delivery in the destination "
    "country, no channel mismatch",
)

POLICIES: dict[str, Policy] = {p.name: p for p in (_DEFAULT, _JOOM, _SHOPEE)}
"""The built-in policies by name (with the built-in rates; see `resolve_policy`)."""


def resolve_policy(
    name: str,
    *,
    rates_file: Path | str | None = None,
    settings: object | None = None,
    max_transit_days: int | None = None,
) -> Policy:
    """The policy `name`, with the user's rate table applied when there is one.

    The rate table comes from `rates_file`, else the `rates_file` attribute of `settings`
    (when set), else the `TRACK_EVIDENCE_RATES_FILE` environment variable. Its rates take
    precedence over the built-in defaults; currencies it lacks keep the defaults.
    Raises `KeyError` for an unknown name and `ConfigError` for an unusable rate table.
    """
    policy = POLICIES[name]
    path = (
        rates_file
        or getattr(settings, "rates_file", None)
        or os.environ.get(RATES_FILE_ENV, "").strip()
        or None
    )
    if path is not None and policy.value_rule is not None:
        rule = policy.value_rule
        policy = replace(
            policy, value_rule=replace(rule, rates=rule.rates.merged(load_rates(path)))
        )
    if max_transit_days is not None:
        policy = replace(policy, max_transit_days=max_transit_days)
    return policy


def stored_policy(name: str, *, current: Policy) -> Policy | None:
    """The policy a stored verdict names, to judge that order again: `current` when the names
    agree, else the built-in policy of that name (with the user's rate table), else None.
    """
    if name == current.name:
        return current
    try:
        return resolve_policy(name)
    except (KeyError, ConfigError):
        return None

"""Marketplace policies: the built-in ones, the rate table and what the user can override."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tracking.core.exceptions import ConfigError
from tracking.judge.policies import (
    DEFAULT_RATES,
    DEFAULT_TRANSIT_DAYS,
    POLICIES,
    RATES_FILE_ENV,
    Policy,
    load_rates,
    resolve_policy,
    stored_policy,
)
from tracking.judge.validator import POLICIES as VALIDATOR_POLICIES
from tracking.judge.validator import OrderFacts
from tracking.judge.validator import Policy as ValidatorPolicy

ORDER = OrderFacts(
    order_id="A1",
    order_date=datetime(2026, 9, 1, tzinfo=UTC),
    destination_country="RU",
    carrier="cainiao",
    order_value=Decimal("30"),
    currency="CNY",
)


def test_builtin_policies_and_the_validator_share_one_registry() -> None:
    assert set(POLICIES) == {"default", "joom", "shopee"}
    assert VALIDATOR_POLICIES is POLICIES
    assert ValidatorPolicy is Policy
    for name, policy in POLICIES.items():
        assert policy.name == name
        assert policy.description


def test_default_policy_keeps_its_documented_values() -> None:
    policy = Policy()
    assert (policy.name, policy.max_transit_days, policy.infer_arrival) == ("default", 60, True)
    assert policy.requirement(ORDER).milestones == (
        "departed_origin",
        "arrived_destination",
        "delivered",
    )
    assert policy.transit_bounds("FR") == DEFAULT_TRANSIT_DAYS
    assert policy.transit_bounds("BR") == (3, 90)


def test_shopee_and_joom_treat_a_channel_mismatch_as_an_error() -> None:
    assert POLICIES["default"].channel_mismatch_severity == "warning"
    assert POLICIES["joom"].channel_mismatch_severity == "error"
    assert POLICIES["shopee"].channel_mismatch_severity == "error"
    assert POLICIES["shopee"].stale_after_days < POLICIES["default"].stale_after_days


def test_builtin_rates_are_labelled_as_dated_defaults() -> None:
    cny = DEFAULT_RATES.rate("cny")
    assert cny is not None
    assert cny.source == "built-in default rate of 2025-01-01"
    assert DEFAULT_RATES.rate("XAU") is None
    for code in ("CNY", "EUR", "RUB", "GBP", "USD", "BRL", "KRW"):
        assert DEFAULT_RATES.rate(code) is not None, code


def test_joom_converts_with_the_builtin_rate() -> None:
    requirement = POLICIES["joom"].requirement(ORDER)  # 30 CNY ~ USD 4.23
    assert requirement.milestones == ("departed_origin",)
    assert "30 CNY = USD 4.23" in requirement.findings[0].message


def test_user_rates_from_toml_override_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rates.toml"
    path.write_text('as_of = "2026-10-01"\n[usd_per_unit]\nCNY = 0.2\nxau = "2500"\n')
    table = load_rates(path)
    assert table.rate("CNY") is not None
    assert table.rate("CNY").usd_per_unit == Decimal("0.2")  # type: ignore[union-attr]
    assert table.rate("XAU").source == "rate from rates.toml (2026-10-01)"  # type: ignore[union-attr]
    joom = resolve_policy("joom", rates_file=path)
    requirement = joom.requirement(ORDER)  # 30 CNY = USD 6.00 now
    assert len(requirement.milestones) == 3
    assert joom.value_rule is not None
    assert joom.value_rule.rates.rate("EUR") == DEFAULT_RATES.rate("EUR")  # kept


def test_user_rates_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("Currency,USD_per_unit,as_of\nCNY,0.1,2026-11-01\nRUB,0.01,2026-11-01\n")
    table = load_rates(path)
    rate = table.rate("RUB")
    assert rate is not None
    assert (rate.usd_per_unit, rate.source) == (
        Decimal("0.01"),
        "rate from rates.csv (2026-11-01)",
    )


def test_rates_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("currency,usd_per_unit\nCNY,1\n")
    monkeypatch.setenv(RATES_FILE_ENV, str(path))
    assert len(resolve_policy("joom").requirement(ORDER).milestones) == 3
    # Policies without a value rule never read it.
    assert resolve_policy("default") is POLICIES["default"]


def test_rates_file_from_settings_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap, dear = tmp_path / "cheap.csv", tmp_path / "dear.csv"
    cheap.write_text("currency,usd_per_unit\nCNY,0.01\n")
    dear.write_text("currency,usd_per_unit\nCNY,1\n")
    monkeypatch.setenv(RATES_FILE_ENV, str(cheap))

    @dataclasses.dataclass
    class Settings:
        rates_file: Path | None

    policy = resolve_policy("joom", settings=Settings(rates_file=dear))
    assert len(policy.requirement(ORDER).milestones) == 3


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        pytest.param("r.toml", "[usd_per_unit]\nCNY = -1\n", "positive", id="negative"),
        pytest.param("r.toml", "[usd_per_unit]\nCNY = 'abc'\n", "not a number", id="text"),
        pytest.param("r.toml", "CNY = 0.1\n", "[usd_per_unit]", id="no-table"),
        pytest.param("r.toml", "[usd_per_unit\n", "not valid TOML", id="broken-toml"),
        pytest.param("r.toml", "[usd_per_unit]\n", "empty", id="empty"),
        pytest.param("r.csv", "code,rate\nCNY,0.1\n", "header", id="csv-header"),
        pytest.param("r.csv", "currency,usd_per_unit\nYUAN,0.1\n", "ISO 4217", id="code"),
    ],
)
def test_unusable_rate_tables_are_plain_config_errors(
    tmp_path: Path, name: str, content: str, needle: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[")):
        load_rates(path)


def test_missing_rate_table_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_policy("joom", rates_file=tmp_path / "nope.toml")


def test_unknown_policy_name() -> None:
    with pytest.raises(KeyError):
        resolve_policy("aliexpress")


def test_max_transit_days_override() -> None:
    assert resolve_policy("shopee", max_transit_days=30).max_transit_days == 30


def test_stored_policy_for_judging_partners_again() -> None:
    custom = Policy(name="strict", infer_arrival=False)
    assert stored_policy("strict", current=custom) is custom
    assert stored_policy("joom", current=custom) == POLICIES["joom"]
    assert stored_policy("gone", current=custom) is None


def test_a_policy_can_require_only_what_a_value_rule_allows() -> None:
    order = dataclasses.replace(ORDER, order_value=Decimal("1"), currency="USD")
    requirement = POLICIES["joom"].requirement(order)
    assert requirement.delivery_in_destination is False
    assert requirement.findings[0].code == "policy.origin_tracking_only"
    assert timedelta(days=POLICIES["joom"].max_transit_days) == timedelta(days=60)

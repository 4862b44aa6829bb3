"""Settings: a carrier's TOML table under the environment, and one-line errors naming where."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriers.yunexpress.client import YunExpressSettings
from tracking.core.config import Settings, get_settings, load_carrier_settings
from tracking.core.exceptions import ConfigError
from tracking.core.redaction import redact

TABLE = """
[carriers.yunexpress]
customer_code = "C-FROM-TOML"
api_secret = "toml-secret-8812"
timeout_seconds = 7.5
language = "zh-cn"

[carriers.yanwen]
customer_number = "Y-1"
"""


def _settings(path: Path | None) -> Settings:
    return Settings(config_file=path)


def _load(path: Path | None, **overrides: object) -> YunExpressSettings:
    built = load_carrier_settings(
        YunExpressSettings, settings=_settings(path), code="yunexpress", overrides=overrides or None
    )
    assert isinstance(built, YunExpressSettings)
    return built


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(TABLE, encoding="utf-8")
    return path


def test_the_carriers_table_fills_what_the_environment_does_not_set(config: Path) -> None:
    built = _load(config)
    assert built.customer_code is not None
    assert built.customer_code.get_secret_value() == "C-FROM-TOML"
    assert built.timeout_seconds == 7.5
    assert built.language == "zh-cn"
    assert built.max_attempts == 5  # the default, set nowhere
    assert built.missing_credentials() == []  # the classic pair is complete
    assert redact("refused toml-secret-8812", params=False) == "refused [REDACTED]"


def test_environment_wins_over_the_table_and_explicit_values_over_both(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__CUSTOMER_CODE", "C-FROM-ENV")
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__TIMEOUT_SECONDS", "30")
    built = _load(config)
    assert built.customer_code is not None
    assert built.customer_code.get_secret_value() == "C-FROM-ENV"
    assert built.timeout_seconds == 30
    assert built.language == "zh-cn"  # only in the table
    sandbox = _load(config, base_url="http://127.0.0.1:9/yunexpress", timeout_seconds=3)
    assert sandbox.base_url == "http://127.0.0.1:9/yunexpress"
    assert sandbox.timeout_seconds == 3


def test_dotenv_wins_over_the_table(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TRACK_EVIDENCE_YUNEXPRESS__LANGUAGE=en-us\n", encoding="utf-8")
    assert _load(config).language == "en-us"


def test_no_file_or_no_table_means_environment_and_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__API_SECRET", "env-only")
    assert _load(None).customer_code is None
    other = tmp_path / "other.toml"
    other.write_text('[carriers.yanwen]\ncustomer_number = "Y-1"\n', encoding="utf-8")
    built = _load(other)
    assert built.customer_code is None
    assert built.api_secret is not None
    assert built.api_secret.get_secret_value() == "env-only"
    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert _load(empty).timeout_seconds == 20.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[carriers.yunexpress\n", "is not valid TOML: .*line 1"),
        ('carriers = "yes"\n', "carriers must be a table"),
        ('[carriers]\nyunexpress = "on"\n', r"\[carriers.yunexpress\] must be a table"),
        (
            "[carriers.yunexpress]\ntimeout_seconds = -1\n",
            r"invalid settings for carrier yunexpress: .*config.toml: \[carriers.yunexpress\] "
            "timeout_seconds: Input should be greater than 0",
        ),
        (
            '[carriers.yunexpress]\nmax_attempts = "many"\napi_secret = 42\n',
            r"\[carriers.yunexpress\] max_attempts: .*; .*\[carriers.yunexpress\] api_secret: ",
        ),
    ],
)
def test_a_bad_file_or_value_is_one_line_naming_the_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected) as caught:
        _load(path)
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message


def test_a_bad_value_from_the_environment_names_the_variable(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACK_EVIDENCE_YUNEXPRESS__MAX_ATTEMPTS", "0")
    with pytest.raises(ConfigError) as caught:
        _load(config)
    assert str(caught.value) == (
        "invalid settings for carrier yunexpress: TRACK_EVIDENCE_YUNEXPRESS__MAX_ATTEMPTS: "
        "Input should be greater than or equal to 1"
    )


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=f"config file {missing} does not exist"):
        _load(missing)


def test_a_secret_value_is_never_echoed_in_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[carriers.yunexpress]\napi_secret = "s3cr3t-value"\nconcurrency = 9999\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        _load(path)
    assert "concurrency" in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)


def test_core_settings_come_from_the_environment_and_name_a_bad_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("TRACK_EVIDENCE_MAX_TRANSIT_DAYS", "45")
    monkeypatch.setenv("TRACK_EVIDENCE_SIGNING_KEY", "")
    settings = get_settings()
    assert settings.max_transit_days == 45
    assert settings.signing_key is None
    get_settings.cache_clear()
    monkeypatch.setenv("TRACK_EVIDENCE_MAX_TRANSIT_DAYS", "0")
    with pytest.raises(ConfigError) as caught:
        get_settings()
    get_settings.cache_clear()
    assert str(caught.value) == (
        "invalid settings: TRACK_EVIDENCE_MAX_TRANSIT_DAYS: "
        "Input should be greater than or equal to 1"
    )

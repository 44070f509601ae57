"""Settings: the documented environment names, and one clear line for every bad value."""

from __future__ import annotations

import os

import pytest

from botkit import ConfigError, Settings, load_settings
from botkit.runtime.stores import open_stores
from tests.support.redis_server import free_port

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
SERVICE_SID = "MG" + "fedcba9876543210" * 2


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Start each test without any botkit, Twilio or Redis setting from the outer environment."""
    for name in list(os.environ):
        if name.startswith(("BOTKIT_", "TWILIO_")) or name == "REDIS_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def config_error(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    """The message load_settings raises with name=value in the environment."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return str(caught.value)


def test_defaults_without_any_environment_are_development_mode() -> None:
    settings = load_settings()
    assert settings.development
    assert settings.twilio_account_sid is None
    assert settings.twilio_auth_token is None
    assert settings.redis_url is None
    assert settings.public_url is None
    assert settings.twilio_base_url is None
    assert settings.messaging_service_sid is None
    assert settings.trust_proxy is False
    assert settings.validate_signatures is True


def test_reads_the_documented_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "s3cret-token")
    monkeypatch.setenv("REDIS_URL", "redis://redis.internal:6380/2")
    monkeypatch.setenv("BOTKIT_PUBLIC_URL", "https://bot.example.com/")
    monkeypatch.setenv("BOTKIT_TWILIO_BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("BOTKIT_MESSAGING_SERVICE_SID", SERVICE_SID)
    monkeypatch.setenv("BOTKIT_TRUST_PROXY", "true")
    monkeypatch.setenv("BOTKIT_VALIDATE_SIGNATURES", "false")
    monkeypatch.setenv("BOTKIT_SESSION_TTL", "120")
    monkeypatch.setenv("BOTKIT_INBOUND_CONCURRENCY", "4")
    monkeypatch.setenv("BOTKIT_LOG_FORMAT", "console")
    monkeypatch.setenv("BOTKIT_LOG_LEVEL", "debug")

    settings = load_settings()

    assert settings.twilio_account_sid == ACCOUNT_SID
    assert settings.twilio_auth_token == "s3cret-token"
    assert settings.redis_url == "redis://redis.internal:6380/2"
    assert settings.public_url == "https://bot.example.com"  # trailing slash dropped
    assert settings.twilio_base_url == "http://127.0.0.1:9999"
    assert settings.messaging_service_sid == SERVICE_SID
    assert settings.trust_proxy is True
    assert settings.validate_signatures is False
    assert settings.session_ttl == 120.0
    assert settings.inbound_concurrency == 4
    assert settings.log_format == "console"
    assert settings.log_level == "debug"
    assert not settings.development


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWILIO_ACCOUNT_SID", "REDIS_URL", "BOTKIT_PUBLIC_URL",
                 "BOTKIT_MESSAGING_SERVICE_SID"):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert settings.development
    assert settings.redis_url is None
    assert settings.public_url is None
    assert settings.messaging_service_sid is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PUBLIC_URL", "https://elsewhere.example.com"),
        ("VALIDATE_SIGNATURES", "false"),
        ("TRUST_PROXY", "true"),
        ("LOG_FORMAT", "xml"),
        ("MESSAGING_SERVICE_SID", SERVICE_SID),
    ],
)
def test_undocumented_field_names_are_not_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    # Generic names like these belong to other programs; reading VALIDATE_SIGNATURES=false
    # would silently open the webhooks to forged requests.
    baseline = load_settings().model_dump()
    monkeypatch.setenv(name, value)
    assert load_settings().model_dump() == baseline


def test_keyword_overrides_take_field_names_and_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://from-env:6379/0")
    settings = load_settings(redis_url=None, twilio_account_sid=ACCOUNT_SID, trust_proxy=True)
    assert settings.redis_url is None
    assert settings.twilio_account_sid == ACCOUNT_SID
    assert settings.trust_proxy is True


def test_auth_token_is_not_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "s3cret-token")
    settings = load_settings()
    assert "s3cret-token" not in repr(settings)
    assert "s3cret-token" not in str(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWILIO_ACCOUNT_SID", "nope"),
        ("TWILIO_ACCOUNT_SID", "AC" + "0" * 31),  # one character short
        ("TWILIO_ACCOUNT_SID", "MG" + "0" * 32),  # a service SID where an account SID goes
        ("TWILIO_ACCOUNT_SID", "AC" + "g" * 32),  # not hex
        ("BOTKIT_PUBLIC_URL", "not-a-url"),
        ("BOTKIT_PUBLIC_URL", "bot.example.com"),
        ("BOTKIT_PUBLIC_URL", "/twilio"),
        ("BOTKIT_PUBLIC_URL", "ftp://bot.example.com"),
        ("BOTKIT_PUBLIC_URL", "https://"),
        ("BOTKIT_PUBLIC_URL", "https://bot.example.com\n"),  # pasted with a newline
        ("BOTKIT_PUBLIC_URL", "https://bot.example.com /twilio"),
        ("BOTKIT_TWILIO_BASE_URL", "localhost:4010"),
        ("BOTKIT_MESSAGING_SERVICE_SID", "MG123"),
        ("BOTKIT_MESSAGING_SERVICE_SID", ACCOUNT_SID),
        ("REDIS_URL", "http://localhost:6379"),
        ("REDIS_URL", "localhost:6379"),
        ("BOTKIT_TRUST_PROXY", "maybe"),
        ("BOTKIT_SESSION_TTL", "0"),
        ("BOTKIT_LOG_FORMAT", "xml"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    message = config_error(monkeypatch, name, value)
    assert "\n" not in message
    assert message.startswith(f"invalid settings: {name}: ")


def test_every_bad_variable_is_named_in_the_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "nope")
    monkeypatch.setenv("REDIS_URL", "http://localhost:6379")
    message = config_error(monkeypatch, "BOTKIT_MESSAGING_SERVICE_SID", "MG123")
    assert "\n" not in message
    for name in ("TWILIO_ACCOUNT_SID", "REDIS_URL", "BOTKIT_MESSAGING_SERVICE_SID"):
        assert f"{name}: " in message


def test_the_reason_says_what_is_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "'AC' followed by 32 hex" in config_error(monkeypatch, "TWILIO_ACCOUNT_SID", "nope")
    assert "'MG' followed by 32 hex" in config_error(
        monkeypatch, "BOTKIT_MESSAGING_SERVICE_SID", "nope"
    )
    assert "redis://" in config_error(monkeypatch, "REDIS_URL", "http://x")
    assert "'not-a-url'" in config_error(monkeypatch, "BOTKIT_PUBLIC_URL", "not-a-url")


def test_accepted_url_and_redis_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTKIT_PUBLIC_URL", "http://127.0.0.1:8080/bots/echo/")
    monkeypatch.setenv("REDIS_URL", "rediss://:pw@redis.example.com:6380/0")
    settings = load_settings()
    assert settings.public_url == "http://127.0.0.1:8080/bots/echo"
    assert settings.redis_url == "rediss://:pw@redis.example.com:6380/0"
    monkeypatch.setenv("REDIS_URL", "unix:///run/redis.sock")
    assert load_settings().redis_url == "unix:///run/redis.sock"


async def test_unreachable_redis_is_a_config_error_naming_redis_url() -> None:
    port = free_port()  # nothing listens here
    settings = Settings(redis_url=f"redis://127.0.0.1:{port}/0")
    with pytest.raises(ConfigError) as caught:
        await open_stores(settings, "test")
    message = str(caught.value)
    assert message.startswith("REDIS_URL: cannot reach Redis")
    assert str(port) in message
    assert "\n" not in message


async def test_reachable_redis_opens_and_pings(clean_redis: str) -> None:
    stores = await open_stores(Settings(redis_url=clean_redis), "test")
    try:
        assert stores.redis is not None
        await stores.ping()
    finally:
        await stores.close()


async def test_without_redis_url_the_stores_are_in_memory() -> None:
    stores = await open_stores(Settings(), "test")
    assert stores.redis is None
    await stores.ping()
    await stores.close()

"""With a Twilio account, the URL a signature is checked over is configured, never the caller's.

A caller who could choose it (through Host, or X-Forwarded-Host and -Proto) could replay a
signature Twilio made for any other URL of the same account. So production needs
BOTKIT_PUBLIC_URL, or BOTKIT_PUBLIC_HOSTS (the hosts the request may name, typically through a
trusted proxy), and refuses to start without either.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from aiohttp import ClientResponse

from botkit import Bot, ConfigError, create_app
from botkit.server.app import require_public_origin
from botkit.settings import load_settings
from botkit.twilio.signature import SIGNATURE_HEADER, public_origin
from tests.conftest import AUTH_TOKEN, BotServer, StartServer, make_settings
from tests.support.echo_harness import echo_bot
from tests.support.logs import JsonLogs
from tests.support.process import BOTKIT, clean_env
from tests.support.webhooks import inbound_params, sign

PATH = "/twilio/messages"
REFUSAL = "request host is not one of BOTKIT_PUBLIC_HOSTS"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def post_as(
    server: BotServer, origin: str, headers: dict[str, str] | None = None
) -> ClientResponse:
    """A valid message signed over origin + PATH (a URL Twilio may call for another app of the
    same account), sent to this server with the given headers."""
    params = inbound_params("replayed")
    signature = sign(AUTH_TOKEN, origin + PATH, params)
    return await server.client.post(
        PATH, data=params, headers={SIGNATURE_HEADER: signature, **(headers or {})}
    )


async def expect_refused(response: ClientResponse, logs: JsonLogs, status: int = 403) -> None:
    assert response.status == status, await response.text()
    assert await response.text() == REFUSAL + "\n"
    [line] = [line for line in logs.take() if line["event"] == "webhook rejected"]
    assert line["reason"] == REFUSAL


def test_an_account_without_public_url_or_hosts_refuses_to_start() -> None:
    settings = make_settings(public_url=None, public_hosts=None)
    with pytest.raises(ConfigError) as caught:
        create_app(Bot("origin"), settings)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("BOTKIT_PUBLIC_URL: required with a Twilio account")
    assert "BOTKIT_PUBLIC_HOSTS" in message and "BOTKIT_TRUST_PROXY" in message


@pytest.mark.parametrize(
    "settings",
    [
        {"public_url": "https://bot.example.com"},
        {"public_hosts": "bot.example.com"},
        {"public_hosts": "bot.example.com", "trust_proxy": True},
        {"twilio_account_sid": None, "twilio_auth_token": None},  # development
        {"validate_signatures": False},  # no signature to check: said loudly at start-up
    ],
    ids=["public-url", "public-hosts", "proxy-and-hosts", "development", "unchecked"],
)
def test_a_configured_origin_or_development_starts(settings: dict[str, Any]) -> None:
    create_app(Bot("origin"), make_settings(**settings))


def test_without_signature_checks_no_public_url_is_needed() -> None:
    # botkit run --workers N checks this in the parent, before create_app runs in each worker.
    require_public_origin(make_settings(validate_signatures=False))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_botkit_run_without_a_public_url_exits_with_one_line(workers: str) -> None:
    env = clean_env(
        TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        BOTKIT_CONSENT_PEPPER="origin-test-pepper-0123",
    )
    run = subprocess.run(
        [BOTKIT, "run", "bots.echo", "--port", "0", "--workers", workers],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    [line] = run.stderr.splitlines()
    assert line.startswith("botkit: BOTKIT_PUBLIC_URL: required with a Twilio account")


async def test_the_host_header_cannot_choose_the_signed_url(
    start_server: StartServer, logs: JsonLogs
) -> None:
    bot, seen = echo_bot("origin")
    server = await start_server(bot)  # BOTKIT_PUBLIC_HOSTS: this server's own origin
    logs.take()
    other = "http://other-app.example.com"
    response = await post_as(server, other, {"Host": "other-app.example.com"})
    await expect_refused(response, logs)
    await server.idle()
    assert seen == []


@pytest.mark.parametrize(
    ("forwarded", "signed_over"),
    [
        ({"X-Forwarded-Host": "evil.example.com"}, "https://evil.example.com"),
        ({"X-Forwarded-Host": "bot.example.com:8443"}, "https://bot.example.com:8443"),
        ({"X-Forwarded-Proto": "http"}, "http://bot.example.com"),
        ({"X-Forwarded-Host": "evil.example.com, bot.example.com"}, "https://evil.example.com"),
        ({"X-Forwarded-Host": "BOT.example.com@evil.example.com"}, "https://evil.example.com"),
    ],
    ids=["other-host", "other-port", "other-scheme", "spoofed-first-value", "user-info"],
)
async def test_a_trusted_proxy_forwards_only_the_public_hosts(
    start_server: StartServer, logs: JsonLogs, forwarded: dict[str, str], signed_over: str
) -> None:
    bot, seen = echo_bot("origin")
    server = await start_server(bot, trust_proxy=True, public_hosts="bot.example.com")
    logs.take()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.com", **forwarded}
    await expect_refused(await post_as(server, signed_over, headers), logs)
    # The configured host itself passes, spelled as the configuration spells it.
    ok = await post_as(
        server,
        "https://bot.example.com",
        {"X-Forwarded-Proto": "HTTPS", "X-Forwarded-Host": "Bot.Example.com:443"},
    )
    assert ok.status == 200, await ok.text()
    assert await ok.text() == EMPTY_TWIML
    await server.idle()
    assert [m.body for m in seen] == ["replayed"]


def test_public_hosts_are_origins_in_one_spelling() -> None:
    assert public_origin("Bot.Example.com") == "https://bot.example.com"
    assert public_origin("bot.example.com:443") == "https://bot.example.com"
    assert public_origin("http://bot.example.com:80") == "http://bot.example.com"
    assert public_origin("bot.example.com:8443") == "https://bot.example.com:8443"
    assert public_origin("[::1]:8080", "http") == "http://[::1]:8080"
    for bad in ("bot.example.com/path", "user@bot.example.com", "ftp://bot", "", "bot:x"):
        with pytest.raises(ValueError):
            public_origin(bad)


def test_public_hosts_setting_names_a_bad_entry() -> None:
    with pytest.raises(ConfigError, match=r"BOTKIT_PUBLIC_HOSTS: 'bot.example.com/twilio'"):
        load_settings(public_hosts="bot.example.com, bot.example.com/twilio")

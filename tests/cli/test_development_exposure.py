"""Development mode listens on loopback only, unless told otherwise, loudly.

Without TWILIO_ACCOUNT_SID, ``botkit run`` starts a sandbox and simulator with no
authentication, and checks webhooks against the development token the README publishes. The
probe found the Docker image running exactly that on 0.0.0.0 when the account was forgotten.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from botkit.core.net import is_loopback
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.support.process import BOTKIT, botkit_process, clean_env, wait_healthy
from tests.support.redis_server import free_port


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", ""])
def test_development_mode_refuses_a_public_interface(host: str, workers: str) -> None:
    args = ["run", "bots.echo", "--host", host, "--port", str(free_port()), "--workers", workers]
    run = subprocess.run(
        [BOTKIT, *args], env=clean_env(), capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    [line] = run.stderr.splitlines()
    assert line.startswith(f"botkit: --host {host}: development mode (no TWILIO_ACCOUNT_SID)")
    assert "--expose-development" in line and "BOTKIT_EXPOSE_DEVELOPMENT=1" in line


def test_exposing_development_mode_is_said_loudly() -> None:
    port = free_port()
    args = ["run", "bots.echo", "--host", "0.0.0.0", "--port", str(port)]
    args += ["--sandbox-port", str(free_port())]
    env = clean_env(BOTKIT_EXPOSE_DEVELOPMENT="1")
    with botkit_process(args, env) as proc:
        wait_healthy(port, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert "DEVELOPMENT MODE ON 0.0.0.0" in err
    warnings = [json.loads(line) for line in out.splitlines() if "DEVELOPMENT MODE" in line]
    assert [(w["level"], w["host"]) for w in warnings] == [("warning", "0.0.0.0")]


def test_an_account_may_listen_anywhere() -> None:
    port = free_port()
    env = clean_env(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        BOTKIT_CONSENT_PEPPER="exposure-test-pepper-0123",
        BOTKIT_PUBLIC_URL="https://bot.example.com",
        BOTKIT_TWILIO_BASE_URL="http://127.0.0.1:9",
    )
    with botkit_process(["run", "bots.echo", "--host", "0.0.0.0", "--port", str(port)], env) as p:
        wait_healthy(port, p)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=15)
    assert "DEVELOPMENT" not in err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True), ("127.8.0.1", True), ("localhost", True), ("::1", True),
        ("[::1]", True), ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.5", False),
        ("bot.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback

"""``botkit worker`` and ``botkit deadletters`` in development mode (no TWILIO_ACCOUNT_SID): the
worker sends through the sandbox a ``botkit run`` registered in Redis, or refuses in one line;
nothing in development mode ever reaches Twilio's real hosts."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

from botkit.cli.devserver import DEMO_NUMBER
from botkit.twilio.client import DevelopmentLeak, RewritingAsyncHttpClient, create_async_client
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN
from tests.support.process import BOTKIT, botkit_process, clean_env, wait_healthy
from tests.support.redis_server import free_port

PHONE = "+15550007788"


def botkit(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BOTKIT, *args], env=clean_env(**env), capture_output=True, text=True, timeout=30
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    return line


def test_worker_without_a_registered_sandbox_refuses_in_one_line(clean_redis: str) -> None:
    line = one_line_error(botkit("worker", "bots.echo", REDIS_URL=clean_redis))
    assert "no development sandbox is registered in Redis" in line
    assert "botkit run MODULE" in line


def test_worker_sends_through_the_sandbox_botkit_run_registered(clean_redis: str) -> None:
    """`botkit run --no-dispatch` leaves sending to the worker: the reply reaches the phone only
    if the worker found the shared sandbox (before, it posted to api.twilio.com)."""
    env = clean_env(REDIS_URL=clean_redis, PYTHONUNBUFFERED="1")
    port, sandbox_port = free_port(), free_port()
    run = ["run", "bots.echo", "--port", str(port), "--sandbox-port", str(sandbox_port)]
    with botkit_process([*run, "--no-dispatch"], env) as server:
        wait_healthy(port, server)
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        with botkit_process(["worker", "bots.echo"], env) as worker:
            post(f"{sandbox}/sandbox/phones/{PHONE}/messages", {"to": DEMO_NUMBER, "body": "hi"})
            deadline = time.monotonic() + 15
            replies: list[dict[str, str]] = []
            while not replies and time.monotonic() < deadline:
                assert worker.poll() is None, worker.communicate(timeout=5)
                transcript = get(f"{sandbox}/sandbox/phones/{PHONE}/messages")["messages"]
                replies = [m for m in transcript if m["direction"] == "outbound-api"]
                time.sleep(0.05)
            worker.terminate()
            out, err = worker.communicate(timeout=10)
        assert replies, f"the worker's reply never reached the sandbox\n{out}\n{err}"
        assert replies[0]["body"].startswith("Hello! Visit number 1.")
        assert "real host" not in out + err


def test_dead_letters_without_redis_say_where_dead_letters_live() -> None:
    line = one_line_error(botkit("deadletters", "list", "bots.echo"))
    assert line.startswith("botkit: REDIS_URL: required, dead letters are kept in the shared")
    assert "worker" not in line


def test_dead_letters_limit_has_help() -> None:
    done = botkit("deadletters", "list", "--help")
    assert "--limit INTEGER  How many dead letters to list." in done.stdout


def test_the_development_account_never_gets_a_client_for_twilios_real_hosts() -> None:
    with pytest.raises(DevelopmentLeak, match="never talks to Twilio's real hosts"):
        create_async_client(DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN, None)


async def test_a_development_request_to_twilios_real_hosts_fails_loudly() -> None:
    client = RewritingAsyncHttpClient(None)
    try:
        with pytest.raises(DevelopmentLeak, match=r"api\.twilio\.com"):
            await client.request(
                "GET",
                f"https://api.twilio.com/2010-04-01/Accounts/{DEVELOPMENT_ACCOUNT_SID}.json",
                auth=(DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN),
            )
    finally:
        await client.session.close()


def post(url: str, body: dict[str, str]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201


def get(url: str) -> dict[str, list[dict[str, str]]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return dict(json.load(response))

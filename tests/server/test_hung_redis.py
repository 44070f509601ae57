"""A Redis that hangs or is gone: fast 503s, and a readiness probe that names no address.

With Redis stopped (SIGSTOP: connected, silent) the probe's webhooks waited 5 s, redis-py's
timeout, for their 503; one that never times out would wait out Twilio's 15 s. Acceptance now
gives up after BOTKIT_ACCEPT_TIMEOUT (2 s by default), and so does /readyz's ping. /readyz used
to answer with redis-py's message, Redis's address included; it now says "redis unreachable"
and logs the details.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from botkit import Bot
from tests.conftest import StartServer
from tests.server.captured import message
from tests.support.logs import JsonLogs
from tests.support.redis_server import free_port, start_redis, stop_redis

UNREACHABLE = {"status": "unavailable", "reason": "redis unreachable"}


@pytest.fixture
def own_redis() -> Iterator[tuple[str, object]]:
    """A redis-server of this test's own, to stop and kill."""
    port = free_port()
    proc = start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            stop_redis(proc)


async def test_a_stopped_redis_gives_503s_within_the_acceptance_timeout(
    start_server: StartServer, logs: JsonLogs, own_redis: tuple[str, object]
) -> None:
    url, proc = own_redis
    server = await start_server(Bot("hung"), workers=False, redis_url=url)
    assert (await server.post(message())).status == 200
    logs.take()
    proc.send_signal(signal.SIGSTOP)  # type: ignore[attr-defined]
    refused = [message(), message()]
    try:
        for params in refused:
            began = time.monotonic()
            response = await server.post(params)
            waited = time.monotonic() - began
            assert response.status == 503, await response.text()
            assert 1.9 <= waited < 3.0, waited  # BOTKIT_ACCEPT_TIMEOUT's default: 2 s
        began = time.monotonic()
        ready = await server.client.get("/readyz")
        assert (ready.status, await ready.json()) == (503, UNREACHABLE)
        assert time.monotonic() - began < 3.0
    finally:
        proc.send_signal(signal.SIGCONT)  # type: ignore[attr-defined]
    errors = [line for line in logs.take() if line["level"] == "error"]
    assert [line["error"] for line in errors if line["event"] == "webhook could not be accepted"] \
        == ["the inbound queue did not answer within 2 s"] * 2
    # Redis answers again, and so does the bot. Twilio's retries of the refused webhooks are
    # accepted, each once, whether or not Redis ran the command it got before it stopped.
    for params in refused:
        assert (await server.post(params)).status == 200
    assert await server.runtime.stores.inbound.backlog() == 3


async def test_the_acceptance_timeout_is_a_setting(
    start_server: StartServer, own_redis: tuple[str, object]
) -> None:
    url, proc = own_redis
    server = await start_server(Bot("hung"), workers=False, redis_url=url, accept_timeout=0.5)
    proc.send_signal(signal.SIGSTOP)  # type: ignore[attr-defined]
    try:
        began = time.monotonic()
        assert (await server.post(message())).status == 503
        assert time.monotonic() - began < 1.5
    finally:
        proc.send_signal(signal.SIGCONT)  # type: ignore[attr-defined]


async def test_readyz_says_redis_unreachable_and_logs_why(
    start_server: StartServer, logs: JsonLogs, own_redis: tuple[str, object]
) -> None:
    url, proc = own_redis
    server = await start_server(Bot("gone"), workers=False, redis_url=url)
    assert (await server.client.get("/readyz")).status == 200
    stop_redis(proc)  # type: ignore[arg-type]
    logs.take()
    ready = await server.client.get("/readyz")
    body = await ready.text()
    assert ready.status == 503
    assert body == '{"status": "unavailable", "reason": "redis unreachable"}'
    port = url.rsplit(":", 1)[1].split("/")[0]
    assert port not in body and "127.0.0.1" not in body
    [line] = [line for line in logs.take() if line["event"] == "not ready: redis unreachable"]
    assert line["level"] == "warning" and port in line["error"]  # the details, in the log

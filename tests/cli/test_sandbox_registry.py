"""With REDIS_URL, several development processes share one sandbox (the first one starts it)."""

from __future__ import annotations

import json
import signal
import time
import urllib.request

import redis

from botkit.cli.devserver import DEMO_NUMBER
from botkit.cli.sandbox_registry import KEY
from tests.support.process import botkit_process, clean_env, wait_healthy
from tests.support.redis_server import free_port


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return dict(json.load(response))


def _text(url: str, body: dict[str, str]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201


def test_second_process_uses_the_first_ones_sandbox(clean_redis: str) -> None:
    env = clean_env(REDIS_URL=clean_redis)
    first_port, first_sandbox, second_port, second_sandbox = (free_port() for _ in range(4))
    first_args = ["run", "bots.echo", "--port", str(first_port)]
    second_args = ["run", "bots.echo", "--port", str(second_port)]
    with botkit_process([*first_args, "--sandbox-port", str(first_sandbox)], env) as first:
        wait_healthy(first_port, first)
        shared = f"http://127.0.0.1:{first_sandbox}"
        assert redis.Redis.from_url(clean_redis).get(KEY) == shared.encode()
        with botkit_process([*second_args, "--sandbox-port", str(second_sandbox)], env) as second:
            wait_healthy(second_port, second)
            phone = f"{shared}/sandbox/phones/+15550007777/messages"
            _text(phone, {"to": DEMO_NUMBER, "body": "hi"})
            deadline = time.monotonic() + 10
            replies: list[object] = []
            while not replies and time.monotonic() < deadline:
                transcript = _get(f"{shared}/sandbox/phones/+15550007777/messages")["messages"]
                assert isinstance(transcript, list)
                replies = [m for m in transcript if m["direction"] == "outbound-api"]
                time.sleep(0.05)
            assert replies, "no reply reached the shared sandbox"
            second.send_signal(signal.SIGTERM)
            out, _ = second.communicate(timeout=10)
            assert "using the shared sandbox" in out
            assert f"127.0.0.1:{second_sandbox}" not in out  # it never started its own
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=10)
    assert redis.Redis.from_url(clean_redis).get(KEY) is None  # the lease was released

"""bench/replay.lua and bench/_wrk.py with the real wrk: each webhook of the file is sent once,
a run that needed more says so, and a run can stop after N answers."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bench import _wrk
from bench._webhooks import WebhookMaker, write_requests
from tests.bench.endpoint import webhook_endpoint

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@pytest.fixture
async def counting_server() -> AsyncIterator[tuple[str, Counter[str]]]:
    """A webhook endpoint that counts the MessageSids it is sent: (its URL, the counts)."""
    seen: Counter[str] = Counter()

    async def messages(request: web.Request) -> web.Response:
        seen[str((await request.post())["MessageSid"])] += 1
        return web.Response(text="<Response />", content_type="text/xml")

    async with webhook_endpoint(messages) as port:
        yield f"http://127.0.0.1:{port}/twilio/messages", seen


def webhooks_for(url: str, count: int, directory: Path) -> Path:
    path = directory / "requests"
    write_requests(path, WebhookMaker(url, 1).batch(count))
    return path


async def test_a_file_too_short_for_the_run_is_reported(
    counting_server: tuple[str, Counter[str]], tmp_path: Path
) -> None:
    url, seen = counting_server
    path = webhooks_for(url, 200, tmp_path)
    run = await _wrk.run_for(url, path, threads=1, connections=4, seconds=1)
    assert run.unique == 200
    assert run.issued > 200 and run.repeated == run.issued - 200
    assert len(seen) == 200
    assert run.non_2xx == 0 and run.errors == 0
    assert run.requests > 0 and run.rate > 0 and 0 < run.p50_ms <= run.p99_ms


async def test_stops_after_n_answers_sending_each_webhook_once(
    counting_server: tuple[str, Counter[str]], tmp_path: Path
) -> None:
    url, seen = counting_server
    path = webhooks_for(url, 2000, tmp_path)
    run = await _wrk.run_until(url, path, threads=2, connections=8, answers=500)
    assert 500 <= run.requests <= 500 + 8
    assert run.repeated == 0 and set(seen.values()) == {1}
    assert len(seen) >= run.requests


def test_parses_wrk_units() -> None:
    output = """Running 1m test @ http://127.0.0.1:1/twilio/messages
  1 threads and 32 connections
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    2.00ms
     99%    1.50s
  120000 requests in 1.00m, 10.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   2000.00
bench: issued 120032 of 200000 unique
"""
    run = _wrk.parse(output)
    assert (run.p50_ms, run.p99_ms, run.seconds) == (0.85, 1500.0, 60.0)
    assert (run.requests, run.rate, run.non_2xx, run.errors) == (120000, 2000.0, 7, 5)
    assert (run.issued, run.unique, run.repeated) == (120032, 200000, 0)

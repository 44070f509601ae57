"""aiohttp's errors for requests it cannot parse come out as one JSON line, without the request.

The probe's fuzz run left 1,970 raw, multi-line tracebacks from aiohttp's own logger, outside
the JSON stream, quoting the request bytes (which may hold phone numbers and message bodies).
"""

from __future__ import annotations

import asyncio

import pytest

from botkit import Bot
from tests.server.conftest import StartRunServer
from tests.support.logs import JsonLogs

SECRET = "+15557654321 my secret body"
HEAD = "POST /twilio/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"

BROKEN = {
    "header-with-spaces": (HEAD + f"Bad Header: {SECRET}\r\nX {SECRET}\r\n\r\n").encode(),
    "request-line-too-long": f"GET /{'x' * 9000}{SECRET} HTTP/1.1\r\nHost: a\r\n\r\n".encode(),
    "header-too-long": (HEAD + f"X-Long: {'y' * 9000}{SECRET}\r\n\r\n").encode(),
    "bad-chunk-size": (
        HEAD + f"Transfer-Encoding: chunked\r\n\r\nzz{SECRET}\r\n{SECRET}\r\n0\r\n\r\n"
    ).encode(),
    "bad-content-length": (HEAD + f"Content-Length: -5{SECRET}\r\n\r\n").encode(),
    "two-content-lengths": (HEAD + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd").encode(),
    "bad-version": f"GET / HTTP/9.{SECRET}\r\nHost: a\r\n\r\n".encode(),
}


async def exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.read()
    finally:
        writer.close()


@pytest.mark.parametrize("case", list(BROKEN))
async def test_a_broken_request_is_one_json_line_without_its_bytes(
    run_server: StartRunServer,
    logs: JsonLogs,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    server = await run_server(Bot("broken"))
    logs.take()
    answer = await exchange(server.port, BROKEN[case])
    assert b" 400 Bad Request\r\n" in answer, answer
    lines = logs.take()
    malformed = [line for line in lines if line["event"] == "malformed HTTP request"]
    assert len(malformed) == 1, lines
    [line] = malformed
    assert line["level"] == "warning" and line["status"] == 400
    assert line["error"] and "\n" not in line["reason"]
    everything = repr(lines) + capsys.readouterr().err + caplog.text
    assert "secret" not in everything and "7654321" not in everything
    assert "Traceback" not in everything
    assert caplog.records == []  # nothing through the standard library's logging


async def test_the_server_still_answers_after_broken_requests(run_server: StartRunServer) -> None:
    server = await run_server(Bot("broken"))
    for data in BROKEN.values():
        await exchange(server.port, data)
    async with server.http.get(server.url("/healthz")) as answer:
        assert answer.status == 200

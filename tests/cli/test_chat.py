"""``botkit chat``: a person types, the bot answers through the sandbox, /quit leaves."""

from __future__ import annotations

import queue
import subprocess
import threading
import time

from tests.support.process import BOTKIT, clean_env


def _lines(stream: object, sink: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sink.put(line)


def _read_until(sink: queue.Queue[str], needle: str, timeout: float = 15.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{needle!r} never appeared; output so far:\n{seen}")
        try:
            seen += sink.get(timeout=remaining)
        except queue.Empty:
            continue
    return seen


def test_chat_sends_prints_replies_and_quits() -> None:
    proc = subprocess.Popen(
        [BOTKIT, "chat", "bots.echo"],
        env=clean_env(PYTHONUNBUFFERED="1"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, output), daemon=True).start()
    try:
        assert proc.stdin is not None
        _read_until(output, "Type a message")
        proc.stdin.write("hello\n")
        proc.stdin.flush()
        assert "bot: Hello! Visit number 1." in _read_until(output, "Visit number 1")
        proc.stdin.write("hello again\n")
        proc.stdin.flush()
        _read_until(output, "Visit number 2")  # the session carried over
        proc.stdin.write("/quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_chat_over_whatsapp() -> None:
    result = subprocess.run(
        [BOTKIT, "chat", "bots.echo", "--whatsapp"],
        env=clean_env(),
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "Texting whatsapp:+15550100100 as whatsapp:+15550001234" in result.stdout

"""Running the real ``botkit`` command as a subprocess, as an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

BOTKIT = str(Path(sys.executable).parent / "botkit")


def clean_env(**extra: str) -> dict[str, str]:
    """The parent environment without any botkit or Twilio settings, plus extra."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOTKIT_", "TWILIO_")) and k != "REDIS_URL"
    }
    env["BOTKIT_LOG_FORMAT"] = "json"
    env.update(extra)
    return env


def wait_healthy(port: int, proc: subprocess.Popen[str], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"botkit exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("botkit did not become healthy in time")


@contextmanager
def botkit_process(
    args: list[str], env: Mapping[str, str], cwd: str | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[str]]:
    """Start ``botkit ARGS``; always killed on exit. ``log``: a file for its output, for a
    process that writes more than a pipe holds while nobody reads it (it would stall)."""
    sink = log.open("w") if log is not None else None
    proc = subprocess.Popen(
        [BOTKIT, *args],
        env=dict(env),
        cwd=cwd,
        stdout=sink or subprocess.PIPE,
        stderr=subprocess.STDOUT if sink else subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        if sink is not None:
            sink.close()


@contextmanager
def development_bot(target: str) -> Iterator[str]:
    """``botkit run target`` in development mode (no account) on free ports, healthy; yields
    the URL of its sandbox (and phone simulator)."""
    from tests.support.redis_server import free_port

    port, sandbox_port = free_port(), free_port()
    args = ["run", target, "--port", str(port), "--sandbox-port", str(sandbox_port)]
    with botkit_process(args, clean_env()) as proc:
        wait_healthy(port, proc)
        yield f"http://127.0.0.1:{sandbox_port}"

"""Start a real redis-server on a free port for the test session."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_redis() -> Iterator[str]:
    port = free_port()
    proc = start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_redis(proc)


def start_redis(port: int, *persistence: str) -> subprocess.Popen[bytes]:
    """A redis-server on ``port`` that keeps nothing on disk (unless ``persistence`` options
    say otherwise: ``"--appendonly", "yes", "--dir", path``), listening when this returns."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed; run .ci/run or `apt-get install redis-server`"
        )
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tempfile.gettempdir(), *persistence],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, proc)
    except BaseException:
        stop_redis(proc)
        raise
    return proc


def stop_redis(proc: subprocess.Popen[bytes], *, crash: bool = False) -> None:
    """Shut it down, or with ``crash`` kill it (SIGKILL: its connections just drop)."""
    if crash:
        proc.kill()
    else:
        proc.terminate()
    proc.wait(timeout=10)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start within 10 s")

"""Running wrk (the Debian package) on a file of pre-built requests, and reading what it printed.

wrk is a closed-loop load generator: each connection sends its next request as soon as the last
one is answered, so its req/s is the saturating rate. bench/replay.lua feeds it the signed
webhooks of a file, each once.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPT = BENCH / "replay.lua"
_SOCKET_ERRORS = ("connect", "read", "write", "timeout")
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class WrkRun:
    """What wrk reported for one run. Latencies are in milliseconds."""

    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    non_2xx: int  # wrk counts every answer with a status of 400 or more
    socket_errors: dict[str, int] = field(default_factory=dict)
    issued: int = 0
    unique: int = 0
    output: str = ""

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())

    @property
    def repeated(self) -> int:
        """Requests sent a second time because the file ran out (see bench/replay.lua)."""
        return max(0, self.issued - self.unique)


def wrk_binary() -> str:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    return binary


def command(
    url: str, requests_file: Path, *, threads: int, connections: int, seconds: float
) -> list[str]:
    return [
        wrk_binary(),
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(requests_file),
        str(threads),
    ]


async def run_for(
    url: str, requests_file: Path, *, threads: int, connections: int, seconds: float
) -> WrkRun:
    """wrk for ``seconds``."""
    proc = await asyncio.create_subprocess_exec(
        *command(url, requests_file, threads=threads, connections=connections, seconds=seconds),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return parse(out.decode(errors="replace"), proc.returncode)


async def run_until(
    url: str, requests_file: Path, *, threads: int, connections: int, answers: int
) -> WrkRun:
    """wrk until ``answers`` responses have arrived (bench/replay.lua says so on a line of its
    own), then SIGINT, on which wrk prints its figures as at the end of a duration."""
    proc = await asyncio.create_subprocess_exec(
        *command(url, requests_file, threads=threads, connections=connections, seconds=86_400),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "BENCH_STOP_AFTER": str(answers)},
    )
    assert proc.stdout is not None
    lines = []
    async for line in proc.stdout:
        lines.append(line.decode(errors="replace"))
        if line.startswith(b"bench: stopped") and proc.returncode is None:
            proc.send_signal(signal.SIGINT)
    await proc.wait()
    return parse("".join(lines), proc.returncode)


def parse(text: str, returncode: int | None = 0) -> WrkRun:
    """wrk's --latency output, or RuntimeError with all of it when a figure is missing."""
    try:
        done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", text)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
        p50 = re.search(r"^\s+50%\s+([\d.]+)(\w+)", text, re.M)
        p99 = re.search(r"^\s+99%\s+([\d.]+)(\w+)", text, re.M)
        assert done and rate and p50 and p99
        errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
        )
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        issued = re.search(r"bench: issued (\d+) of (\d+) unique", text)
    except AssertionError:
        raise RuntimeError(f"wrk exited with {returncode} and printed:\n{text}") from None
    return WrkRun(
        requests=int(done.group(1)),
        seconds=float(done.group(2)) * _UNITS[done.group(3)] / 1e3,
        rate=float(rate.group(1)),
        p50_ms=float(p50.group(1)) * _UNITS[p50.group(2)],
        p99_ms=float(p99.group(1)) * _UNITS[p99.group(2)],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=(
            dict(zip(_SOCKET_ERRORS, map(int, errors.groups()), strict=True)) if errors else {}
        ),
        issued=int(issued.group(1)) if issued else 0,
        unique=int(issued.group(2)) if issued else 0,
        output=text,
    )

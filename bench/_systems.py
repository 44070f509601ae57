"""The systems bench/inbound.py measures, each started in processes of its own on a fresh port.

A: bare aiohttp (bench/_bare_aiohttp.py). B: Twilio's quickstart (bench/_quickstart.py) under
gunicorn with 2 sync workers. botkit: ``botkit run`` of a small bot in production mode (a
Twilio account, Redis, a public URL, a consent pepper), with a sandbox in its own process
standing in for Twilio, so the one-reply bot's replies really go out through the official SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench._proc import process_tree, stop, tree_cpu_seconds, tree_rss
from bench._webhooks import ACCOUNT_SID, AUTH_TOKEN, PATH
from tests.support.process import BOTKIT, clean_env

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEPPER = "bench-inbound-pepper-0123456789"
#: Every long code at a rate no run gets near: real long codes send 1 segment/s, and 100 of them
#: could not keep up with a benchmark's replies. The reply's whole cost should land in the run.
UNLIMITED_RATES = json.dumps({"long_code": 1_000_000})

#: The two bots, as a developer would write them: the session increment with no reply, and one
#: reply through the outbound worker.
BOTS = {
    "inc": """
        from botkit import Bot, Context

        bot = Bot("inc")


        @bot.fallback
        async def inc(ctx: Context) -> None:
            ctx.session["n"] = ctx.session.get("n", 0) + 1
    """,
    "ping": """
        from botkit import Bot, Context

        bot = Bot("ping")


        @bot.fallback
        async def ping(ctx: Context) -> None:
            await ctx.reply("pong")
    """,
}


def write_bots(directory: Path) -> None:
    """The bots as modules ``bench_inc`` and ``bench_ping`` (namespaces ``inc`` and ``ping``),
    for ``botkit run`` with directory on PYTHONPATH."""
    for name, source in BOTS.items():
        (directory / f"bench_{name}.py").write_text(textwrap.dedent(source).lstrip())


@dataclass
class Server:
    """A system under load: the process bench/inbound.py started, and what it forks."""

    label: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    processes: int  # how many serving processes it runs once up (an arbiter counts)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def cpu(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def rss(self) -> dict[int, int]:
        return tree_rss(self.proc.pid)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.label} exited with {self.proc.returncode}; its log: {self.log}\n"
                + tail(self.log)
            )

    async def wait_listening(self, within: float = 30.0) -> None:
        """Until the port accepts connections and every serving process exists."""
        deadline = time.monotonic() + within
        while True:
            self.check_alive()
            if _accepts(self.port) and len(process_tree(self.proc.pid)) >= self.processes:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.label} did not start within {within:.0f} s:\n" + tail(self.log)
                )
            await asyncio.sleep(0.05)

    async def wait_quiet(self, within: float = 10.0, busy: float = 0.03) -> bool:
        """Until the processes use less than ``busy`` of a core over 0.3 s (done starting, or
        done with the last of the work); False if they never do within ``within``."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            before = self.cpu()
            await asyncio.sleep(0.3)
            if self.cpu() - before < busy * 0.3:
                return True
        return False

    def log_levels(self) -> dict[str, int]:
        """How many lines of each level the JSON log holds (botkit logs JSON)."""
        counts: dict[str, int] = {}
        for line in self.log.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                level = str(json.loads(line).get("level", "?"))
            except (ValueError, AttributeError):
                level = "unparsed"
            counts[level] = counts.get(level, 0) + 1
        return counts


def tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _process(
    label: str, argv: list[str], env: Mapping[str, str], port: int, log: Path, processes: int
) -> Iterator[Server]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=dict(env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield Server(label, proc, port, log, processes)
    finally:
        stop(proc, timeout=30)


def bare_aiohttp(port: int, workdir: Path) -> contextlib.AbstractContextManager[Server]:
    argv = [sys.executable, str(BENCH / "_bare_aiohttp.py"), str(port)]
    return _process("A", argv, clean_env(), port, workdir / f"bare-{port}.log", 1)


def floor(
    port: int, redis_url: str, workdir: Path, processes: int = 1, sandbox_url: str | None = None
) -> contextlib.AbstractContextManager[Server]:
    """bench/_floor.py: F, or G with ``sandbox_url`` (a reply per message sent there)."""
    argv = [sys.executable, str(BENCH / "_floor.py"), str(port), redis_url]
    argv += ["--processes", str(processes)]
    if sandbox_url is not None:
        argv += ["--reply", sandbox_url]
    env = clean_env(PYTHONPATH=str(ROOT))
    label = "G" if sandbox_url else "F"
    return _process(label, argv, env, port, workdir / f"floor-{port}.log", processes)


def quickstart(port: int, workdir: Path) -> contextlib.AbstractContextManager[Server]:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    argv = [
        gunicorn,
        "--workers", "2",
        "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
        "bench._quickstart:app",
    ]  # fmt: skip
    env = clean_env(TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    return _process("B", argv, env, port, workdir / f"quickstart-{port}.log", 3)


def botkit_run(
    bot: str,
    workers: int,
    port: int,
    *,
    redis_url: str,
    sandbox_url: str,
    bots_dir: Path,
    workdir: Path,
    loop: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> contextlib.AbstractContextManager[Server]:
    """``botkit run bench_BOT`` in production mode; ``workers`` > 1 adds ``--workers``;
    ``loop``: BOTKIT_EVENT_LOOP (None: botkit's default); ``settings``: more environment
    (``BOTKIT_SHARDS``, say)."""
    argv = [BOTKIT, "run", f"bench_{bot}", "--port", str(port)]
    if workers > 1:
        argv += ["--workers", str(workers)]
    env = clean_env(
        PYTHONPATH=str(bots_dir),
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        REDIS_URL=redis_url,
        BOTKIT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        BOTKIT_TWILIO_BASE_URL=sandbox_url,
        BOTKIT_CONSENT_PEPPER=PEPPER,
        BOTKIT_RATES=UNLIMITED_RATES,
        BOTKIT_LOG_FORMAT="json",
        **({"BOTKIT_EVENT_LOOP": loop} if loop else {}),
        **(settings or {}),
    )
    label = f"botkit {bot}, {workers} process{'es' if workers > 1 else ''}"
    if loop:
        label += f" [{loop}]"
    log = workdir / f"botkit-{bot}-{workers}-{port}.log"
    return _process(label, argv, env, port, log, workers + 1 if workers > 1 else 1)


@contextlib.contextmanager
def sandbox(workdir: Path, status_callbacks: bool) -> Iterator[tuple[str, int]]:
    """bench/_sandbox.py with the benchmark's account: (its base URL, its pid).

    Without status_callbacks it posts no webhook anywhere (no host is allowed), so the sends
    botkit makes are the only traffic the replies cause; with them, it posts every status
    change to botkit's /twilio/status as Twilio would."""
    spec = workdir / f"sandbox-{time.monotonic_ns()}.json"
    config = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "webhook_hosts": ["127.0.0.1"] if status_callbacks else [],
    }
    spec.write_text(json.dumps({"config": config, "log_level": "error"}))
    log = workdir / f"{spec.stem}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / "_sandbox.py"), str(spec)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (printed := log.read_text(errors="replace")).startswith("http") or (
            "\n" not in printed
        ):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start:\n{tail(log)}")
            time.sleep(0.05)
        yield printed.partition("\n")[0].strip(), proc.pid
    finally:
        stop(proc)

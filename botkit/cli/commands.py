"""What every ``botkit`` subcommand shares: one-line errors, ports it cannot listen on, waiting
for a stop signal."""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import sys
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import click

from botkit.core import event_loop
from botkit.errors import BotkitError, ConfigError


def run_command(work: Coroutine[Any, Any, None]) -> None:
    """Run a command's coroutine; a BotkitError becomes one red line and exit status 2."""
    with one_line_errors():
        event_loop.run(work)


def tune_gc() -> None:
    """Garbage collection for a long-running service, once it is up (``botkit run``, ``worker``
    and ``sandbox`` call it): everything allocated so far (modules, the bot, models, settings) is
    frozen out of collections, and the youngest generation is collected every 50,000 allocations
    instead of 700. An outbound worker or webhook server allocates short-lived objects for every
    message; with Python's defaults the collector ran often and walked every startup object each
    full pass. bench/dispatch.py, one worker, alternating runs: 554 and 639 µs of CPU per message
    with this, 636 and 690 without."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A BotkitError raised inside becomes one red line and exit status 2, for commands that
    have no coroutine to run."""
    try:
        yield
    except BotkitError as exc:
        click.secho(f"botkit: {exc}", fg="red", err=True)
        sys.exit(2)


@asynccontextmanager
async def bind_errors(option: str, host: str, port: int) -> AsyncIterator[None]:
    """A port in use or a host that cannot be bound is the user's to fix: one line, no traceback."""
    # asyncio's loop refuses a port past 65535 (OverflowError); uvloop's binds it modulo 65536.
    if not 0 <= port <= 65535:
        raise ConfigError(f"{option}: {port} is not a port (allowed: 0 to 65535)")
    try:
        yield
    except OverflowError:
        raise ConfigError(f"{option}: {port} is not a port (allowed: 0 to 65535)") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"{option}: cannot listen on {host}:{port} ({reason})") from None


def check_port(host: str, port: int) -> None:
    """The port can be listened on now: checked before worker processes are forked, so that a
    port in use is one line rather than each process's failure."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except (OSError, OverflowError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(f"--port: cannot listen on {host}:{port} ({reason})") from None


def watch_signals() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT, watched from now on. Call it before the process
    starts serving: a signal that came while a server was up and its handlers were not yet
    installed killed the process outright (exit -15), handlers in flight and all."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


#: ``-o/--output FILE`` of the commands that write a document (standard output by default).
output_option = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    help="File to write (default: standard output).",
)

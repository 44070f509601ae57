"""What every ``botkit`` subcommand shares: one-line errors and waiting for a stop signal."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import click

from botkit.errors import BotkitError


def run_command(work: Coroutine[Any, Any, None]) -> None:
    """Run a command's coroutine; a BotkitError becomes one red line and exit status 2."""
    with one_line_errors():
        asyncio.run(work)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A BotkitError raised inside becomes one red line and exit status 2, for commands that
    have no coroutine to run."""
    try:
        yield
    except BotkitError as exc:
        click.secho(f"botkit: {exc}", fg="red", err=True)
        sys.exit(2)


async def until_signalled() -> None:
    """Return on SIGTERM or SIGINT, so the caller can shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()

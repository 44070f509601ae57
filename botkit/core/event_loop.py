"""The asyncio event loop botkit's commands run on: uvloop's where it is installed.

uvloop (libuv, in C) runs the same asyncio programs on less CPU: bench/inbound.py, alternating
runs, measured about 0.9x the CPU per webhook of the loop botkit used before for the bot that
only keeps a session, and no difference that stood out of the noise for a bot that replies
(bench/README.md). It is a dependency of botkit; where it is missing (it does not install on
Windows), commands run on asyncio's own loop.

``BOTKIT_EVENT_LOOP`` picks the loop: ``auto`` (the default: uvloop if installed, else
asyncio's), ``uvloop`` (refuses to start without it) or ``asyncio``.

botkit used to run on a loop of its own whose timers kept to the microsecond (asyncio's epoll
waits count whole milliseconds), because the outbound worker's pacing was judged to 1 ms. Twilio
queues messages sent over a sender's rate rather than refusing them, so pacing is judged to
10 ms now (issue 16), and bench/dispatch.py found no send closer than its interval less 10 ms
and no 429 from the strict sandbox on either loop: the custom loop was dropped. uvloop's timers
count milliseconds too, and fire about 0.2 ms late at the median (``python bench/timers.py``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

from botkit.errors import ConfigError

T = TypeVar("T")

#: The environment variable that picks the loop, and its values.
LOOP_VARIABLE = "BOTKIT_EVENT_LOOP"
LOOPS = ("auto", "uvloop", "asyncio")


def loop_choice() -> str:
    """BOTKIT_EVENT_LOOP's value (default auto); a one-line ConfigError for anything else."""
    choice = os.environ.get(LOOP_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in LOOPS:
        raise ConfigError(f"{LOOP_VARIABLE} must be one of {', '.join(LOOPS)}, got {choice!r}")
    return choice


def _uvloop() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def chosen_loop() -> str:
    """The loop new_event_loop makes: "uvloop" or "asyncio"."""
    choice = loop_choice()
    if choice == "asyncio":
        return "asyncio"
    if _uvloop() is not None:
        return "uvloop"
    if choice == "uvloop":
        raise ConfigError(
            f"{LOOP_VARIABLE}=uvloop, but uvloop is not installed (pip install uvloop)"
        )
    return "asyncio"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A loop of the kind chosen_loop() names."""
    if chosen_loop() == "uvloop":
        loop: asyncio.AbstractEventLoop = _uvloop().new_event_loop()
        return loop
    return asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on the loop above."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)

"""A script run as data: what one store hands another to run in the same round trip.

Kept apart from botkit/core/redis_client.py so that the stores' protocols can name it without
importing redis (routing, flows and contexts never reach Redis, even transitively)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Script(Protocol):
    """What a registered script (redis-py's AsyncScript) offers: its source and its SHA1."""

    script: Any
    sha: Any


@dataclass(frozen=True)
class ScriptCall:
    """One script run, as data, so that a store can hand it to another store to run in the
    same round trip as its own (``run_in_one_trip``).

    ``proof``: a key the call leaves set once it has done its work, which a later call of the
    same trip can check before it does anything that must not happen without it (a pipeline
    runs every command even when one before it failed). ``done``: what the store that made the
    call does once it ran (a local wake-up, say)."""

    script: Script
    keys: tuple[str, ...]
    args: tuple[str | int | float, ...]
    proof: str | None = None
    done: Callable[[Any], None] | None = None

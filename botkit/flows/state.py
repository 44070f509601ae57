"""Where a running flow is kept: one JSON entry in the user's session.

Keeping it in the session (not in process memory, not in a timer) is what makes a flow survive
a restart, work the same on every ``botkit run`` process behind a load balancer, and stay
consistent with the rest of the session: it is saved, or discarded, together with whatever the
handler changed, under the same per-conversation lock.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from botkit.core import clock
from botkit.logging import get_logger

log = get_logger("flows")

#: The session key a running flow lives under; bot code should not write it.
STATE_KEY = "botkit:flow"
#: When each remembered answer with a ttl expires (botkit.core.clock seconds), by session key.
EXPIRES_KEY = "botkit:remembered-until"


class FlowState(BaseModel):
    """A flow in progress. ``answers``: every answer known, by step key (given, remembered or
    answered); ``passed``: the steps on the path taken so far, in order (asked, or skipped
    because their answer was known); ``asked``: the steps the user answered in this flow."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    flow: str
    step: str
    answers: dict[str, Any]
    passed: list[str]
    asked: list[str]
    attempts: int = 0
    #: When the current question was asked (botkit.core.clock seconds): the timeout counts from it.
    asked_at: float


def read_state(session: dict[str, Any]) -> FlowState | None:
    """The flow running in this session; an entry that cannot be read is dropped (logged),
    so a broken entry can never trap a user in a flow."""
    raw = session.get(STATE_KEY)
    if raw is None:
        return None
    try:
        return FlowState.model_validate(raw)
    except ValidationError as exc:
        log.warning("unreadable flow state dropped", error=str(exc).splitlines()[0])
        session.pop(STATE_KEY, None)
        return None


def write_state(session: dict[str, Any], state: FlowState) -> None:
    session[STATE_KEY] = state.model_dump(mode="json")


def clear_state(session: dict[str, Any]) -> None:
    session.pop(STATE_KEY, None)


def remember(session: dict[str, Any], key: str, value: Any, ttl: float | None) -> None:
    """Keep an answer in the session under ``key``, for ``ttl`` seconds (None: as long as the
    session)."""
    session[key] = value
    expiries = session.get(EXPIRES_KEY)
    expiries = dict(expiries) if isinstance(expiries, dict) else {}
    if ttl is None:
        expiries.pop(key, None)
    else:
        expiries[key] = clock.now() + ttl
    if expiries:
        session[EXPIRES_KEY] = expiries
    else:
        session.pop(EXPIRES_KEY, None)


def recall(session: dict[str, Any], key: str) -> tuple[bool, Any]:
    """(True, the answer) if the session still holds one under ``key``; an expired one is
    forgotten."""
    if key not in session:
        return False, None
    expiries = session.get(EXPIRES_KEY)
    until = expiries.get(key) if isinstance(expiries, dict) else None
    if isinstance(until, int | float) and until <= clock.now():
        remember(session, key, None, None)
        session.pop(key, None)
        return False, None
    return True, session[key]

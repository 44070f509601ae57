"""Which state a campaign may move to: pause and resume while it runs; done and canceled are
final (a campaign that ended cannot be restarted: its audience is gone)."""

from __future__ import annotations

from botkit.campaigns.model import State
from botkit.errors import SendError

_ALLOWED: dict[str, frozenset[str]] = {
    "queueing": frozenset({"sending", "paused", "canceled"}),
    "sending": frozenset({"paused", "canceled", "done"}),
    "paused": frozenset({"sending", "canceled"}),
    "canceled": frozenset(),
    "done": frozenset(),
}


class CampaignStateError(SendError):
    """A move the campaign's state does not allow (resume a canceled one, say)."""


def next_state(current: State, wanted: State) -> State:
    """``wanted``, if the campaign may go there from ``current`` (staying put is allowed)."""
    if wanted != current and wanted not in _ALLOWED[current]:
        raise CampaignStateError(f"a {current} campaign cannot be {_verb(wanted)}")
    return wanted


def _verb(state: State) -> str:
    return {"sending": "resumed", "paused": "paused", "canceled": "canceled"}.get(
        state, f"made {state}"
    )

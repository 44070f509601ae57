"""The error a flow raises at run time when the bot's code misuses it."""

from __future__ import annotations

from botkit.errors import BotkitError


class FlowError(BotkitError):
    """A flow cannot do what the code asked: an unknown flow or step, a branch function that
    chose a step that does not exist, an answer a session cannot store. Like any handler
    error it is logged with the MessageSid and the user gets the apology."""

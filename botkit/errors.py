"""Exceptions that cross module boundaries.

Each one carries a message written for the person who has to act on it, because the CLI
prints them as a single line rather than as a traceback.
"""


class BotkitError(Exception):
    """Base class for errors botkit raises on purpose."""


class ConfigError(BotkitError):
    """Start-up cannot continue: a setting is invalid or a service is unreachable."""


class MalformedRequest(BotkitError):
    """A webhook that cannot be understood; answered with 400 and this message."""


class BotLoadError(BotkitError):
    """The bot module named on the command line cannot be loaded."""


class SendError(BotkitError):
    """An outbound message could not be handed to Twilio."""


class FlowError(BotkitError):
    """A flow cannot do what the code asked: an unknown flow or step, a branch function that
    chose a step that does not exist, an answer a session cannot store. Like any handler
    error it is logged with the MessageSid and the user gets the apology."""

"""How the shop reads a message: a button's id when one was tapped, else the text.

Buttons send their title as the text and their id as ``ButtonPayload``; the ids are commands
("add matcha", "show chamomile"), so a tap and the same words typed are handled alike.
"""

from __future__ import annotations

from collections.abc import Callable

from botkit import InboundMessage


def said(message: InboundMessage) -> str:
    payload = message.whatsapp.button_payload if message.whatsapp else None
    return (payload or message.text).strip()


def verb(message: InboundMessage) -> str:
    """The first word, lower case."""
    words = said(message).split(maxsplit=1)
    return words[0].lower() if words else ""


def argument(message: InboundMessage) -> str:
    """Everything after the first word."""
    words = said(message).split(maxsplit=1)
    return words[1].strip() if len(words) > 1 else ""


def command(*verbs: str) -> Callable[[InboundMessage], bool]:
    """An intent condition: the message (or the button tapped) starts with one of ``verbs``."""
    wanted = frozenset(verbs)

    def starts_with_verb(message: InboundMessage) -> bool:
        return verb(message) in wanted

    return starts_with_verb

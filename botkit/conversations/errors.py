"""Conversations errors as exceptions a caller can catch by meaning, not by Twilio code.

Twilio answers every failure with one exception type and a number; callers want "that phone is
already in another conversation, which one?" or "no such conversation". ``from_twilio`` maps the
codes the sandbox and Twilio answer (see botkit/sandbox/conversations/errors.py) to the classes
below; the client-side limit checks (limits.py) raise the same classes with ``status=None``, so
one ``except`` covers both.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from botkit.errors import BotkitError

_CONVERSATION_SID = re.compile(r"CH[0-9a-fA-F]{32}")
_IDENTITY = re.compile(r"identity '([^']*)'")

#: Which resource a call was about, so 20404 can say what was missing.
Resource = Literal["conversation", "participant", "message"]
AttributesOwner = Literal["conversation", "participant", "message"]

NOT_FOUND = 20404
BINDING_IN_USE = 50416
IDENTITY_EXISTS = 50433
NON_CHAT_LIMIT = 50418
GROUP_MMS_LIMIT = 50436
ATTRIBUTES_TOO_LONG = 50303
UNIQUE_NAME_EXISTS = 50353
CONVERSATION_CLOSED = 50377


class ConversationsError(BotkitError):
    """Any Conversations failure. ``status`` is None when no request was made (a client-side
    check failed); ``code`` is Twilio's error code, or the one Twilio would have answered."""

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class NotFound(ConversationsError):
    """20404: the conversation, participant or message does not exist (or was deleted)."""


class ConversationNotFound(NotFound):
    pass


class ParticipantNotFound(NotFound):
    pass


class MessageNotFound(NotFound):
    pass


class ParticipantAlreadyBound(ConversationsError):
    """50416: this Address + ProxyAddress pair is already in an active conversation.

    ``conversation_sid`` is that conversation when Twilio's message names it: a handoff can
    join or close it instead of guessing.
    """

    def __init__(
        self, message: str, *, conversation_sid: str | None, code: int | None, status: int | None
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.conversation_sid = conversation_sid


class DuplicateParticipant(ConversationsError):
    """50433: a participant with this identity is already in the conversation."""

    def __init__(
        self, message: str, *, identity: str | None, code: int | None, status: int | None
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.identity = identity


class TooManyParticipants(ConversationsError):
    """50418 (more than 50 SMS/WhatsApp participants) or 50436 (group MMS is full)."""


class AttributesTooLarge(ConversationsError):
    """Attributes over 16 KB (conversation) or 4 KB (participant, message) of UTF-8 JSON.

    ``size`` and ``limit`` are bytes; both are known only when the client-side check caught it.
    """

    def __init__(
        self,
        message: str,
        *,
        owner: AttributesOwner | None = None,
        size: int | None = None,
        limit: int | None = None,
        code: int | None = ATTRIBUTES_TOO_LONG,
        status: int | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.owner = owner
        self.size = size
        self.limit = limit


class UniqueNameTaken(ConversationsError):
    """50353: another conversation already has this UniqueName."""


class ConversationClosed(ConversationsError):
    """50377: the conversation is closed, which is final; it cannot change or take messages."""


def from_twilio(exc: Exception, resource: Resource) -> ConversationsError:
    """The exception for a TwilioRestException / TwilioServiceException (by duck typing, so
    either SDK error shape works). ``resource`` is what the call addressed, for 20404."""
    code = _int(getattr(exc, "code", None))
    status = _int(getattr(exc, "status", None))
    message = _message(exc)
    if code is None and status is None:
        code, status, message = _from_page_error(exc, message)
    if code == NOT_FOUND or (code is None and status == 404):
        return _not_found(message, resource, code, status)
    if code == BINDING_IN_USE:
        found = _CONVERSATION_SID.search(message)
        return ParticipantAlreadyBound(
            f"participant already in an active conversation: {message}",
            conversation_sid=found.group(0) if found else None,
            code=code,
            status=status,
        )
    if code == IDENTITY_EXISTS:
        named = _IDENTITY.search(message)
        return DuplicateParticipant(
            message, identity=named.group(1) if named else None, code=code, status=status
        )
    if code in (NON_CHAT_LIMIT, GROUP_MMS_LIMIT):
        return TooManyParticipants(message, code=code, status=status)
    if code == ATTRIBUTES_TOO_LONG:
        return AttributesTooLarge(message, code=code, status=status)
    if code == UNIQUE_NAME_EXISTS:
        return UniqueNameTaken(message, code=code, status=status)
    if code == CONVERSATION_CLOSED:
        return ConversationClosed(message, code=code, status=status)
    return ConversationsError(message, code=code, status=status)


def _not_found(message: str, resource: Resource, code: int | None, status: int | None) -> NotFound:
    """Twilio's 20404 message names the path; a participant call can miss its conversation."""
    if "/Participants/" in message:
        return ParticipantNotFound(message, code=code, status=status)
    if "/Messages/" in message:
        return MessageNotFound(message, code=code, status=status)
    if "/Conversations/" in message or resource == "conversation":
        return ConversationNotFound(message, code=code, status=status)
    kind = ParticipantNotFound if resource == "participant" else MessageNotFound
    return kind(message, code=code, status=status)


def _from_page_error(exc: Exception, message: str) -> tuple[int | None, int | None, str]:
    """A list call that fails raises a bare ``TwilioException("Unable to fetch page",
    response)``: Twilio's code and message are in that response's JSON body."""
    response = next((arg for arg in exc.args if hasattr(arg, "status_code")), None)
    if response is None:
        return None, None, message
    status = _int(getattr(response, "status_code", None))
    try:
        body = json.loads(getattr(response, "text", "") or "")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return None, status, message
    return _int(body.get("code")), status, str(body.get("message") or message)


def _message(exc: Exception) -> str:
    """Twilio's own words, without the SDK's "Unable to create record: " preamble."""
    text = str(getattr(exc, "msg", None) or getattr(exc, "detail", None) or "")
    text = text or str(getattr(exc, "title", None) or "")
    text = text or (str(exc.args[0]) if exc.args else "") or exc.__class__.__name__
    head, sep, rest = text.partition(": ")
    return rest if sep and head.startswith("Unable to ") else text


def _int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None

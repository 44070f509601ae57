"""What conversation hooks receive.

- ``ParticipantContext`` (``@bot.on_participant_added`` / ``on_participant_removed``) and
  ``ConversationStateContext`` (``@bot.on_conversation_state``): no session, like status hooks;
  ``reply`` posts into the conversation.
- ``MessageAddContext`` (``@bot.on_message_add``): a message about to be added, which the hook
  may ``reject`` or ``rewrite`` before anyone sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from botkit.contexts.sending import EventSends
from botkit.conversations.models import Participant
from botkit.outbound.message import OutboundHandle, SendOptions
from botkit.twilio.conversation_events import (
    ConversationState,
    ConversationStateUpdated,
    MessageAdd,
    ParticipantAdded,
    ParticipantRemoved,
)


class _HookContext:
    def __init__(self, conversation_sid: str, sends: EventSends) -> None:
        self.conversation_sid = conversation_sid
        self._sends = sends

    async def reply(
        self,
        text: str | None = None,
        *,
        attributes: Mapping[str, Any] | None = None,
        **options: Unpack[SendOptions],
    ) -> OutboundHandle:
        """Post a message into the conversation, authored by the bot, through the outbound
        queue, keyed on the event (a hook re-run after a crash posts nothing twice)."""
        return await self._sends.post(
            self.conversation_sid, text, attributes=attributes, **options
        )


class ParticipantContext(_HookContext):
    """A participant joined (``event`` is ParticipantAdded) or left (ParticipantRemoved)."""

    def __init__(
        self,
        event: ParticipantAdded | ParticipantRemoved,
        participant: Participant,
        sends: EventSends,
    ) -> None:
        super().__init__(event.conversation_sid, sends)
        self.event = event
        self.participant = participant


class ConversationStateContext(_HookContext):
    """The conversation moved from ``old_state`` to ``new_state`` (``reason``: API, TIMER or
    EVENT). A closed conversation takes no more messages: a ``reply`` there is dead-lettered."""

    def __init__(self, event: ConversationStateUpdated, sends: EventSends) -> None:
        super().__init__(event.conversation_sid, sends)
        self.event = event

    @property
    def old_state(self) -> ConversationState:
        return self.event.state_from

    @property
    def new_state(self) -> ConversationState:
        return self.event.state_to

    @property
    def reason(self) -> str | None:
        return self.event.reason


class MessageAddContext:
    """A message about to be added (the onMessageAdd pre-event). Hooks run in order and see
    the previous hooks' rewrites; the first ``reject`` ends it and the message is never added.
    Twilio waits for the answer (5 s at most), so hooks must be quick and must not write to the
    conversation themselves."""

    def __init__(self, event: MessageAdd) -> None:
        self.event = event
        self.body = event.body
        self.attributes: dict[str, Any] = dict(event.attributes)
        self.rejection: str | None = None
        self._rewritten: set[str] = set()

    @property
    def conversation_sid(self) -> str:
        return self.event.conversation_sid

    @property
    def author(self) -> str:
        return self.event.author

    @property
    def address(self) -> str | None:
        """The author's phone address, when a phone wrote it."""
        return self.event.binding.address if self.event.binding else None

    def reject(self, reason: str = "rejected by the bot") -> None:
        """Refuse the message: Twilio does not add it."""
        self.rejection = reason

    def rewrite(
        self, *, body: str | None = None, attributes: Mapping[str, Any] | None = None
    ) -> None:
        """Change what will be added."""
        if body is not None:
            self.body = body
            self._rewritten.add("body")
        if attributes is not None:
            self.attributes = dict(attributes)
            self._rewritten.add("attributes")

    @property
    def changes(self) -> dict[str, Any]:
        """The rewritten fields, as Twilio reads them from the answer."""
        return {name: getattr(self, name) for name in sorted(self._rewritten)}



"""Chat identities played from the simulator: a person at an agent's desk.

A Conversations chat participant (``Identity``, e.g. ``agent``) has no handset: Twilio's chat
SDK is how a human agent reads and writes. In the sandbox the simulator plays that client: an
identity is a "phone" of channel ``chat`` whose thread is every message of the conversations it
is in, and what it sends is posted into a conversation as that author, with the pre- and
post-event webhooks firing as they do for Twilio's chat SDK. So a newcomer can play the customer
and the agent of a handoff side by side.
"""

from __future__ import annotations

from typing import Any

from multidict import MultiDict, MultiDictProxy

from botkit.sandbox.conversations.models import ConversationMessage, ConversationRecord, iso
from botkit.sandbox.conversations.service import ConversationsService
from botkit.sandbox.conversations.specs import MessageSpec
from botkit.sandbox.errors import ApiError


def view(
    conversation: ConversationRecord, message: ConversationMessage, identity: str
) -> dict[str, Any]:
    """message as identity's chat client shows it, in the simulator's message shape: its own
    messages go to the conversation, everyone else's come to it."""
    own = message.author == identity
    return {
        "sid": message.sid,
        "account_sid": message.account_sid,
        "from": identity if own else message.author,
        "to": conversation.sid if own else identity,
        "body": message.body or "",
        "direction": "outbound-api" if own else "inbound",
        "status": "delivered",
        "date_created": iso(message.date_created),
        "date_updated": iso(message.date_updated),
        "error_code": None,
        "error_message": None,
        "num_media": str(len(message.media)),
        "num_segments": None,
        "media": [],
        "actions": [],
        "content_sid": message.content_sid,
        "conversation_sid": conversation.sid,
        "conversation_name": (
            conversation.friendly_name or conversation.unique_name or conversation.sid
        ),
        "author": message.author,
        #: Whose chat client this copy is for: the customer's handset has its own copy (an SMS).
        "chat_identity": identity,
    }


class ChatPhones:
    def __init__(self, service: ConversationsService) -> None:
        self.service = service
        service.message_listeners.append(self.publish)

    def _conversations_of(self, identity: str) -> list[ConversationRecord]:
        store = self.service.store
        return [
            conversation
            for conversation in store.conversations.values()
            if any(p.identity == identity for p in store.participants_of(conversation.sid))
        ]

    def transcript(self, identity: str) -> list[dict[str, Any]]:
        found = []
        for conversation in self._conversations_of(identity):
            for message in self.service.store.messages_of(conversation.sid):
                found.append(view(conversation, message, identity))
        return found

    def publish(self, conversation: ConversationRecord, message: ConversationMessage) -> None:
        """A new message, to the simulator, for every chat identity of the conversation."""
        state = self.service.state
        for participant in self.service.store.participants_of(conversation.sid):
            identity = participant.identity
            if identity is not None and identity in state.phones:
                state.bus.publish("message", view(conversation, message, identity))

    async def send(self, identity: str, conversation_sid: str, body: str) -> dict[str, Any]:
        """identity writes into its conversation, as its chat client would (webhooks fire)."""
        conversation = self.service.store.find(conversation_sid)
        if conversation not in self._conversations_of(identity):
            raise ApiError(400, 50400, f"{identity} is not a participant of {conversation_sid}")
        spec = MessageSpec.from_form(
            MultiDictProxy(MultiDict({"Author": identity, "Body": body})), create=True
        )
        message = await self.service.create_message(conversation, spec, notify=True)
        return view(conversation, message, identity)

"""Where the sandbox keeps conversations, their participants, messages and webhooks (memory).

Lookups that Twilio's rules depend on live here: a conversation by SID or UniqueName, and the
conversation a phone binding (Address + ProxyAddress) is active in, which decides both the 50416
rule and where a phone's inbound text goes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from botkit.sandbox.conversations.errors import conversation_not_found, resource_not_found
from botkit.sandbox.conversations.models import (
    ConversationMessage,
    ConversationRecord,
    ParticipantRecord,
    ScopedWebhook,
    WebhookConfiguration,
)


@dataclass
class ConversationStore:
    conversations: OrderedDict[str, ConversationRecord] = field(default_factory=OrderedDict)
    unique_names: dict[str, str] = field(default_factory=dict)
    participants: dict[str, OrderedDict[str, ParticipantRecord]] = field(default_factory=dict)
    messages: dict[str, OrderedDict[str, ConversationMessage]] = field(default_factory=dict)
    webhooks: dict[str, OrderedDict[str, ScopedWebhook]] = field(default_factory=dict)
    configuration: WebhookConfiguration = field(default_factory=WebhookConfiguration)

    # Conversations ------------------------------------------------------------------------

    def add(self, conversation: ConversationRecord) -> None:
        self.conversations[conversation.sid] = conversation
        if conversation.unique_name:
            self.unique_names[conversation.unique_name] = conversation.sid
        self.participants[conversation.sid] = OrderedDict()
        self.messages[conversation.sid] = OrderedDict()
        self.webhooks[conversation.sid] = OrderedDict()

    def find(self, sid_or_name: str) -> ConversationRecord:
        """By SID, or by UniqueName as Twilio allows in the URL; else 404/20404."""
        sid = sid_or_name if sid_or_name in self.conversations else None
        if sid is None:
            sid = self.unique_names.get(sid_or_name)
        if sid is None:
            raise conversation_not_found(sid_or_name)
        return self.conversations[sid]

    def rename(self, conversation: ConversationRecord, unique_name: str | None) -> None:
        if conversation.unique_name:
            self.unique_names.pop(conversation.unique_name, None)
        conversation.unique_name = unique_name
        if unique_name:
            self.unique_names[unique_name] = conversation.sid

    def remove(self, conversation: ConversationRecord) -> None:
        self.conversations.pop(conversation.sid, None)
        if conversation.unique_name:
            self.unique_names.pop(conversation.unique_name, None)
        for table in (self.participants, self.messages, self.webhooks):
            table.pop(conversation.sid, None)

    # Participants -------------------------------------------------------------------------

    def participants_of(self, conversation_sid: str) -> list[ParticipantRecord]:
        return list(self.participants.get(conversation_sid, {}).values())

    def participant(self, conversation_sid: str, key: str) -> ParticipantRecord:
        """By SID, or by identity or address (Twilio accepts those in place of the SID)."""
        table = self.participants.get(conversation_sid, OrderedDict())
        found = table.get(key)
        if found is None:
            found = next((p for p in table.values() if key in (p.identity, p.address)), None)
        if found is None:
            raise resource_not_found(conversation_sid, "Participants", key)
        return found

    def binding_owner(
        self, address: str, proxy_address: str
    ) -> tuple[ConversationRecord, ParticipantRecord] | None:
        """The non-closed conversation where (address, proxy_address) is bound, if any.

        The proxy side is the participant's ProxyAddress, or for a group-MMS phone the
        conversation's projected address.
        """
        for conversation in self.conversations.values():
            if conversation.state == "closed":
                continue
            participants = self.participants_of(conversation.sid)
            projected = {p.projected_address for p in participants if p.projected_address}
            for participant in participants:
                if participant.address != address:
                    continue
                if participant.proxy_address == proxy_address or (
                    participant.proxy_address is None and proxy_address in projected
                ):
                    return conversation, participant
        return None

    # Messages and webhooks ----------------------------------------------------------------

    def messages_of(self, conversation_sid: str) -> list[ConversationMessage]:
        return list(self.messages.get(conversation_sid, {}).values())

    def message(self, conversation_sid: str, sid: str) -> ConversationMessage:
        found = self.messages.get(conversation_sid, OrderedDict()).get(sid)
        if found is None:
            raise resource_not_found(conversation_sid, "Messages", sid)
        return found

    def webhooks_of(self, conversation_sid: str) -> list[ScopedWebhook]:
        return list(self.webhooks.get(conversation_sid, {}).values())

    def webhook(self, conversation_sid: str, sid: str) -> ScopedWebhook:
        found = self.webhooks.get(conversation_sid, OrderedDict()).get(sid)
        if found is None:
            raise resource_not_found(conversation_sid, "Webhooks", sid)
        return found

"""What Conversations does when asked: Twilio's rules for conversations, participants and
messages, and the effects that follow (webhooks, phone delivery, timers, live events).

The REST API and the phone bridge both come through here, so a phone's text and an API call
obey the same rules. ``notify`` says whether webhooks fire: REST calls pass the value of
``X-Twilio-Webhook-Enabled``, phones always notify.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botkit.logging import get_logger
from botkit.sandbox.content import render_message
from botkit.sandbox.conversations import errors
from botkit.sandbox.conversations.bridge import PhoneBridge
from botkit.sandbox.conversations.events import ConversationEvents
from botkit.sandbox.conversations.models import (
    ConversationMessage,
    ConversationRecord,
    ParticipantRecord,
    ScopedWebhook,
    now,
)
from botkit.sandbox.conversations.params import (
    SOURCE_API,
    MessageFacts,
    conversation_params,
    message_params,
    participant_params,
    source_for,
    state_params,
)
from botkit.sandbox.conversations.specs import (
    ConfigurationSpec,
    ConversationSpec,
    MessageSpec,
    ParticipantChanges,
    ParticipantSpec,
    WebhookSpec,
)
from botkit.sandbox.conversations.store import ConversationStore
from botkit.sandbox.conversations.timers import ConversationTimers, due_state, restart
from botkit.sandbox.delivery import Delivery
from botkit.sandbox.errors import ApiError
from botkit.sandbox.ids import new_sid
from botkit.sandbox.messages import MessageRecord
from botkit.sandbox.state import SandboxState

log = get_logger("sandbox.conversations")

NON_CHAT_LIMIT = 50
GROUP_MMS_LIMIT = 10
_CH_SID = re.compile(r"^CH[0-9a-fA-F]{32}$")


@dataclass
class Draft:
    """A message about to be added, before the onMessageAdd pre-event has had its say."""

    author: str
    body: str | None
    attributes: str = "{}"
    participant: ParticipantRecord | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    media_urls: list[str] = field(default_factory=list)
    content_sid: str | None = None
    content_variables: str | None = None

    def facts(self) -> MessageFacts:
        return MessageFacts(
            author=self.author,
            body=self.body,
            attributes=self.attributes,
            participant=self.participant,
            media=self.media,
            content_sid=self.content_sid,
        )


def default_chat_service_sid(account_sid: str) -> str:
    """Every account has a default Conversation Service; a stable IS SID stands for it."""
    return "IS" + hashlib.sha256(account_sid.encode()).hexdigest()[:32]


class ConversationsService:
    def __init__(
        self, state: SandboxState, delivery: Delivery, store: ConversationStore | None = None
    ) -> None:
        self.state = state
        self.store = store or ConversationStore()
        self.events = ConversationEvents(delivery.poster, self.store, delivery.spawn)
        self.bridge = PhoneBridge(state, delivery)
        self.timers = ConversationTimers(self._timer_fired)
        self.account_sid = state.config.account_sid
        self.chat_service_sid = default_chat_service_sid(self.account_sid)
        #: Told of every message added (the simulator's chat identities listen).
        self.message_listeners: list[Callable[[ConversationRecord, ConversationMessage], None]] = []

    # Conversations ------------------------------------------------------------------------

    async def create_conversation(
        self, spec: ConversationSpec, *, notify: bool
    ) -> ConversationRecord:
        if spec.unique_name:
            self._check_unique_name(spec.unique_name)
        conversation = ConversationRecord(
            sid=new_sid("CH"),
            account_sid=self.account_sid,
            chat_service_sid=self.chat_service_sid,
            messaging_service_sid=spec.messaging_service_sid,
            friendly_name=spec.friendly_name,
            unique_name=spec.unique_name or None,
            attributes=spec.attributes or "{}",
            state=spec.state or "active",
            timer_inactive=spec.timer_inactive,
            timer_closed=spec.timer_closed,
        )
        restart(conversation, conversation.date_created)
        if notify:
            await self._pre("onConversationAdd", conversation_params(conversation, SOURCE_API))
            if spec.unique_name:
                self._check_unique_name(spec.unique_name)  # taken while the webhook ran?
        self.store.add(conversation)
        self.timers.schedule(conversation)
        self._publish("conversation", conversation.to_json(""))
        if notify:
            self._post(
                conversation, "onConversationAdded", conversation_params(conversation, SOURCE_API)
            )
        return conversation

    def _check_unique_name(self, name: str) -> None:
        if _CH_SID.match(name):
            raise errors.unique_name_like_sid(name)
        if name in self.store.unique_names:
            raise errors.unique_name_exists(name)

    async def update_conversation(
        self, conversation: ConversationRecord, spec: ConversationSpec, *, notify: bool
    ) -> ConversationRecord:
        _ensure_open(conversation)
        if spec.unique_name is not None and spec.unique_name != conversation.unique_name:
            if spec.unique_name:
                self._check_unique_name(spec.unique_name)
            self.store.rename(conversation, spec.unique_name or None)
        if spec.friendly_name is not None:
            conversation.friendly_name = spec.friendly_name
        if spec.attributes is not None:
            conversation.attributes = spec.attributes
        if spec.messaging_service_sid is not None:
            conversation.messaging_service_sid = spec.messaging_service_sid
        if spec.timer_inactive is not None:
            conversation.timer_inactive = spec.timer_inactive
        if spec.timer_closed is not None:
            conversation.timer_closed = spec.timer_closed
        previous = conversation.state
        if spec.state is not None:
            conversation.state = spec.state
        conversation.date_updated = now()
        restart(conversation, conversation.date_updated)
        self.timers.schedule(conversation)
        self._publish("conversation", conversation.to_json(""))
        if notify:
            self._post(
                conversation, "onConversationUpdated", conversation_params(conversation, SOURCE_API)
            )
            if conversation.state != previous:
                self._post_state(conversation, SOURCE_API, previous, "API")
        return conversation

    async def delete_conversation(self, conversation: ConversationRecord, *, notify: bool) -> None:
        params = conversation_params(conversation, SOURCE_API)
        if notify:
            # Post-events are sent to the conversation's own webhooks too, so queue them first.
            self._post(conversation, "onConversationRemoved", params)
        self.timers.cancel(conversation.sid)
        self.store.remove(conversation)
        self._publish("conversation_removed", {"sid": conversation.sid})

    def _timer_fired(self, sid: str) -> None:
        conversation = self.store.conversations.get(sid)
        if conversation is None:
            return
        target = due_state(conversation, now())
        if target is not None:
            previous = conversation.state
            conversation.state = target
            conversation.date_updated = now()
            if target == "closed":
                conversation.date_inactive = conversation.date_closed = None
            self._publish("conversation", conversation.to_json(""))
            self._post_state(conversation, SOURCE_API, previous, "TIMER")
        self.timers.schedule(conversation)

    # Participants -------------------------------------------------------------------------

    async def add_participant(
        self, conversation: ConversationRecord, spec: ParticipantSpec, *, notify: bool
    ) -> ParticipantRecord:
        self._admit(conversation, spec)
        participant = ParticipantRecord(
            sid=new_sid("MB"),
            conversation_sid=conversation.sid,
            account_sid=self.account_sid,
            identity=spec.identity,
            address=spec.address,
            proxy_address=spec.proxy_address,
            projected_address=spec.projected_address,
            attributes=spec.attributes,
            role_sid=spec.role_sid,
        )
        if notify:
            await self._pre(
                "onParticipantAdd",
                participant_params(conversation, participant, SOURCE_API, pre=True),
            )
            # The webhook took time: check again against what changed meanwhile.
            conversation = self.store.find(conversation.sid)
            self._admit(conversation, spec)
        self.store.participants[conversation.sid][participant.sid] = participant
        if participant.address is not None:
            self.state.phone(participant.address)
        elif participant.identity is not None:
            self.state.phone(participant.identity)  # the simulator can play its chat client
        self._publish("conversation_participant", participant.to_json(""))
        if notify:
            self._post_participant(conversation, participant, "onParticipantAdded")
        return participant

    def _admit(self, conversation: ConversationRecord, spec: ParticipantSpec) -> None:
        """Twilio's participant rules: open conversation, unique identity, one active
        conversation per binding (50416), 50 phones, 10 group-MMS members."""
        _ensure_open(conversation)
        existing = self.store.participants_of(conversation.sid)
        if spec.identity is not None and any(p.identity == spec.identity for p in existing):
            raise errors.identity_exists(spec.identity)
        projected = next((p.projected_address for p in existing if p.projected_address), None)
        if spec.address is not None:
            proxy = spec.proxy_address or projected
            if proxy is None:
                raise errors.invalid(
                    "MessagingBinding.ProxyAddress is required, unless the conversation is a "
                    "group MMS (has a participant with MessagingBinding.ProjectedAddress)"
                )
            owner = self.store.binding_owner(spec.address, proxy)
            if owner is not None:
                raise errors.binding_in_use(owner[0].sid)
            if sum(1 for p in existing if p.is_phone) >= NON_CHAT_LIMIT:
                raise errors.non_chat_limit(NON_CHAT_LIMIT)
        joins_group = spec.projected_address is not None or (
            spec.address is not None and spec.proxy_address is None
        )
        if joins_group:
            members = [p for p in existing if p.projected_address or _group_phone(p)]
            if len(members) >= GROUP_MMS_LIMIT:
                raise errors.group_limit(GROUP_MMS_LIMIT)

    async def update_participant(
        self,
        conversation: ConversationRecord,
        participant: ParticipantRecord,
        spec: ParticipantChanges,
        *,
        notify: bool,
    ) -> ParticipantRecord:
        _ensure_open(conversation)
        if spec.attributes is not None:
            participant.attributes = spec.attributes
        if spec.role_sid is not None:
            participant.role_sid = spec.role_sid or None
        participant.date_updated = now()
        self._publish("conversation_participant", participant.to_json(""))
        if notify:
            self._post_participant(conversation, participant, "onParticipantUpdated")
        return participant

    async def remove_participant(
        self, conversation: ConversationRecord, participant: ParticipantRecord, *, notify: bool
    ) -> None:
        self.store.participants[conversation.sid].pop(participant.sid, None)
        self._publish(
            "conversation_participant_removed",
            {"conversation_sid": conversation.sid, "sid": participant.sid},
        )
        if notify:
            self._post_participant(conversation, participant, "onParticipantRemoved")

    def _post_participant(
        self, conversation: ConversationRecord, participant: ParticipantRecord, event: str
    ) -> None:
        params = participant_params(conversation, participant, SOURCE_API, pre=False)
        self._post(conversation, event, params)

    # Messages -----------------------------------------------------------------------------

    async def create_message(
        self, conversation: ConversationRecord, spec: MessageSpec, *, notify: bool
    ) -> ConversationMessage:
        """A message from the REST API: Author defaults to ``system``."""
        if spec.content_sid:
            render_message(self.state.contents, spec.content_sid, "sms", spec.content_variables)
        author = spec.author or "system"
        participant = next(
            (
                p
                for p in self.store.participants_of(conversation.sid)
                if author in (p.identity, p.address)
            ),
            None,
        )
        media: list[dict[str, Any]] = []
        media_urls: list[str] = []
        if spec.media_sid:
            media = [_media_entry(spec.media_sid, "image/jpeg")]
            media_urls = [_media_url(self.chat_service_sid, spec.media_sid)]
        draft = Draft(
            author=author,
            body=spec.body,
            attributes=spec.attributes or "{}",
            participant=participant,
            media=media,
            media_urls=media_urls,
            content_sid=spec.content_sid,
            content_variables=spec.content_variables,
        )
        return await self.add_message(conversation, draft, source=SOURCE_API, notify=notify)

    async def add_message(
        self, conversation: ConversationRecord, draft: Draft, *, source: str, notify: bool
    ) -> ConversationMessage:
        """Add a message: pre-event, record, reactivate, deliver to phones, post-event."""
        _ensure_open(conversation)
        if notify:
            changes = await self._pre(
                "onMessageAdd", message_params(conversation, draft.facts(), source)
            )
            draft.body = changes.get("body", draft.body)
            draft.author = changes.get("author", draft.author)
            draft.attributes = changes.get("attributes", draft.attributes)
            # The webhook took time: the conversation may have closed or gone meanwhile.
            conversation = self.store.find(conversation.sid)
            _ensure_open(conversation)
        message = ConversationMessage(
            sid=new_sid("IM"),
            conversation_sid=conversation.sid,
            account_sid=self.account_sid,
            index=conversation.next_index,
            author=draft.author,
            body=draft.body,
            attributes=draft.attributes,
            participant_sid=draft.participant.sid if draft.participant else None,
            media=draft.media,
            content_sid=draft.content_sid,
            content_variables=draft.content_variables,
        )
        conversation.next_index += 1
        self.store.messages[conversation.sid][message.sid] = message
        self._touch(conversation, source=source, notify=notify)
        participants = self.store.participants_of(conversation.sid)
        recipients = [
            p for p in participants if p.is_phone and p.sid != message.participant_sid
        ]
        projected = next((p.projected_address for p in participants if p.projected_address), None)
        message.deliveries = self.bridge.deliver(
            conversation, message, recipients, draft.media_urls, projected
        )
        self._publish("conversation_message", message.to_json("", self.delivery_summary(message)))
        for listener in self.message_listeners:
            listener(conversation, message)
        if notify:
            facts = draft.facts()
            facts.sid, facts.index = message.sid, message.index
            facts.date_created = message.date_created
            self.events.post(
                conversation.sid,
                "onMessageAdded",
                message_params(conversation, facts, source),
                body=message.body,
            )
        return message

    def _touch(self, conversation: ConversationRecord, *, source: str, notify: bool) -> None:
        """Activity: an inactive conversation becomes active again and its timers restart."""
        previous = conversation.state
        if previous == "inactive":
            conversation.state = "active"
            conversation.date_updated = now()
        restart(conversation)
        self.timers.schedule(conversation)
        if previous != conversation.state:
            self._publish("conversation", conversation.to_json(""))
            if notify:
                self._post_state(conversation, source, previous, "EVENT")

    async def update_message(
        self,
        conversation: ConversationRecord,
        message: ConversationMessage,
        spec: MessageSpec,
        *,
        notify: bool,
    ) -> ConversationMessage:
        _ensure_open(conversation)
        if spec.author is not None:
            message.author = spec.author
        if spec.body is not None:
            message.body = spec.body
        if spec.attributes is not None:
            message.attributes = spec.attributes
        message.date_updated = now()
        if notify:
            self._post_message(conversation, message, "onMessageUpdated")
        return message

    async def remove_message(
        self, conversation: ConversationRecord, message: ConversationMessage, *, notify: bool
    ) -> None:
        self.store.messages[conversation.sid].pop(message.sid, None)
        if notify:
            self._post_message(conversation, message, "onMessageRemoved")

    def _post_message(
        self, conversation: ConversationRecord, message: ConversationMessage, event: str
    ) -> None:
        participant = next(
            (
                p
                for p in self.store.participants_of(conversation.sid)
                if p.sid == message.participant_sid
            ),
            None,
        )
        facts = MessageFacts(
            author=message.author,
            body=message.body,
            attributes=message.attributes,
            participant=participant,
            media=message.media,
            content_sid=message.content_sid,
            sid=message.sid,
            index=message.index,
            date_created=message.date_created,
        )
        self._post(conversation, event, message_params(conversation, facts, SOURCE_API))

    def delivery_summary(self, message: ConversationMessage) -> dict[str, Any] | None:
        return self.bridge.summary(message.deliveries)

    # Phones texting in --------------------------------------------------------------------

    async def route_inbound(self, record: MessageRecord) -> bool:
        """Delivery's inbound hook: a phone bound in a non-closed conversation texts into it.

        The text becomes a conversation message authored by the phone's address (Source SMS or
        WHATSAPP) and does not reach the number's SmsUrl. A rejecting onMessageAdd pre-event
        drops it, as Twilio does.
        """
        owner = self.store.binding_owner(record.from_ or "", record.to)
        if owner is None:
            return False
        conversation, participant = owner
        draft = Draft(
            author=participant.address or record.from_ or "",
            body=record.body,
            participant=participant,
            media=[_media_entry(new_sid("ME"), kind) for kind in record.media_types],
            media_urls=list(record.media_urls),
        )
        try:
            await self.add_message(
                conversation, draft, source=source_for(participant), notify=True
            )
        except ApiError as exc:
            log.info(
                "inbound conversation message dropped",
                conversation=conversation.sid,
                reason=exc.message,
            )
        return True

    # Webhooks -----------------------------------------------------------------------------

    def add_webhook(self, conversation: ConversationRecord, spec: WebhookSpec) -> ScopedWebhook:
        hook = ScopedWebhook(
            sid=new_sid("WH"),
            conversation_sid=conversation.sid,
            account_sid=self.account_sid,
            target=spec.target or "webhook",
            url=spec.url,
            method=spec.method or "post",
            filters=spec.filters,
            triggers=spec.triggers,
            flow_sid=spec.flow_sid,
        )
        self.store.webhooks[conversation.sid][hook.sid] = hook
        return hook

    def update_webhook(self, hook: ScopedWebhook, spec: WebhookSpec) -> ScopedWebhook:
        if spec.url is not None:
            hook.url = spec.url
        if spec.method is not None:
            hook.method = spec.method
        if spec.filters:
            hook.filters = spec.filters
        if spec.triggers:
            hook.triggers = spec.triggers
        if spec.flow_sid is not None:
            hook.flow_sid = spec.flow_sid
        hook.date_updated = now()
        return hook

    def configure(self, spec: ConfigurationSpec) -> None:
        config = self.store.configuration
        if spec.method is not None:
            config.method = spec.method
        if spec.filters is not None:
            config.filters = spec.filters
        if spec.pre_webhook_url is not None:
            config.pre_webhook_url = spec.pre_webhook_url or None
        if spec.post_webhook_url is not None:
            config.post_webhook_url = spec.post_webhook_url or None
        if spec.target is not None:
            config.target = spec.target

    # Helpers ------------------------------------------------------------------------------

    async def _pre(self, event: str, params: dict[str, str]) -> dict[str, str]:
        verdict = await self.events.pre(event, params)
        if not verdict.allowed:
            raise errors.rejected_by_webhook(event, verdict.status or 0)
        return verdict.changes

    def _post(self, conversation: ConversationRecord, event: str, params: dict[str, str]) -> None:
        self.events.post(conversation.sid, event, params)

    def _post_state(
        self, conversation: ConversationRecord, source: str, previous: str, reason: str
    ) -> None:
        """onConversationStateUpdated, from previous to the conversation's state now."""
        params = state_params(conversation, source, previous, reason)
        self._post(conversation, "onConversationStateUpdated", params)

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        """Live events for the simulator (sandbox-only; URLs are relative here)."""
        self.state.bus.publish(kind, data)


def _ensure_open(conversation: ConversationRecord) -> None:
    """A closed conversation is final: nothing is added to or changed in it (50377)."""
    if conversation.state == "closed":
        raise errors.conversation_closed(conversation.sid)


def _group_phone(participant: ParticipantRecord) -> bool:
    """A group-MMS member: a phone without a ProxyAddress of its own."""
    return participant.is_phone and participant.proxy_address is None


def _media_entry(sid: str, content_type: str) -> dict[str, Any]:
    return {"sid": sid, "content_type": content_type, "filename": None, "size": 0}


def _media_url(chat_service_sid: str, media_sid: str) -> str:
    """Where Twilio's Media Content Service keeps a MediaSid (not served by the sandbox)."""
    return f"https://mcs.us1.twilio.com/v1/Services/{chat_service_sid}/Media/{media_sid}"

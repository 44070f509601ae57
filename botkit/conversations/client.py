"""ConversationsClient: Twilio Conversations v1 through the official SDK, with typed results,
meaningful exceptions, limits checked before the request, and the participant mirror kept up.

Why a wrapper and not the SDK directly: the SDK takes Attributes as JSON strings, timers as
ISO 8601 strings and participants as loose ``messaging_binding_*`` keywords, and answers with
untyped instances and one exception type for every failure. Handlers deserve
``await ctx.conversations.add_whatsapp(ch, "+1555...", bot_number)`` returning a ``Participant``
and raising ``ParticipantAlreadyBound`` with the conversation that holds the phone.

Mirror. With a ``ParticipantMirror``, every participant write applies Twilio's answer to it,
deleting a conversation forgets it, creating one records it as synced and empty, and listing
participants from the API replaces the mirror's copy. Methods that touch the mirror key it by
conversation SID; give them SIDs (a unique name costs one fetch to resolve where the API's
answer does not carry the SID).

Webhooks. Twilio fires Conversations webhooks for REST writes only with
``X-Twilio-Webhook-Enabled: true``; every write here takes ``webhook_enabled`` (default False, so
the bot's own actions do not come back to it as events). twilio-python 9.x drops that header on
DELETE, so deletes go through the SDK's lower-level ``Version.delete_async``, which keeps it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlencode, urlparse

from twilio.base.exceptions import TwilioException

from botkit.conversations.errors import (
    AttributesOwner,
    ConversationsError,
    ParticipantNotFound,
    Resource,
    from_twilio,
)
from botkit.conversations.limits import (
    ConversationLimits,
    check_room_for_phone,
    encode_attributes,
)
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.conversations.models import (
    Conversation,
    ConversationMessage,
    MessagePage,
    Participant,
    SettableState,
)
from botkit.conversations.params import (
    given,
    iso_duration,
    sms_address,
    webhook_header,
    whatsapp_address,
)

T = TypeVar("T")
Order = Literal["asc", "desc"]
Timer = timedelta | str

#: Conversations list pages hold at most 100 records.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


def _is_sid(value: str, prefix: str) -> bool:
    return len(value) == 34 and value.startswith(prefix)


class ConversationsClient:
    """Async only. ``twilio`` is a twilio ``Client`` built with an async http client
    (botkit.twilio.client.create_async_client); wiring.open_conversations builds both."""

    def __init__(
        self,
        twilio: Any,
        *,
        mirror: ParticipantMirror | None = None,
        limits: ConversationLimits | None = None,
        check_limits: bool = True,
        close_twilio: bool = False,
    ) -> None:
        """``check_limits=False`` leaves every limit to Twilio (tests use it to see Twilio's own
        answer); ``limits`` overrides the defaults from twilio-facts.md. ``close_twilio``: this
        client owns ``twilio`` and ``aclose()`` closes its http session."""
        self._twilio = twilio
        self._mirror = mirror
        self._limits = (limits or ConversationLimits()) if check_limits else None
        self._close_twilio = close_twilio

    async def aclose(self) -> None:
        if self._close_twilio:
            await self._twilio.http_client.close()

    @property
    def mirror(self) -> ParticipantMirror | None:
        return self._mirror

    @property
    def _v1(self) -> Any:
        return self._twilio.conversations.v1

    def _conversation(self, sid: str) -> Any:
        return self._v1.conversations(sid)

    # Conversations --------------------------------------------------------------------------

    async def create(
        self,
        *,
        friendly_name: str | None = None,
        unique_name: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        messaging_service_sid: str | None = None,
        state: SettableState | None = None,
        timers_inactive: Timer | None = None,
        timers_closed: Timer | None = None,
        webhook_enabled: bool = False,
    ) -> Conversation:
        """A new conversation. Timers: how long after the last activity it turns inactive /
        closes (``timedelta(minutes=30)`` or ``"PT30M"``)."""
        kwargs = given(
            friendly_name=friendly_name,
            unique_name=unique_name,
            attributes=self._attributes(attributes, "conversation"),
            messaging_service_sid=messaging_service_sid,
            state=state,
            timers_inactive=iso_duration(timers_inactive) if timers_inactive is not None else None,
            timers_closed=iso_duration(timers_closed) if timers_closed is not None else None,
        )
        instance = await self._call(
            "conversation",
            lambda: self._v1.conversations.create_async(
                **webhook_header(webhook_enabled), **kwargs
            ),
        )
        conversation = Conversation.from_sdk(instance)
        if self._mirror is not None:
            await self._mirror.replace_all(conversation.sid, [])
        return conversation

    async def fetch(self, sid_or_unique_name: str) -> Conversation:
        instance = await self._call(
            "conversation", lambda: self._conversation(sid_or_unique_name).fetch_async()
        )
        return Conversation.from_sdk(instance)

    def list_conversations(
        self,
        *,
        state: SettableState | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        limit: int | None = None,
    ) -> AsyncIterator[Conversation]:
        """Every conversation (of ``state``, if given), fetched a page at a time as iterated."""
        _check_page_size(page_size)
        return self._iterate(
            "conversation",
            lambda: self._v1.conversations.page_async(**given(state=state), page_size=page_size),
            Conversation.from_sdk,
            limit,
        )

    async def update(
        self,
        conversation_sid: str,
        *,
        state: SettableState | None = None,
        attributes: Mapping[str, Any] | None = None,
        friendly_name: str | None = None,
        unique_name: str | None = None,
        messaging_service_sid: str | None = None,
        timers_inactive: Timer | None = None,
        timers_closed: Timer | None = None,
        webhook_enabled: bool = False,
    ) -> Conversation:
        """Change what is given; ``attributes`` replaces the whole object, as in Twilio.
        ``state="closed"`` is final: a closed conversation answers ConversationClosed."""
        kwargs = given(
            state=state,
            attributes=self._attributes(attributes, "conversation"),
            friendly_name=friendly_name,
            unique_name=unique_name,
            messaging_service_sid=messaging_service_sid,
            timers_inactive=iso_duration(timers_inactive) if timers_inactive is not None else None,
            timers_closed=iso_duration(timers_closed) if timers_closed is not None else None,
        )
        instance = await self._call(
            "conversation",
            lambda: self._conversation(conversation_sid).update_async(
                **webhook_header(webhook_enabled), **kwargs
            ),
        )
        return Conversation.from_sdk(instance)

    async def close(self, conversation_sid: str, *, webhook_enabled: bool = False) -> Conversation:
        """Close for good: the phones' bindings are free for other conversations again."""
        return await self.update(conversation_sid, state="closed", webhook_enabled=webhook_enabled)

    async def delete(self, conversation_sid: str, *, webhook_enabled: bool = False) -> None:
        sid = await self._conversation_sid(conversation_sid)
        await self._delete("conversation", f"/Conversations/{sid}", webhook_enabled)
        if self._mirror is not None:
            await self._mirror.forget(sid)

    # Participants ---------------------------------------------------------------------------

    async def add_sms(
        self,
        conversation_sid: str,
        address: str,
        proxy_address: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        role_sid: str | None = None,
        webhook_enabled: bool = False,
    ) -> Participant:
        """A phone texting ``proxy_address`` (our number). One Address + ProxyAddress pair can
        be in one active conversation only: else ParticipantAlreadyBound (50416)."""
        return await self._add_phone(
            conversation_sid,
            messaging_binding_address=sms_address(address, "address"),
            messaging_binding_proxy_address=sms_address(proxy_address, "proxy_address"),
            attributes=attributes,
            role_sid=role_sid,
            webhook_enabled=webhook_enabled,
        )

    async def add_whatsapp(
        self,
        conversation_sid: str,
        address: str,
        proxy_address: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        role_sid: str | None = None,
        webhook_enabled: bool = False,
    ) -> Participant:
        """A WhatsApp user and our WhatsApp sender; ``whatsapp:`` is added where missing."""
        return await self._add_phone(
            conversation_sid,
            messaging_binding_address=whatsapp_address(address),
            messaging_binding_proxy_address=whatsapp_address(proxy_address),
            attributes=attributes,
            role_sid=role_sid,
            webhook_enabled=webhook_enabled,
        )

    async def add_group_mms(
        self,
        conversation_sid: str,
        address: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        role_sid: str | None = None,
        webhook_enabled: bool = False,
    ) -> Participant:
        """A phone in a group MMS: an Address with no ProxyAddress of its own. Twilio needs the
        group's number first, as a chat participant's projected address:
        ``add_chat(ch, "bot", projected_address=our_number)``."""
        return await self._add_phone(
            conversation_sid,
            messaging_binding_address=sms_address(address, "address"),
            attributes=attributes,
            role_sid=role_sid,
            webhook_enabled=webhook_enabled,
        )

    async def add_chat(
        self,
        conversation_sid: str,
        identity: str,
        *,
        projected_address: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        role_sid: str | None = None,
        webhook_enabled: bool = False,
    ) -> Participant:
        """A chat identity (an agent, the bot). With ``projected_address`` (our SMS number) it
        speaks to a group MMS from that number. Twice the same identity: DuplicateParticipant."""
        kwargs = given(
            identity=identity,
            messaging_binding_projected_address=(
                sms_address(projected_address, "projected_address") if projected_address else None
            ),
        )
        return await self._add(conversation_sid, kwargs, attributes, role_sid, webhook_enabled)

    async def update_participant(
        self,
        conversation_sid: str,
        participant_sid: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        role_sid: str | None = None,
        webhook_enabled: bool = False,
    ) -> Participant:
        kwargs = given(attributes=self._attributes(attributes, "participant"), role_sid=role_sid)
        instance = await self._call(
            "participant",
            lambda: (
                self._conversation(conversation_sid)
                .participants(participant_sid)
                .update_async(**webhook_header(webhook_enabled), **kwargs)
            ),
        )
        return await self._mirrored(Participant.from_sdk(instance))

    async def list_participants(self, conversation_sid: str) -> list[Participant]:
        """Every participant, from the API; the mirror's copy is replaced with the answer."""
        started = datetime.now(UTC)
        participants = [
            participant
            async for participant in self._iterate(
                "conversation",
                lambda: self._conversation(conversation_sid).participants.page_async(
                    page_size=MAX_PAGE_SIZE
                ),
                Participant.from_sdk,
                None,
            )
        ]
        if self._mirror is not None:
            sid = participants[0].conversation_sid if participants else conversation_sid
            await self._mirror.replace_all(sid, participants, as_of=started)
        return participants

    async def participants(self, conversation_sid: str) -> list[Participant]:
        """From the mirror when it holds the whole conversation, else listed from the API
        (which fills the mirror, so the next call is free)."""
        if self._mirror is not None and await self._mirror.synced(conversation_sid):
            return await self._mirror.participants(conversation_sid)
        return await self.list_participants(conversation_sid)

    async def remove_participant(
        self, conversation_sid: str, participant: str, *, webhook_enabled: bool = False
    ) -> None:
        """``participant``: its SID, chat identity or phone address (an identity or address is
        resolved through the mirror, or else one fetch, so the mirror learns which SID left)."""
        conversation = await self._conversation_sid(conversation_sid)
        sid = await self._participant_sid(conversation, participant)
        try:
            await self._delete(
                "participant", f"/Conversations/{conversation}/Participants/{sid}", webhook_enabled
            )
        except ParticipantNotFound:
            # Gone already (removed elsewhere, webhook not seen): the mirror's entry is stale.
            if self._mirror is not None:
                await self._mirror.apply_removed(conversation, sid)
            raise
        if self._mirror is not None:
            await self._mirror.apply_removed(conversation, sid)

    async def _add_phone(
        self,
        conversation_sid: str,
        *,
        attributes: Mapping[str, Any] | None,
        role_sid: str | None,
        webhook_enabled: bool,
        **binding: str,
    ) -> Participant:
        if self._mirror is not None and self._limits is not None:
            known = await self._mirror.participants(conversation_sid)
            check_room_for_phone(sum(1 for p in known if p.is_phone), self._limits)
        return await self._add(conversation_sid, binding, attributes, role_sid, webhook_enabled)

    async def _add(
        self,
        conversation_sid: str,
        kwargs: dict[str, Any],
        attributes: Mapping[str, Any] | None,
        role_sid: str | None,
        webhook_enabled: bool,
    ) -> Participant:
        kwargs.update(
            given(attributes=self._attributes(attributes, "participant"), role_sid=role_sid)
        )
        instance = await self._call(
            "conversation",
            lambda: self._conversation(conversation_sid).participants.create_async(
                **webhook_header(webhook_enabled), **kwargs
            ),
        )
        return await self._mirrored(Participant.from_sdk(instance))

    async def _mirrored(self, participant: Participant) -> Participant:
        if self._mirror is not None:
            await self._mirror.apply_added(participant)
        return participant

    async def _participant_sid(self, conversation_sid: str, key: str) -> str:
        if _is_sid(key, "MB"):
            return key
        if self._mirror is not None:
            known = await self._mirror.find(conversation_sid, key)
            if known is not None:
                return known.sid
        instance = await self._call(
            "participant",
            lambda: self._conversation(conversation_sid).participants(key).fetch_async(),
        )
        return str(instance.sid)

    async def _conversation_sid(self, sid_or_unique_name: str) -> str:
        if _is_sid(sid_or_unique_name, "CH"):
            return sid_or_unique_name
        return (await self.fetch(sid_or_unique_name)).sid

    # Messages -------------------------------------------------------------------------------

    async def send(
        self,
        conversation_sid: str,
        body: str | None = None,
        *,
        author: str | None = None,
        media_sid: str | None = None,
        content_sid: str | None = None,
        content_variables: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        webhook_enabled: bool = False,
    ) -> ConversationMessage:
        """Post a message; Twilio delivers it to every phone participant but its author.

        ``author`` defaults to Twilio's ``system``. ``media_sid``: one uploaded Media SID (the
        REST API attaches one per message). ``content_sid`` + ``content_variables``: a Content
        template (Twilio then ignores body and media).
        """
        if not (body or media_sid or content_sid):
            raise ValueError("a conversation message needs a body, a media_sid or a content_sid")
        kwargs = given(
            author=author,
            body=body,
            media_sid=media_sid,
            content_sid=content_sid,
            content_variables=json.dumps(dict(content_variables))
            if content_variables is not None
            else None,
            attributes=self._attributes(attributes, "message"),
        )
        instance = await self._call(
            "conversation",
            lambda: self._conversation(conversation_sid).messages.create_async(
                **webhook_header(webhook_enabled), **kwargs
            ),
        )
        return ConversationMessage.from_sdk(instance)

    def list_messages(
        self,
        conversation_sid: str,
        *,
        order: Order = "asc",
        page_size: int = DEFAULT_PAGE_SIZE,
        limit: int | None = None,
    ) -> AsyncIterator[ConversationMessage]:
        """Messages oldest first (or newest first with ``order="desc"``), ``page_size`` per
        request (1-100), fetched lazily as iterated; stop after ``limit`` if given."""
        _check_page_size(page_size)
        return self._iterate(
            "conversation",
            lambda: self._conversation(conversation_sid).messages.page_async(
                order=order, page_size=page_size
            ),
            ConversationMessage.from_sdk,
            limit,
        )

    async def message_page(
        self,
        conversation_sid: str,
        *,
        order: Order = "asc",
        page_size: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> MessagePage:
        """One page of messages, for paging across requests: pass the previous page's
        ``next_page`` as ``after``. The cursor is only the paging part of Twilio's next-page
        URL, so a tampered one cannot send our credentials to another host."""
        _check_page_size(page_size)
        query = dict(order=order, page_size=page_size) | (_cursor_params(after) if after else {})
        page = await self._call(
            "conversation",
            lambda: self._conversation(conversation_sid).messages.page_async(**query),
        )
        return MessagePage(
            messages=[ConversationMessage.from_sdk(instance) for instance in page],
            next_page=_cursor(page.next_page_url),
        )

    # Plumbing -------------------------------------------------------------------------------

    def _attributes(
        self, attributes: Mapping[str, Any] | None, owner: AttributesOwner
    ) -> str | None:
        return None if attributes is None else encode_attributes(attributes, owner, self._limits)

    async def _call(self, resource: Resource, action: Callable[[], Awaitable[T]]) -> T:
        """Run one SDK call; Twilio's errors come out as ConversationsError subclasses."""
        try:
            return await action()
        except TwilioException as exc:
            raise from_twilio(exc, resource) from exc

    async def _delete(self, resource: Resource, uri: str, webhook_enabled: bool) -> None:
        headers = {"X-Twilio-Webhook-Enabled": "true"} if webhook_enabled else {}
        await self._call(
            resource, lambda: self._v1.delete_async(method="DELETE", uri=uri, headers=headers)
        )

    async def _iterate(
        self,
        resource: Resource,
        first: Callable[[], Awaitable[Any]],
        convert: Callable[[Any], T],
        limit: int | None,
    ) -> AsyncIterator[T]:
        """Records page by page, following Twilio's next-page links, up to ``limit``."""
        page = await self._call(resource, first)
        count = 0
        while page is not None:
            for instance in page:
                yield convert(instance)
                count += 1
                if limit is not None and count >= limit:
                    return
            page = await self._call(resource, page.next_page_async)


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")


_CURSOR_KEYS = {"PageToken": "page_token", "Page": "page_number"}


def _cursor(next_page_url: str | None) -> str | None:
    """The paging parameters of a next-page URL (PageToken, Page), as an opaque string."""
    if not next_page_url:
        return None
    query = parse_qs(urlparse(next_page_url).query)
    kept = {name: query[name][0] for name in _CURSOR_KEYS if name in query}
    return urlencode(kept) if kept else None


def _cursor_params(cursor: str) -> dict[str, Any]:
    query = parse_qs(cursor)
    params: dict[str, Any] = {}
    for name, keyword in _CURSOR_KEYS.items():
        if name in query:
            params[keyword] = query[name][0]
    if not params:
        raise ConversationsError(f"not a message page cursor: {cursor!r}")
    return params

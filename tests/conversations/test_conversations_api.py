"""ConversationsClient: conversations themselves (create, fetch, list, update, close, delete),
against the embedded sandbox through the real twilio SDK, with the mirror on each store."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from botkit.conversations.client import ConversationsClient
from botkit.conversations.errors import (
    AttributesTooLarge,
    ConversationClosed,
    ConversationNotFound,
    ConversationsError,
    UniqueNameTaken,
)
from botkit.conversations.mirror.memory import MemoryParticipantMirror
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.runtime.twilio import twilio_client
from tests.conftest import make_settings
from tests.conversations.conftest import PSEUDONYM
from tests.support.sandbox_twilio import SandboxTwilio

MG = "MG" + "a" * 32


async def test_create_with_everything_and_read_it_back(
    conversations: ConversationsClient, sdk: Any
) -> None:
    created = await conversations.create(
        friendly_name="Support #1",
        unique_name="support-1",
        attributes={"topic": "billing", "vip": True, "note": "é"},
        messaging_service_sid=MG,
        timers_inactive=timedelta(hours=1),
        timers_closed="P1D",
    )
    assert created.sid.startswith("CH") and created.state == "active"
    assert created.attributes == {"topic": "billing", "vip": True, "note": "é"}
    assert created.messaging_service_sid == MG
    assert created.date_created is not None and created.timers.date_inactive is not None
    assert created.timers.date_inactive - created.date_created == timedelta(hours=1)
    assert created.timers.date_closed is not None
    assert created.timers.date_closed - created.date_created == timedelta(days=1)

    # What the SDK itself sees: the attributes went over as a JSON string.
    raw = await sdk.conversations.v1.conversations(created.sid).fetch_async()
    assert json.loads(raw.attributes) == created.attributes

    assert await conversations.fetch(created.sid) == created
    assert await conversations.fetch("support-1") == created


async def test_a_new_conversation_is_mirrored_as_synced_and_empty(
    conversations: ConversationsClient, mirror: ParticipantMirror
) -> None:
    created = await conversations.create()
    assert await mirror.synced(created.sid)
    assert await mirror.participants(created.sid) == []
    assert created.attributes == {} and created.unique_name is None


async def test_update_state_and_attributes(conversations: ConversationsClient) -> None:
    created = await conversations.create(attributes={"a": 1})
    updated = await conversations.update(
        created.sid, state="inactive", attributes={"b": 2}, friendly_name="Renamed"
    )
    assert (updated.state, updated.attributes, updated.friendly_name) == (
        "inactive",
        {"b": 2},
        "Renamed",
    )
    assert (await conversations.update(created.sid, state="active")).state == "active"
    closed = await conversations.close(created.sid)
    assert closed.state == "closed"
    with pytest.raises(ConversationClosed) as final:
        await conversations.update(created.sid, state="active")
    assert final.value.code == 50377 and final.value.status == 400


async def test_timers_given_as_timedelta_reach_twilio_as_iso_durations(
    conversations: ConversationsClient,
) -> None:
    created = await conversations.create(timers_inactive=timedelta(seconds=0.2))
    for _ in range(100):
        if (await conversations.fetch(created.sid)).state == "inactive":
            break
        await asyncio.sleep(0.02)
    assert (await conversations.fetch(created.sid)).state == "inactive"


async def test_list_pages_through_everything(conversations: ConversationsClient) -> None:
    sids = [(await conversations.create(friendly_name=f"c{i}")).sid for i in range(7)]
    listed = [c.sid async for c in conversations.list_conversations(page_size=3)]
    assert listed == sids
    first_four = [c.sid async for c in conversations.list_conversations(page_size=3, limit=4)]
    assert first_four == sids[:4]

    await conversations.close(sids[1])
    closed = [c.sid async for c in conversations.list_conversations(state="closed")]
    assert closed == [sids[1]]
    with pytest.raises(ValueError, match="page_size"):
        conversations.list_conversations(page_size=101)


async def test_delete_forgets_the_mirror_and_then_it_is_not_found(
    conversations: ConversationsClient, mirror: ParticipantMirror
) -> None:
    created = await conversations.create(unique_name="to-delete")
    member = await conversations.add_chat(created.sid, "agent")
    await conversations.delete("to-delete")  # by unique name: resolved to the SID first
    assert await mirror.participants(created.sid) == []
    assert not await mirror.synced(created.sid)
    # A late onParticipantAdded for the deleted conversation does not bring it back.
    assert not await mirror.apply_added(member)
    with pytest.raises(ConversationNotFound) as missing:
        await conversations.fetch(created.sid)
    assert (missing.value.status, missing.value.code) == (404, 20404)


async def test_not_found_everywhere_is_conversation_not_found(
    conversations: ConversationsClient,
) -> None:
    nowhere = "CH" + "0" * 32
    attempts = [
        conversations.fetch(nowhere),
        conversations.fetch("no-such-unique-name"),
        conversations.update(nowhere, state="closed"),
        conversations.delete(nowhere),
        conversations.add_chat(nowhere, "agent"),
        conversations.send(nowhere, "hello"),
        conversations.list_participants(nowhere),
        conversations.message_page(nowhere),
    ]
    for attempt in attempts:
        with pytest.raises(ConversationNotFound) as missing:
            await attempt
        assert isinstance(missing.value, ConversationsError)
        assert missing.value.code == 20404 and "was not found" in missing.value.message


async def test_unique_names_are_unique(conversations: ConversationsClient) -> None:
    await conversations.create(unique_name="desk")
    with pytest.raises(UniqueNameTaken) as taken:
        await conversations.create(unique_name="desk")
    assert (taken.value.status, taken.value.code) == (409, 50353)


async def test_timer_strings_are_checked_before_the_request(
    conversations: ConversationsClient,
) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        await conversations.create(timers_inactive="10 minutes")
    with pytest.raises(ValueError, match="positive"):
        await conversations.create(timers_closed=timedelta(0))
    assert [c async for c in conversations.list_conversations()] == []


async def test_conversation_attributes_up_to_16_kb(
    conversations: ConversationsClient, sdk: Any
) -> None:
    at_limit = {"x": "a" * (16 * 1024 - len(b'{"x":""}'))}
    created = await conversations.create(attributes=at_limit)
    assert created.attributes == at_limit
    too_big = {"x": "a" * (16 * 1024 - len(b'{"x":""}') + 1)}
    with pytest.raises(AttributesTooLarge) as big:
        await conversations.update(created.sid, attributes=too_big)
    assert (big.value.status, big.value.owner, big.value.limit) == (None, "conversation", 16384)
    assert (await conversations.fetch(created.sid)).attributes == at_limit

    unchecked = ConversationsClient(sdk, check_limits=False)
    with pytest.raises(AttributesTooLarge) as refused:
        await unchecked.update(created.sid, attributes=too_big)
    assert (refused.value.status, refused.value.code) == (400, 50303)
    with pytest.raises(AttributesTooLarge):
        await unchecked.create(attributes=too_big)


async def test_the_composition_roots_sdk_client_drives_conversations(twilio: SandboxTwilio) -> None:
    mirror = MemoryParticipantMirror(pseudonym=PSEUDONYM)
    sdk = twilio_client(make_settings(twilio_base_url=twilio.base_url))
    client = ConversationsClient(sdk, mirror=mirror, close_twilio=True)
    try:
        created = await client.create(friendly_name="wired")
        assert (await client.fetch(created.sid)).friendly_name == "wired"
        assert await mirror.synced(created.sid)
    finally:
        await client.aclose()

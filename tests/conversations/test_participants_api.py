"""ConversationsClient: participants of every kind, Twilio's participant rules as exceptions,
and the mirror kept equal to what the API lists (memory and Redis mirrors)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from botkit.conversations.client import ConversationsClient
from botkit.conversations.errors import (
    AttributesTooLarge,
    DuplicateParticipant,
    ParticipantAlreadyBound,
    ParticipantNotFound,
    TooManyParticipants,
)
from botkit.conversations.limits import ConversationLimits
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.conversations.models import Participant
from tests.conversations.conftest import ALICE, BOB, BOT, BOT_WA, CAROL, phone


async def sdk_participants(sdk: Any, conversation_sid: str) -> list[Any]:
    """The participants as the SDK lists them, without our client."""
    participants = sdk.conversations.v1.conversations(conversation_sid).participants
    return list(await participants.list_async())


async def assert_mirror_matches_api(sdk: Any, mirror: ParticipantMirror, sid: str) -> None:
    listed = [Participant.from_sdk(p) for p in await sdk_participants(sdk, sid)]
    mirrored = await mirror.participants(sid)
    assert {p.sid: p for p in mirrored} == {p.sid: p for p in listed}


async def test_every_kind_is_visible_through_the_sdk(
    conversations: ConversationsClient, sdk: Any, mirror: ParticipantMirror
) -> None:
    ch = (await conversations.create(friendly_name="Every kind")).sid
    sms = await conversations.add_sms(ch, ALICE, BOT, attributes={"role": "customer"})
    whatsapp = await conversations.add_whatsapp(ch, CAROL, BOT)  # prefixes added for us
    agent = await conversations.add_chat(ch, "agent-7", attributes={"team": "billing"})

    assert (sms.kind, sms.address, sms.proxy_address) == ("sms", ALICE, BOT)
    assert (whatsapp.kind, whatsapp.address, whatsapp.proxy_address) == (
        "whatsapp",
        f"whatsapp:{CAROL}",
        BOT_WA,
    )
    assert (agent.kind, agent.identity, agent.address) == ("chat", "agent-7", None)
    assert sms.attributes == {"role": "customer"} and agent.attributes == {"team": "billing"}

    listed = await sdk_participants(sdk, ch)
    assert [p.sid for p in listed] == [sms.sid, whatsapp.sid, agent.sid]
    assert listed[0].messaging_binding == {"type": "sms", "address": ALICE, "proxy_address": BOT}
    assert listed[1].messaging_binding["type"] == "whatsapp"
    assert listed[2].identity == "agent-7" and listed[2].messaging_binding is None
    assert json.loads(listed[0].attributes) == {"role": "customer"}
    await assert_mirror_matches_api(sdk, mirror, ch)
    assert await conversations.list_participants(ch) == [sms, whatsapp, agent]


async def test_group_mms_members_and_the_projected_number(
    conversations: ConversationsClient, sdk: Any, mirror: ParticipantMirror
) -> None:
    ch = (await conversations.create(friendly_name="Group MMS")).sid
    host = await conversations.add_chat(ch, "bot", projected_address=BOT)
    alice = await conversations.add_group_mms(ch, ALICE)
    bob = await conversations.add_group_mms(ch, BOB)

    assert (host.kind, host.projected_address) == ("chat", BOT)
    assert (alice.kind, alice.address, alice.proxy_address) == ("group_mms", ALICE, None)
    listed = await sdk_participants(sdk, ch)
    assert [p.sid for p in listed] == [host.sid, alice.sid, bob.sid]
    assert listed[0].messaging_binding == {"type": "sms", "projected_address": BOT}
    assert listed[1].messaging_binding == {"type": "sms", "address": ALICE}
    await assert_mirror_matches_api(sdk, mirror, ch)


async def test_wrong_channel_addresses_fail_before_the_request(
    conversations: ConversationsClient, sdk: Any
) -> None:
    ch = (await conversations.create()).sid
    with pytest.raises(ValueError, match="WhatsApp"):
        await conversations.add_sms(ch, f"whatsapp:{ALICE}", BOT)
    with pytest.raises(ValueError, match=r"E\.164"):
        await conversations.add_sms(ch, "5550101001", BOT)
    assert await sdk_participants(sdk, ch) == []


async def test_a_binding_in_another_active_conversation_is_50416(
    conversations: ConversationsClient, mirror: ParticipantMirror
) -> None:
    first = (await conversations.create()).sid
    second = (await conversations.create()).sid
    await conversations.add_sms(first, ALICE, BOT)
    with pytest.raises(ParticipantAlreadyBound) as clash:
        await conversations.add_sms(second, ALICE, BOT)
    error = clash.value
    assert (error.status, error.code, error.conversation_sid) == (409, 50416, first)
    assert "participant already in an active conversation" in str(error)
    assert await mirror.participants(second) == []

    # The same phone on WhatsApp is another binding; closing the first frees the SMS one.
    await conversations.add_whatsapp(second, ALICE, BOT)
    await conversations.close(first)
    moved = await conversations.add_sms(second, ALICE, BOT)
    assert moved.conversation_sid == second


async def test_a_duplicate_identity_is_50433(conversations: ConversationsClient) -> None:
    ch = (await conversations.create()).sid
    await conversations.add_chat(ch, "agent-7")
    with pytest.raises(DuplicateParticipant) as twice:
        await conversations.add_chat(ch, "agent-7")
    assert (twice.value.status, twice.value.code, twice.value.identity) == (409, 50433, "agent-7")


async def test_remove_by_sid_identity_or_address_keeps_the_mirror_equal(
    conversations: ConversationsClient, sdk: Any, mirror: ParticipantMirror
) -> None:
    ch = (await conversations.create()).sid
    alice = await conversations.add_sms(ch, ALICE, BOT)
    await conversations.add_sms(ch, BOB, BOT)
    await conversations.add_chat(ch, "agent")
    await conversations.add_chat(ch, "supervisor")

    await conversations.remove_participant(ch, alice.sid)
    await assert_mirror_matches_api(sdk, mirror, ch)
    await conversations.remove_participant(ch, "agent")
    await assert_mirror_matches_api(sdk, mirror, ch)
    await conversations.remove_participant(ch, BOB)
    await assert_mirror_matches_api(sdk, mirror, ch)
    assert [p.identity for p in await mirror.participants(ch)] == ["supervisor"]
    assert await mirror.find(ch, ALICE) is None and await mirror.find(ch, "agent") is None

    with pytest.raises(ParticipantNotFound) as gone:
        await conversations.remove_participant(ch, alice.sid)
    assert gone.value.code == 20404
    with pytest.raises(ParticipantNotFound):
        await conversations.remove_participant(ch, "nobody")


async def test_a_conversation_made_elsewhere_is_listed_once_then_read_from_the_mirror(
    conversations: ConversationsClient, sdk: Any, mirror: ParticipantMirror
) -> None:
    made = await sdk.conversations.v1.conversations.create_async()
    await sdk.conversations.v1.conversations(made.sid).participants.create_async(identity="x")
    assert not await mirror.synced(made.sid)
    first = await conversations.participants(made.sid)
    assert [p.identity for p in first] == ["x"] and await mirror.synced(made.sid)

    # Now the mirror answers: a participant added behind our back is not seen until the webhook
    # (apply_added) or the next listing; that is the price of no round trip.
    await sdk.conversations.v1.conversations(made.sid).participants.create_async(identity="y")
    assert [p.identity for p in await conversations.participants(made.sid)] == ["x"]
    assert [p.identity for p in await conversations.list_participants(made.sid)] == ["x", "y"]
    assert [p.identity for p in await conversations.participants(made.sid)] == ["x", "y"]


async def test_update_participant_attributes(
    conversations: ConversationsClient, mirror: ParticipantMirror
) -> None:
    ch = (await conversations.create()).sid
    agent = await conversations.add_chat(ch, "agent", attributes={"busy": False})
    updated = await conversations.update_participant(ch, agent.sid, attributes={"busy": True})
    assert updated.attributes == {"busy": True}
    found = await mirror.find(ch, "agent")
    assert found is not None and found.attributes == {"busy": True}


async def test_concurrent_adds_all_land_in_the_mirror(
    conversations: ConversationsClient, sdk: Any, mirror: ParticipantMirror
) -> None:
    ch = (await conversations.create()).sid
    adds = [conversations.add_sms(ch, phone(i), BOT) for i in range(20)]
    adds += [conversations.add_chat(ch, f"agent-{i}") for i in range(5)]
    added = await asyncio.gather(*adds)
    assert len({p.sid for p in added}) == 25
    await assert_mirror_matches_api(sdk, mirror, ch)
    for i in (0, 7, 19):
        found = await mirror.find(ch, phone(i))
        assert found is not None and found.address == phone(i)


# Limits ---------------------------------------------------------------------------------------


async def test_the_51st_phone_is_refused_without_a_request(
    conversations: ConversationsClient, sdk: Any
) -> None:
    ch = (await conversations.create()).sid
    for i in range(50):
        await conversations.add_sms(ch, phone(i), BOT)
    await conversations.add_chat(ch, "agent")  # chat participants do not count
    with pytest.raises(TooManyParticipants) as full:
        await conversations.add_whatsapp(ch, phone(50), BOT)
    assert (full.value.status, full.value.code) == (None, 50418)  # no request was made
    assert "at most 50" in str(full.value)
    assert len(await sdk_participants(sdk, ch)) == 51


async def test_twilio_refuses_the_51st_phone_too(sdk: Any, mirror: ParticipantMirror) -> None:
    unchecked = ConversationsClient(sdk, mirror=mirror, check_limits=False)
    ch = (await unchecked.create()).sid
    for i in range(50):
        await unchecked.add_sms(ch, phone(i), BOT)
    with pytest.raises(TooManyParticipants) as full:
        await unchecked.add_whatsapp(ch, phone(50), BOT)
    assert (full.value.status, full.value.code) == (400, 50418)
    assert len(await mirror.participants(ch)) == 50


async def test_the_limit_is_configurable_and_counts_only_phones(
    sdk: Any, mirror: ParticipantMirror
) -> None:
    strict = ConversationsClient(
        sdk, mirror=mirror, limits=ConversationLimits(non_chat_participants=2)
    )
    ch = (await strict.create()).sid
    await strict.add_sms(ch, ALICE, BOT)
    await strict.add_chat(ch, "agent")
    await strict.add_whatsapp(ch, BOB, BOT)
    with pytest.raises(TooManyParticipants):
        await strict.add_sms(ch, CAROL, BOT)  # Twilio would have taken it: this was us
    await strict.add_chat(ch, "another-agent")


def attributes_of(size: int, char: str = "a") -> dict[str, Any]:
    """Attributes whose compact UTF-8 JSON is exactly ``size`` bytes."""
    overhead = len(b'{"x":""}')
    width = len(char.encode())
    assert (size - overhead) % width == 0
    return {"x": char * ((size - overhead) // width)}


@pytest.mark.parametrize("char", ["a", "é"])
async def test_participant_attributes_up_to_4_kb(
    conversations: ConversationsClient, sdk: Any, char: str
) -> None:
    ch = (await conversations.create()).sid
    at_limit = attributes_of(4096, char)
    accepted = await conversations.add_chat(ch, "ok", attributes=at_limit)
    assert accepted.attributes == at_limit  # Twilio counts bytes exactly as we do

    with pytest.raises(AttributesTooLarge) as big:
        await conversations.add_chat(ch, "big", attributes=attributes_of(4098, char))
    assert (big.value.status, big.value.owner, big.value.limit) == (None, "participant", 4096)
    assert big.value.size == 4098
    assert [p.identity for p in await sdk_participants(sdk, ch)] == ["ok"]

    unchecked = ConversationsClient(sdk, check_limits=False)
    with pytest.raises(AttributesTooLarge) as refused:
        await unchecked.add_chat(ch, "big", attributes=attributes_of(4098, char))
    assert (refused.value.status, refused.value.code) == (400, 50303)


async def test_removing_a_participant_gone_elsewhere_clears_the_stale_mirror_entry(
    conversations: ConversationsClient, sdk: Any, mirror: ParticipantMirror
) -> None:
    ch = (await conversations.create()).sid
    agent = await conversations.add_chat(ch, "agent")
    await sdk.conversations.v1.conversations(ch).participants(agent.sid).delete_async()
    assert await mirror.find(ch, "agent") == agent  # no webhook told the mirror
    with pytest.raises(ParticipantNotFound):
        await conversations.remove_participant(ch, "agent")
    assert await mirror.find(ch, "agent") is None

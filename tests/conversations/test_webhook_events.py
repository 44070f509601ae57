"""The client's ``webhook_enabled`` flag, and the participant mirror fed from the webhooks the
sandbox really posts (what the /twilio/conversations route does with onParticipant* events),
in delivery order and reversed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from botkit.conversations.client import ConversationsClient
from botkit.conversations.mirror.memory import MemoryParticipantMirror
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.conversations.mirror.redis import RedisParticipantMirror
from botkit.conversations.models import Participant
from tests.conftest import AUTH_TOKEN
from tests.conversations.conftest import ALICE, BOT, PSEUDONYM
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhook_sink import WebhookSink, webhook_sink

EVENTS = [
    "onConversationAdded",
    "onConversationRemoved",
    "onParticipantAdded",
    "onParticipantUpdated",
    "onParticipantRemoved",
    "onMessageAdded",
]


@pytest.fixture
async def sink(sdk: Any) -> AsyncIterator[WebhookSink]:
    async with webhook_sink(AUTH_TOKEN) as receiver:
        await sdk.conversations.v1.configuration.webhooks().update_async(
            post_webhook_url=receiver.url("/post"), method="POST", filters=EVENTS
        )
        yield receiver


@pytest.fixture
async def fresh_mirror(store_url: str | None) -> AsyncIterator[Callable[[str], ParticipantMirror]]:
    """fresh_mirror(name) -> an empty mirror on this test's store, apart from the others."""
    redis = Redis.from_url(store_url) if store_url is not None else None

    def make(name: str) -> ParticipantMirror:
        if redis is None:
            return MemoryParticipantMirror(pseudonym=PSEUDONYM)
        return RedisParticipantMirror(redis, pseudonym=PSEUDONYM, prefix=f"test-{name}")

    yield make
    if redis is not None:
        await redis.aclose()


def comparable(participant: Participant) -> dict[str, Any]:
    """Webhook dates carry milliseconds and API dates whole seconds; compare the rest."""
    return participant.model_dump(exclude={"date_created", "date_updated"})


async def apply(mirror: ParticipantMirror, params: dict[str, str]) -> None:
    """What the webhook route does with a participant event."""
    if params["EventType"] in ("onParticipantAdded", "onParticipantUpdated"):
        await mirror.apply_added(Participant.from_webhook(params))
    elif params["EventType"] == "onParticipantRemoved":
        await mirror.apply_removed(params["ConversationSid"], params["ParticipantSid"])


async def test_only_writes_that_ask_for_it_fire_webhooks(
    conversations: ConversationsClient, twilio: SandboxTwilio, sink: WebhookSink
) -> None:
    quiet = (await conversations.create()).sid
    await conversations.add_chat(quiet, "agent")
    await conversations.send(quiet, "nobody hears this")
    await conversations.remove_participant(quiet, "agent")
    await conversations.delete(quiet)
    await twilio.sandbox.settle()
    assert sink.events("/post") == []

    loud = (await conversations.create(webhook_enabled=True)).sid
    await conversations.add_chat(loud, "agent", webhook_enabled=True)
    await conversations.send(loud, "everyone hears this", webhook_enabled=True)
    # twilio-python drops X-Twilio-Webhook-Enabled on DELETE; the client keeps it.
    await conversations.remove_participant(loud, "agent", webhook_enabled=True)
    await conversations.delete(loud, webhook_enabled=True)
    await twilio.sandbox.settle()
    assert sink.events("/post") == [
        "onConversationAdded",
        "onParticipantAdded",
        "onMessageAdded",
        "onParticipantRemoved",
        "onConversationRemoved",
    ]
    assert all(hit.signature_valid for hit in sink.at("/post"))


async def test_a_mirror_fed_by_webhooks_matches_the_api_in_any_order(
    conversations: ConversationsClient,
    twilio: SandboxTwilio,
    sink: WebhookSink,
    fresh_mirror: Callable[[str], ParticipantMirror],
) -> None:
    ch = (await conversations.create()).sid
    await conversations.add_sms(
        ch, ALICE, BOT, attributes={"role": "customer"}, webhook_enabled=True
    )
    agent = await conversations.add_chat(ch, "agent", webhook_enabled=True)
    host = await conversations.add_chat(ch, "bot", projected_address=BOT, webhook_enabled=True)
    await conversations.update_participant(
        ch, agent.sid, attributes={"busy": True}, webhook_enabled=True
    )
    await conversations.remove_participant(ch, host.sid, webhook_enabled=True)
    await twilio.sandbox.settle()
    delivered = [hit.params for hit in sink.at("/post")]
    assert [p["EventType"] for p in delivered] == [
        "onParticipantAdded",
        "onParticipantAdded",
        "onParticipantAdded",
        "onParticipantUpdated",
        "onParticipantRemoved",
    ]
    listed = await conversations.list_participants(ch)

    in_order = fresh_mirror("in-order")
    for params in delivered:
        await apply(in_order, params)
    assert [comparable(p) for p in await in_order.participants(ch)] == [
        comparable(p) for p in listed
    ]
    found = await in_order.find(ch, ALICE)
    assert found is not None and found.attributes == {"role": "customer"}

    # Reversed: the removal comes before the add, the update before the add. Membership must
    # still come out right. (Attributes cannot: the sandbox's onParticipantUpdated carries no
    # DateUpdated, so that update and the add tie; test_mirror covers ordering by DateUpdated.)
    reversed_ = fresh_mirror("reversed")
    for params in reversed(delivered):
        await apply(reversed_, params)
    assert {p.sid for p in await reversed_.participants(ch)} == {p.sid for p in listed}
    assert await reversed_.find(ch, "bot") is None  # removed before its add arrived: stays out

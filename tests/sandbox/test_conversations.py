"""Conversations v1 in the sandbox, driven through the official twilio SDK (async and sync, with a
URL-rewriting http client) and the sandbox's phone API, with a real server receiving the
webhooks and checking their signatures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from botkit.sandbox import Sandbox, SandboxConfig
from tests.support import oai
from tests.support.twilio_sync import create_sync_client
from tests.support.webhook_sink import WebhookSink, webhook_sink

BOT = "+15550002222"
BOT_WA = "whatsapp:+15550002222"
ALICE = "+15550101001"
BOB = "+15550101002"
CAROL_WA = "whatsapp:+15550101003"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(SandboxConfig(status_step=0.001))
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
async def sink(sandbox: Sandbox) -> AsyncIterator[WebhookSink]:
    async with webhook_sink(sandbox.config.auth_token) as receiver:
        yield receiver


def conversations(client: Client) -> Any:
    return client.conversations.v1.conversations


async def configure_webhooks(client: Client, **settings: Any) -> Any:
    return await client.conversations.v1.configuration.webhooks().update_async(**settings)


async def raw(
    sandbox: Sandbox,
    method: str,
    path: str,
    data: dict[str, Any] | list[tuple[str, str]] | None = None,
    *,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> tuple[int, Any]:
    """A plain HTTP request to the sandbox, for what the SDK hides (raw JSON, meta)."""
    user, secret = auth or (sandbox.config.account_sid, sandbox.config.auth_token)
    async with (
        aiohttp.ClientSession(auth=aiohttp.BasicAuth(user, secret)) as session,
        session.request(method, sandbox.url + path, data=data, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, json.loads(text) if text else None


async def delete_notifying(sandbox: Sandbox, path: str) -> None:
    """DELETE with X-Twilio-Webhook-Enabled: true, which twilio-python's deletes never send."""
    status, _ = await raw(sandbox, "DELETE", path, headers={"X-Twilio-Webhook-Enabled": "true"})
    assert status == 204


async def phone_texts(sandbox: Sandbox, phone: str, to: str, body: str) -> None:
    status, _ = await raw(
        sandbox, "POST", f"/sandbox/phones/{phone}/messages", {"to": to, "body": body}
    )
    assert status == 201


async def transcript(sandbox: Sandbox, phone: str) -> list[dict[str, Any]]:
    status, data = await raw(sandbox, "GET", f"/sandbox/phones/{phone}/messages")
    assert status == 200
    return list(data["messages"])


# Conversations ------------------------------------------------------------------------------


async def test_create_fetch_update_delete(client: Client) -> None:
    created = await conversations(client).create_async(
        friendly_name="Support #1",
        unique_name="support-1",
        attributes=json.dumps({"topic": "billing"}),
        messaging_service_sid="MG" + "a" * 32,
        timers_inactive="PT1H",
        timers_closed="P1D",
    )
    assert created.sid.startswith("CH") and created.state == "active"
    assert created.chat_service_sid.startswith("IS")
    assert json.loads(created.attributes) == {"topic": "billing"}
    assert set(created.timers) == {"date_inactive", "date_closed"}
    assert created.links["messages"].endswith(f"/v1/Conversations/{created.sid}/Messages")

    by_name = await conversations(client)("support-1").fetch_async()
    assert by_name.sid == created.sid and by_name.friendly_name == "Support #1"
    assert by_name.date_created == created.date_created  # parsed: ISO 8601 as Twilio sends it

    updated = await conversations(client)(created.sid).update_async(
        friendly_name="Support #1 (VIP)", attributes='{"vip": true}', state="inactive"
    )
    assert (updated.friendly_name, updated.state) == ("Support #1 (VIP)", "inactive")
    assert json.loads(updated.attributes) == {"vip": True}

    plain = await conversations(client).create_async()
    assert plain.attributes == "{}" and plain.timers == {} and plain.unique_name is None

    assert await conversations(client)(created.sid).delete_async()
    with pytest.raises(TwilioRestException) as missing:
        await conversations(client)(created.sid).fetch_async()
    assert (missing.value.status, missing.value.code) == (404, 20404)


async def test_unique_names_are_unique_and_closed_is_final(client: Client) -> None:
    first = await conversations(client).create_async(unique_name="desk")
    with pytest.raises(TwilioRestException) as taken:
        await conversations(client).create_async(unique_name="desk")
    assert (taken.value.status, taken.value.code) == (409, 50353)

    await conversations(client)(first.sid).update_async(state="closed")
    with pytest.raises(TwilioRestException) as closed:
        await conversations(client)(first.sid).update_async(state="active")
    assert closed.value.code == 50377


async def test_list_pages_with_absolute_meta_urls(client: Client, sandbox: Sandbox) -> None:
    sids = [(await conversations(client).create_async(friendly_name=f"c{i}")).sid for i in range(5)]

    listed = await conversations(client).list_async(page_size=2)
    assert [c.sid for c in listed] == sids

    status, page = await raw(sandbox, "GET", "/v1/Conversations?PageSize=2")
    assert status == 200
    meta = page["meta"]
    assert meta["key"] == "conversations" and meta["page"] == 0 and meta["page_size"] == 2
    assert meta["previous_page_url"] is None
    assert meta["first_page_url"].startswith(sandbox.url + "/v1/Conversations?")
    assert meta["next_page_url"].startswith(sandbox.url + "/v1/Conversations?")

    second = await conversations(client).page_async(page_size=2)
    following = await second.next_page_async()
    assert [c.sid for c in following] == sids[2:4]
    assert following.previous_page_url is not None

    await conversations(client)(sids[0]).update_async(state="closed")
    closed = await conversations(client).list_async(state="closed")
    assert [c.sid for c in closed] == [sids[0]]


async def test_wrong_credentials_get_401_20003(sandbox: Sandbox) -> None:
    status, body = await raw(sandbox, "GET", "/v1/Conversations", auth=("AC" + "0" * 32, "nope"))
    assert (status, body["code"]) == (401, 20003)


# Participants -------------------------------------------------------------------------------


async def test_participants_of_every_kind(client: Client) -> None:
    conversation = await conversations(client).create_async(friendly_name="Every kind")
    participants = conversations(client)(conversation.sid).participants
    sms = await participants.create_async(
        messaging_binding_address=ALICE,
        messaging_binding_proxy_address=BOT,
        attributes='{"role": "customer"}',
    )
    whatsapp = await participants.create_async(
        messaging_binding_address=CAROL_WA, messaging_binding_proxy_address=BOT_WA
    )
    agent = await participants.create_async(identity="agent-7")

    assert sms.messaging_binding == {"type": "sms", "address": ALICE, "proxy_address": BOT}
    assert whatsapp.messaging_binding == {
        "type": "whatsapp",
        "address": CAROL_WA,
        "proxy_address": BOT_WA,
    }
    assert agent.identity == "agent-7" and agent.messaging_binding is None
    assert json.loads(sms.attributes) == {"role": "customer"}

    listed = await participants.list_async()
    assert [p.sid for p in listed] == [sms.sid, whatsapp.sid, agent.sid]
    fetched = await participants(whatsapp.sid).fetch_async()
    assert fetched.messaging_binding["address"] == CAROL_WA
    by_identity = await participants("agent-7").fetch_async()
    assert by_identity.sid == agent.sid
    updated = await participants(sms.sid).update_async(attributes='{"role": "vip"}')
    assert json.loads(updated.attributes) == {"role": "vip"}

    assert await participants(agent.sid).delete_async()
    assert [p.sid for p in await participants.list_async()] == [sms.sid, whatsapp.sid]

    with pytest.raises(TwilioRestException) as mixed:
        await participants.create_async(
            messaging_binding_address=BOB, messaging_binding_proxy_address=BOT_WA
        )
    assert mixed.value.status == 400


async def test_group_mms_projected_address(client: Client, sandbox: Sandbox) -> None:
    conversation = await conversations(client).create_async(friendly_name="Group MMS")
    participants = conversations(client)(conversation.sid).participants
    agent = await participants.create_async(
        identity="agent-1", messaging_binding_projected_address=BOT
    )
    alice = await participants.create_async(messaging_binding_address=ALICE)
    bob = await participants.create_async(messaging_binding_address=BOB)
    assert agent.messaging_binding == {"type": "sms", "projected_address": BOT}
    assert alice.messaging_binding == {"type": "sms", "address": ALICE}

    await conversations(client)(conversation.sid).messages.create_async(
        author="agent-1", body="Your table is ready"
    )
    await sandbox.settle()
    for phone in (ALICE, BOB):
        received = await transcript(sandbox, phone)
        assert [(m["from"], m["body"]) for m in received] == [(BOT, "Your table is ready")]
    assert bob.sid != alice.sid


async def test_one_binding_in_one_active_conversation_50416(client: Client) -> None:
    first = await conversations(client).create_async()
    second = await conversations(client).create_async()
    await conversations(client)(first.sid).participants.create_async(
        messaging_binding_address=ALICE, messaging_binding_proxy_address=BOT
    )
    with pytest.raises(TwilioRestException) as clash:
        await conversations(client)(second.sid).participants.create_async(
            messaging_binding_address=ALICE, messaging_binding_proxy_address=BOT
        )
    assert (clash.value.status, clash.value.code) == (409, 50416)
    assert first.sid in clash.value.msg

    # Another proxy address is another binding; closing the first conversation frees the pair.
    await conversations(client)(second.sid).participants.create_async(
        messaging_binding_address=ALICE, messaging_binding_proxy_address="+15550003333"
    )
    await conversations(client)(first.sid).update_async(state="closed")
    moved = await conversations(client)(second.sid).participants.create_async(
        messaging_binding_address=ALICE, messaging_binding_proxy_address=BOT
    )
    assert moved.conversation_sid == second.sid


async def test_duplicate_identity_50433(client: Client) -> None:
    conversation = await conversations(client).create_async()
    await conversations(client)(conversation.sid).participants.create_async(identity="sam")
    with pytest.raises(TwilioRestException) as duplicate:
        await conversations(client)(conversation.sid).participants.create_async(identity="sam")
    assert (duplicate.value.status, duplicate.value.code) == (409, 50433)


async def test_at_most_50_non_chat_participants(client: Client) -> None:
    conversation = await conversations(client).create_async()
    participants = conversations(client)(conversation.sid).participants
    for n in range(50):
        await participants.create_async(
            messaging_binding_address=f"+1555020{n:04d}", messaging_binding_proxy_address=BOT
        )
    with pytest.raises(TwilioRestException) as full:
        await participants.create_async(
            messaging_binding_address="+15550299999", messaging_binding_proxy_address=BOT
        )
    assert (full.value.status, full.value.code) == (400, 50418)
    assert "50" in full.value.msg
    # Chat participants do not count against the SMS/WhatsApp limit.
    await participants.create_async(identity="agent")


async def test_attribute_size_limits(client: Client) -> None:
    def sized(size: int) -> str:
        return json.dumps({"x": "a" * (size - 9)})  # {"x": ""} is 9 bytes

    assert len(sized(16 * 1024)) == 16 * 1024
    conversation = await conversations(client).create_async(attributes=sized(16 * 1024))
    with pytest.raises(TwilioRestException) as big:
        await conversations(client).create_async(attributes=sized(16 * 1024 + 1))
    assert (big.value.status, big.value.code) == (400, 50303)
    assert "16 KB" in big.value.msg

    participants = conversations(client)(conversation.sid).participants
    await participants.create_async(identity="ok", attributes=sized(4 * 1024))
    with pytest.raises(TwilioRestException) as big_participant:
        await participants.create_async(identity="big", attributes=sized(4 * 1024 + 1))
    assert "4 KB" in big_participant.value.msg

    messages = conversations(client)(conversation.sid).messages
    with pytest.raises(TwilioRestException) as big_message:
        await messages.create_async(body="hi", attributes=sized(4 * 1024 + 1))
    assert big_message.value.status == 400
    with pytest.raises(TwilioRestException) as not_json:
        await messages.create_async(body="hi", attributes="{not json")
    assert (not_json.value.status, not_json.value.code) == (400, 50304)


# Messages -----------------------------------------------------------------------------------


async def test_messages_create_list_page_update_delete(client: Client, sandbox: Sandbox) -> None:
    conversation = await conversations(client).create_async()
    messages = conversations(client)(conversation.sid).messages
    created = [await messages.create_async(body=f"m{i}") for i in range(7)]
    assert created[0].author == "system" and created[0].participant_sid is None
    assert [m.index for m in created] == list(range(7))
    assert created[0].delivery is None  # no phone participants

    listed = await messages.list_async(page_size=3)
    assert [m.body for m in listed] == [f"m{i}" for i in range(7)]
    newest_first = await messages.list_async(order="desc", limit=2)
    assert [m.body for m in newest_first] == ["m6", "m5"]

    status, page = await raw(
        sandbox, "GET", f"/v1/Conversations/{conversation.sid}/Messages?PageSize=3&Page=0"
    )
    assert status == 200 and page["meta"]["key"] == "messages"
    assert page["meta"]["next_page_url"].startswith(f"{sandbox.url}/v1/Conversations/")
    status, too_big = await raw(
        sandbox, "GET", f"/v1/Conversations/{conversation.sid}/Messages?PageSize=101"
    )
    assert status == 400 and "100" in too_big["message"]

    edited = await messages(created[1].sid).update_async(body="edited", attributes='{"e": 1}')
    assert edited.body == "edited" and edited.index == 1
    assert await messages(created[1].sid).delete_async()
    assert len(await messages.list_async()) == 6
    again = await messages.create_async(author="agent", body="after delete")
    assert again.index == 7  # indices never go back

    with pytest.raises(TwilioRestException) as empty:
        await messages.create_async(author="agent")
    assert (empty.value.status, empty.value.code) == (400, 50503)


# Webhooks -----------------------------------------------------------------------------------


async def test_account_level_post_webhooks_are_signed_with_twilio_fields(
    client: Client, sandbox: Sandbox, sink: WebhookSink
) -> None:
    config = await configure_webhooks(
        client,
        post_webhook_url=sink.url("/post"),
        method="POST",
        filters=[
            "onConversationAdded",
            "onConversationUpdated",
            "onConversationStateUpdated",
            "onConversationRemoved",
            "onParticipantAdded",
            "onParticipantRemoved",
            "onMessageAdded",
            "onMessageUpdated",
            "onMessageRemoved",
        ],
    )
    assert config.post_webhook_url == sink.url("/post") and config.method == "POST"
    fetched = await client.conversations.v1.configuration.webhooks().fetch_async()
    assert "onMessageAdded" in fetched.filters

    on = "true"
    conversation = await conversations(client).create_async(
        friendly_name="Hooks", x_twilio_webhook_enabled=on
    )
    participants = conversations(client)(conversation.sid).participants
    alice = await participants.create_async(
        messaging_binding_address=ALICE,
        messaging_binding_proxy_address=BOT,
        x_twilio_webhook_enabled=on,
    )
    messages = conversations(client)(conversation.sid).messages
    message = await messages.create_async(
        body="Hello", attributes='{"a": 1}', x_twilio_webhook_enabled=on
    )
    await messages.create_async(body="quiet: REST without the header fires nothing")
    await messages(message.sid).update_async(body="Hello!", x_twilio_webhook_enabled=on)
    # twilio-python 9.x drops X-Twilio-Webhook-Enabled on every delete (its _delete_async
    # rebuilds the headers empty), so deletes that should notify go over plain HTTP.
    base = f"/v1/Conversations/{conversation.sid}"
    await delete_notifying(sandbox, f"{base}/Messages/{message.sid}")
    await conversations(client)(conversation.sid).update_async(
        state="inactive", x_twilio_webhook_enabled=on
    )
    await delete_notifying(sandbox, f"{base}/Participants/{alice.sid}")
    await delete_notifying(sandbox, base)
    await sandbox.settle()

    hits = sink.at("/post")
    assert all(hit.signature_valid for hit in hits)
    assert all(hit.method == "POST" for hit in hits)
    assert [hit.event for hit in hits] == [
        "onConversationAdded",
        "onParticipantAdded",
        "onMessageAdded",
        "onMessageUpdated",
        "onMessageRemoved",
        "onConversationUpdated",
        "onConversationStateUpdated",
        "onParticipantRemoved",
        "onConversationRemoved",
    ]
    by_event = {hit.event: hit.params for hit in hits}
    added = by_event["onMessageAdded"]
    assert added["ConversationSid"] == conversation.sid
    assert added["MessageSid"] == message.sid
    assert added["Author"] == "system" and added["Body"] == "Hello" and added["Index"] == "0"
    assert added["Source"] == "API" and added["AccountSid"] == sandbox.config.account_sid
    assert added["ChatServiceSid"].startswith("IS")
    assert json.loads(added["Attributes"]) == {"a": 1}
    assert added["DateCreated"].endswith("Z") and "." in added["DateCreated"]
    assert "ParticipantSid" not in added  # system messages have no participant

    joined = by_event["onParticipantAdded"]
    assert joined["ParticipantSid"] == alice.sid
    assert joined["MessagingBinding.Address"] == ALICE
    assert joined["MessagingBinding.ProxyAddress"] == BOT

    state = by_event["onConversationStateUpdated"]
    assert (state["StateFrom"], state["StateTo"], state["Reason"]) == ("active", "inactive", "API")
    assert by_event["onConversationAdded"]["FriendlyName"] == "Hooks"


async def test_conversation_scoped_webhooks(
    client: Client, sandbox: Sandbox, sink: WebhookSink
) -> None:
    conversation = await conversations(client).create_async()
    webhooks = conversations(client)(conversation.sid).webhooks
    posted = await webhooks.create_async(
        target="webhook",
        configuration_url=sink.url("/scoped"),
        configuration_method="POST",
        configuration_filters=["onMessageAdded", "onParticipantAdded"],
    )
    fetched_by_get = await webhooks.create_async(
        target="webhook",
        configuration_url=sink.url("/scoped-get"),
        configuration_method="GET",
        configuration_filters=["onMessageAdded"],
    )
    trigger = await webhooks.create_async(
        target="trigger", configuration_url=sink.url("/trigger"), configuration_triggers=["help"]
    )
    assert posted.configuration["filters"] == ["onMessageAdded", "onParticipantAdded"]
    assert fetched_by_get.configuration["method"] == "get"
    assert [w.sid for w in await webhooks.list_async()] == [
        posted.sid,
        fetched_by_get.sid,
        trigger.sid,
    ]

    messages = conversations(client)(conversation.sid).messages
    await messages.create_async(body="hello there", x_twilio_webhook_enabled="true")
    await messages.create_async(body="I need help", x_twilio_webhook_enabled="true")
    await sandbox.settle()

    assert sink.events("/scoped") == ["onMessageAdded", "onMessageAdded"]
    gets = sink.at("/scoped-get")
    assert [hit.method for hit in gets] == ["GET", "GET"]
    assert all(hit.signature_valid for hit in sink.hits)
    assert [hit.params["Body"] for hit in sink.at("/trigger")] == ["I need help"]

    assert await webhooks(posted.sid).delete_async()
    await messages.create_async(body="after delete", x_twilio_webhook_enabled="true")
    await sandbox.settle()
    assert len(sink.at("/scoped")) == 2

    with pytest.raises(TwilioRestException) as bad_filter:
        await webhooks.create_async(
            target="webhook", configuration_url=sink.url("/x"), configuration_filters=["onNope"]
        )
    assert bad_filter.value.code == 50365


async def test_pre_event_webhook_rejects_or_rewrites_messages(
    client: Client, sandbox: Sandbox, sink: WebhookSink
) -> None:
    await configure_webhooks(
        client,
        pre_webhook_url=sink.url("/pre"),
        post_webhook_url=sink.url("/post"),
        filters=["onMessageAdd", "onMessageAdded"],
    )
    conversation = await conversations(client).create_async()
    messages = conversations(client)(conversation.sid).messages

    sink.answer("/pre", 403)
    with pytest.raises(TwilioRestException) as rejected:
        await messages.create_async(body="spam", x_twilio_webhook_enabled="true")
    assert rejected.value.status == 400 and "onMessageAdd" in rejected.value.msg
    assert await messages.list_async() == []
    assert sink.at("/pre")[0].params["Body"] == "spam"
    assert "MessageSid" not in sink.at("/pre")[0].params  # it does not exist yet

    sink.answer("/pre", 200, {"body": "[redacted]", "author": "moderator"})
    rewritten = await messages.create_async(body="my card is 4111", x_twilio_webhook_enabled="true")
    assert (rewritten.body, rewritten.author) == ("[redacted]", "moderator")

    # Without the header a REST message skips the pre-event, as Twilio does.
    sink.answer("/pre", 403)
    await messages.create_async(body="unchecked")

    # A phone's text is dropped when the pre-event rejects it; nothing reaches SmsUrl either.
    sandbox.own_number(BOT, sink.url("/sms"))
    await conversations(client)(conversation.sid).participants.create_async(
        messaging_binding_address=ALICE, messaging_binding_proxy_address=BOT
    )
    await phone_texts(sandbox, ALICE, BOT, "buy now")
    await sandbox.settle()
    assert [m.body for m in await messages.list_async()] == ["[redacted]", "unchecked"]
    assert sink.at("/sms") == []
    assert sink.events("/post") == ["onMessageAdded"]
    assert all(hit.signature_valid for hit in sink.hits)


async def test_pre_event_webhook_can_refuse_conversations_and_participants(
    client: Client, sandbox: Sandbox, sink: WebhookSink
) -> None:
    await configure_webhooks(
        client, pre_webhook_url=sink.url("/pre"), filters=["onConversationAdd", "onParticipantAdd"]
    )
    sink.answer("/pre", 500)
    with pytest.raises(TwilioRestException):
        await conversations(client).create_async(x_twilio_webhook_enabled="true")
    assert await conversations(client).list_async() == []

    conversation = await conversations(client).create_async()  # no header: no pre-event
    with pytest.raises(TwilioRestException) as refused:
        await conversations(client)(conversation.sid).participants.create_async(
            identity="intruder", x_twilio_webhook_enabled="true"
        )
    assert "onParticipantAdd" in refused.value.msg
    assert await conversations(client)(conversation.sid).participants.list_async() == []
    assert sink.events("/pre") == ["onConversationAdd", "onParticipantAdd"]
    assert sink.at("/pre")[1].params["Identity"] == "intruder"


async def test_conversation_message_is_delivered_to_phone_participants(
    client: Client, sandbox: Sandbox
) -> None:
    conversation = await conversations(client).create_async()
    participants = conversations(client)(conversation.sid).participants
    await participants.create_async(
        messaging_binding_address=ALICE, messaging_binding_proxy_address=BOT
    )
    await participants.create_async(identity="agent")
    message = await conversations(client)(conversation.sid).messages.create_async(
        author="agent", body="Your order shipped"
    )
    assert message.participant_sid is not None
    await sandbox.settle()

    received = await transcript(sandbox, ALICE)
    assert len(received) == 1
    sms = received[0]
    assert (sms["from"], sms["to"], sms["body"]) == (BOT, ALICE, "Your order shipped")
    assert sms["direction"] == "outbound-api" and sms["status"] == "delivered"

    fetched = await conversations(client)(conversation.sid).messages(message.sid).fetch_async()
    assert fetched.delivery["total"] == 1 and fetched.delivery["delivered"] == "all"


async def test_phone_text_becomes_conversation_message(
    client: Client, sandbox: Sandbox, sink: WebhookSink
) -> None:
    sandbox.own_number(BOT, sink.url("/sms"))
    await configure_webhooks(client, post_webhook_url=sink.url("/post"), filters=["onMessageAdded"])
    conversation = await conversations(client).create_async()
    participants = conversations(client)(conversation.sid).participants
    alice = await participants.create_async(
        messaging_binding_address=ALICE, messaging_binding_proxy_address=BOT
    )
    await participants.create_async(
        messaging_binding_address=BOB, messaging_binding_proxy_address=BOT
    )

    await phone_texts(sandbox, ALICE, BOT, "Is my order late?")
    await sandbox.settle()

    listed = await conversations(client)(conversation.sid).messages.list_async()
    assert [(m.author, m.body, m.participant_sid) for m in listed] == [
        (ALICE, "Is my order late?", alice.sid)
    ]
    assert sink.at("/sms") == []  # routed into the conversation, not to the number's SmsUrl
    [hook] = sink.at("/post")
    assert hook.signature_valid
    assert hook.params["Source"] == "SMS" and hook.params["Author"] == ALICE
    assert hook.params["ParticipantSid"] == alice.sid
    assert hook.params["MessagingBinding.Address"] == ALICE
    # Relayed to the other phone participant, not echoed back to its author.
    assert [(m["from"], m["body"]) for m in await transcript(sandbox, BOB)] == [
        (BOT, "Is my order late?")
    ]
    assert [m["direction"] for m in await transcript(sandbox, ALICE)] == ["inbound"]

    # Once the conversation is closed the binding is free: texts go to SmsUrl again.
    await conversations(client)(conversation.sid).update_async(state="closed")
    await phone_texts(sandbox, ALICE, BOT, "hello?")
    await sandbox.settle()
    assert [hit.params["Body"] for hit in sink.at("/sms")] == ["hello?"]


async def test_whatsapp_participant_round_trip(
    client: Client, sandbox: Sandbox, sink: WebhookSink
) -> None:
    await configure_webhooks(client, post_webhook_url=sink.url("/post"), filters=["onMessageAdded"])
    conversation = await conversations(client).create_async()
    await conversations(client)(conversation.sid).participants.create_async(
        messaging_binding_address=CAROL_WA, messaging_binding_proxy_address=BOT_WA
    )
    messages = conversations(client)(conversation.sid).messages
    early = await messages.create_async(body="Hi, this is the shop")
    await sandbox.settle()
    # Free-form WhatsApp before the user ever wrote: the delivery fails like Twilio's (63016).
    [failed] = await transcript(sandbox, CAROL_WA)
    assert (failed["status"], failed["error_code"]) == ("failed", 63016)
    assert (await messages(early.sid).fetch_async()).delivery["failed"] == "all"

    await phone_texts(sandbox, CAROL_WA, BOT_WA, "hola")
    await sandbox.settle()
    assert sink.at("/post")[0].params["Source"] == "WHATSAPP"

    await messages.create_async(body="¡Hola!")
    await sandbox.settle()
    replies = [m for m in await transcript(sandbox, CAROL_WA) if m["direction"] != "inbound"]
    assert [(r["from"], r["body"], r["status"]) for r in replies] == [
        (BOT_WA, "Hi, this is the shop", "failed"),
        (BOT_WA, "¡Hola!", "delivered"),  # inside the 24 h window opened by "hola"
    ]


async def test_timers_move_conversations_to_inactive_then_closed(
    client: Client, sandbox: Sandbox, sink: WebhookSink
) -> None:
    await configure_webhooks(
        client, post_webhook_url=sink.url("/post"), filters=["onConversationStateUpdated"]
    )
    conversation = await conversations(client).create_async(
        timers_inactive="PT0.2S", timers_closed="PT0.5S"
    )
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(sink.at("/post")) == 2:
            break
    fetched = await conversations(client)(conversation.sid).fetch_async()
    assert fetched.state == "closed" and fetched.timers == {}
    transitions = [
        (hit.params["StateFrom"], hit.params["StateTo"], hit.params["Reason"])
        for hit in sink.at("/post")
    ]
    assert transitions == [("active", "inactive", "TIMER"), ("inactive", "closed", "TIMER")]


# The sync client ----------------------------------------------------------------------------


async def test_sync_client_works_too(sandbox: Sandbox) -> None:
    def scenario() -> tuple[str, list[str], list[str]]:
        twilio = create_sync_client(
            sandbox.config.account_sid, sandbox.config.auth_token, sandbox.url
        )
        try:
            conversation = twilio.conversations.v1.conversations.create(friendly_name="sync")
            handle = twilio.conversations.v1.conversations(conversation.sid)
            handle.participants.create(identity="sync-agent")
            for body in ("one", "two", "three"):
                handle.messages.create(author="sync-agent", body=body)
            bodies = [m.body for m in handle.messages.list(page_size=2)]
            identities = [p.identity for p in handle.participants.list()]
            return conversation.friendly_name, bodies, identities
        finally:
            twilio.http_client.session.close()

    name, bodies, identities = await asyncio.to_thread(scenario)
    assert (name, bodies, identities) == ("sync", ["one", "two", "three"], ["sync-agent"])


# Conformance with Twilio's OpenAPI description ----------------------------------------------


async def test_every_conversations_response_conforms_to_the_oai(
    sandbox: Sandbox, sink: WebhookSink
) -> None:
    spec = oai.load_spec(oai.CONVERSATIONS_V1)
    checked: list[str] = []

    async def call(
        method: str, path: str, data: list[tuple[str, str]] | None = None, expect: int = 200
    ) -> Any:
        status, body = await raw(sandbox, method, path, data)
        assert status == expect, body
        bare = path.split("?")[0]
        schema = oai.response_schema(spec, method, bare, status, closed=True)
        if schema is None:
            assert body is None
        else:
            assert oai.errors(body, schema) == [], f"{method} {path}"
        checked.append(f"{method} {bare}")
        return body

    conversation = await call(
        "POST",
        "/v1/Conversations",
        [
            ("FriendlyName", "Conformance"),
            ("UniqueName", "conformance"),
            ("Attributes", '{"k": "v"}'),
            ("MessagingServiceSid", "MG" + "b" * 32),
            ("Timers.Inactive", "PT1H"),
            ("Timers.Closed", "P1D"),
        ],
        expect=201,
    )
    base = f"/v1/Conversations/{conversation['sid']}"
    await call("POST", "/v1/Conversations", [], expect=201)
    await call("GET", base)
    await call("GET", "/v1/Conversations/conformance")
    await call("POST", base, [("FriendlyName", "Renamed"), ("State", "inactive")])
    await call("GET", "/v1/Conversations?PageSize=1")

    sms = await call(
        "POST",
        base + "/Participants",
        [("MessagingBinding.Address", ALICE), ("MessagingBinding.ProxyAddress", BOT)],
        expect=201,
    )
    await call("POST", base + "/Participants", [("Identity", "agent")], expect=201)
    await call(
        "POST",
        base + "/Participants",
        [("Identity", "projected"), ("MessagingBinding.ProjectedAddress", "+15550004444")],
        expect=201,
    )
    await call("GET", base + "/Participants")
    await call("GET", f"{base}/Participants/{sms['sid']}")
    await call("POST", f"{base}/Participants/{sms['sid']}", [("Attributes", '{"vip": true}')])

    message = await call(
        "POST", base + "/Messages", [("Author", "agent"), ("Body", "hi")], expect=201
    )
    await call(
        "POST", base + "/Messages", [("MediaSid", "ME" + "c" * 32), ("Body", "")], expect=201
    )
    await sandbox.settle()
    await call("GET", base + "/Messages?PageSize=1")
    await call("GET", f"{base}/Messages/{message['sid']}")
    await call("POST", f"{base}/Messages/{message['sid']}", [("Body", "edited")])

    hook = await call(
        "POST",
        base + "/Webhooks",
        [
            ("Target", "webhook"),
            ("Configuration.Url", sink.url("/scoped")),
            ("Configuration.Method", "POST"),
            ("Configuration.Filters", "onMessageAdded"),
            ("Configuration.Filters", "onParticipantAdded"),
        ],
        expect=201,
    )
    await call("GET", base + "/Webhooks")
    await call("GET", f"{base}/Webhooks/{hook['sid']}")
    await call("GET", "/v1/Configuration/Webhooks")
    await call(
        "POST",
        "/v1/Configuration/Webhooks",
        [("PostWebhookUrl", sink.url("/post")), ("Filters", "onMessageAdded"), ("Method", "GET")],
    )

    await call("DELETE", f"{base}/Webhooks/{hook['sid']}", expect=204)
    await call("DELETE", f"{base}/Messages/{message['sid']}", expect=204)
    await call("DELETE", f"{base}/Participants/{sms['sid']}", expect=204)
    await call("DELETE", base, expect=204)

    # Errors have Twilio's shape.
    for method, path, data, status in [
        ("GET", base, None, 404),
        ("POST", "/v1/Conversations", [("Attributes", "{")], 400),
        ("GET", "/v1/Conversations?PageSize=0", None, 400),
    ]:
        got, body = await raw(sandbox, method, path, data)
        assert got == status
        assert oai.errors(body, oai.TWILIO_ERROR_SCHEMA) == [], body

    assert len(set(checked)) >= 20

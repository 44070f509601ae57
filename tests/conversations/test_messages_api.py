"""ConversationsClient: sending conversation messages and reading them back page by page."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.rest.content.v1.content import ContentList

from botkit.conversations.client import ConversationsClient
from botkit.conversations.errors import AttributesTooLarge, ConversationClosed, ConversationsError
from tests.conversations.conftest import ALICE, BOT
from tests.support.sandbox_twilio import SandboxTwilio


async def conversation_with_messages(conversations: ConversationsClient, count: int) -> str:
    ch = (await conversations.create()).sid
    for i in range(count):
        await conversations.send(ch, f"m{i}")
    return ch


async def test_send_with_author_and_attributes(
    conversations: ConversationsClient, sdk: Any, twilio: SandboxTwilio
) -> None:
    ch = (await conversations.create()).sid
    alice = await conversations.add_sms(ch, ALICE, BOT)
    agent = await conversations.add_chat(ch, "agent")

    system = await conversations.send(ch, "Welcome")
    assert (system.author, system.participant_sid, system.index) == ("system", None, 0)
    said = await conversations.send(ch, "How can I help?", author="agent", attributes={"k": 1})
    assert (said.author, said.participant_sid, said.index) == ("agent", agent.sid, 1)
    assert said.attributes == {"k": 1} and said.body == "How can I help?"

    fetched = await sdk.conversations.v1.conversations(ch).messages(said.sid).fetch_async()
    assert fetched.author == "agent" and fetched.body == "How can I help?"
    # Both reached the phone participant as SMS from the proxy number.
    await twilio.sandbox.settle()
    assert [(m.to, m.record.from_, m.body) for m in twilio.sent] == [
        (ALICE, BOT, "Welcome"),
        (ALICE, BOT, "How can I help?"),
    ]
    assert alice.kind == "sms"


async def test_media_and_content_templates(
    conversations: ConversationsClient, sdk: Any, twilio: SandboxTwilio
) -> None:
    ch = (await conversations.create()).sid
    await conversations.add_sms(ch, ALICE, BOT)
    media_sid = "ME" + "1" * 32
    with_media = await conversations.send(ch, media_sid=media_sid)
    assert [item.sid for item in with_media.media] == [media_sid]

    template = await sdk.content.v1.contents.create_async(
        ContentList.ContentCreateRequest(
            {"language": "en", "types": {"twilio/text": {"body": "Hi {{1}}, order {{2}}"}}}
        )
    )
    templated = await conversations.send(
        ch, content_sid=template.sid, content_variables={"1": "Ann", "2": "42"}
    )
    assert templated.content_sid == template.sid
    await twilio.sandbox.settle()
    assert twilio.sent[-1].body == "Hi Ann, order 42"

    with pytest.raises(ValueError, match="needs a body"):
        await conversations.send(ch)


async def test_list_messages_follows_pages_lazily(conversations: ConversationsClient) -> None:
    ch = await conversation_with_messages(conversations, 7)
    bodies = [m.body async for m in conversations.list_messages(ch, page_size=3)]
    assert bodies == [f"m{i}" for i in range(7)]
    indices = [m.index async for m in conversations.list_messages(ch, page_size=2, order="desc")]
    assert indices == [6, 5, 4, 3, 2, 1, 0]
    first = [m.body async for m in conversations.list_messages(ch, page_size=2, limit=3)]
    assert first == ["m0", "m1", "m2"]
    with pytest.raises(ValueError, match="page_size"):
        conversations.list_messages(ch, page_size=0)


async def test_message_page_cursor_walks_every_page(conversations: ConversationsClient) -> None:
    ch = await conversation_with_messages(conversations, 5)
    pages: list[list[str | None]] = []
    cursor: str | None = None
    while True:
        page = await conversations.message_page(ch, page_size=2, after=cursor)
        pages.append([m.body for m in page.messages])
        if page.next_page is None:
            break
        assert "twilio.com" not in page.next_page and "http" not in page.next_page
        cursor = page.next_page
    assert pages == [["m0", "m1"], ["m2", "m3"], ["m4"]]

    newest = await conversations.message_page(ch, page_size=2, order="desc")
    assert [m.body for m in newest.messages] == ["m4", "m3"]
    with pytest.raises(ConversationsError, match="cursor"):
        await conversations.message_page(ch, after="https://evil.example/steal")


async def test_message_attributes_up_to_4_kb(conversations: ConversationsClient, sdk: Any) -> None:
    ch = (await conversations.create()).sid
    overhead = len(b'{"x":""}')
    sent = await conversations.send(ch, "fits", attributes={"x": "a" * (4096 - overhead)})
    assert len(sent.attributes["x"]) == 4096 - overhead
    with pytest.raises(AttributesTooLarge) as big:
        await conversations.send(ch, "too big", attributes={"x": "a" * (4097 - overhead)})
    assert (big.value.status, big.value.owner, big.value.limit) == (None, "message", 4096)
    assert [m.body async for m in conversations.list_messages(ch)] == ["fits"]

    unchecked = ConversationsClient(sdk, check_limits=False)
    with pytest.raises(AttributesTooLarge) as refused:
        await unchecked.send(ch, "too big", attributes={"x": "a" * (4097 - overhead)})
    assert (refused.value.status, refused.value.code) == (400, 50303)


async def test_a_closed_conversation_takes_no_messages(conversations: ConversationsClient) -> None:
    ch = (await conversations.create()).sid
    await conversations.close(ch)
    with pytest.raises(ConversationClosed) as closed:
        await conversations.send(ch, "anyone?")
    assert closed.value.code == 50377

"""One person's data exported and erased (issue 18), end to end with the support bot: a
customer talks to the bot, opens a ticket, is handed to an agent, rates the chat and texts
STOP; then everything held about them is exported, erased, and looked for everywhere. An agent
who works from their phone is a person too: their number is kept only where docs/privacy.md
says, and found, exported and erased the same way.

Runs on the memory stores and on a real Redis alike (tests/bots/conftest.py).
"""

from __future__ import annotations

import json
import re
import sys

import pytest
import structlog
from redis.asyncio import Redis

from botkit.logging import configure_logging
from botkit.runtime.privacy import Privacy, is_empty
from botkit.runtime.privacy_twilio import TwilioRecords
from botkit.testing import Tester
from bots.support import Support, build
from tests.support.logs import JsonLogs
from tests.support.traces import memory_traces, redis_traces

CUSTOMER = "+15550004567"
MASKED = "+1555***4567"
BYSTANDER = "+15550007788"
#: An agent who works from their phone: the pool names them by their number.
AGENT = "+15550109000"
#: Where an agent's number may be while they work (docs/privacy.md, "Agents"): the record of
#: the conversation they hold, that conversation's history and participant mirror, and the
#: notices queued to their phone. Never in a key, and nowhere else.
AGENT_AT_WORK = {
    "record": re.compile(r"^\{support:handoff\}:rec:CH\w+$"),
    "history": re.compile(r"^\{support:history:conversation:CH\w+\}:log$"),
    "mirror": re.compile(r"^\{support:conv:CH\w+\}:participants$"),
    "notice": re.compile(r"^\{botkit:consent\}:out:support:job:\w+$"),
}
#: The same, as the memory stores hold it.
AGENT_AT_WORK_IN_MEMORY = {"handoffs", "history", "mirror", "queue"}
#: What the customer said, and was told, that only they and the agent know.
BODIES = (
    "the lid of my teapot arrived cracked",
    "My marmalade tea never came",
    "A new tin of marmalade tea is on its way",
)


@pytest.fixture
def support() -> Support:
    return build(agents=["agent"])


@pytest.fixture
def bot(support: Support) -> object:
    return support.bot


async def a_full_conversation(tester: Tester) -> None:
    phone = tester.phone(CUSTOMER)
    other = tester.phone(BYSTANDER)
    agent = tester.agent("agent")
    await phone.send("hello")
    await phone.expect_reply(contains="I am the Acme support bot")
    await phone.send(f"Ticket: {BODIES[0]}")
    await phone.expect_reply(contains="is open")
    await other.send("Ticket: my kettle whistles out of tune")
    await other.expect_reply(contains="is open")
    await phone.send("I want a person")
    await phone.expect_reply(contains="You are now chatting with agent")
    await agent.expect_message(contains="You are now chatting", author="bot")
    await phone.send(BODIES[1])
    await agent.expect_message(equals=BODIES[1])
    await agent.say(BODIES[2])
    await phone.expect_reply(equals=BODIES[2])
    await agent.say("/close")
    await phone.expect_reply(contains="This chat is now closed")
    await phone.expect_reply(contains="How did we do?")
    await phone.send("4")
    await phone.expect_reply(contains="Thank you for rating us 4/5")
    await phone.send("STOP")
    await tester.settle()


async def an_agent_at_work(tester: Tester) -> str:
    """A customer handed to the phone agent, who writes to them and then goes away; the
    conversation's SID."""
    phone = tester.phone(CUSTOMER)
    agent = tester.phone(AGENT)
    await phone.send("I want a person")
    await phone.expect_reply(contains=f"You are now chatting with {AGENT}")
    await agent.send("Hi, Sam here. Let me look at your order.")
    await phone.expect_reply(contains="Sam here")
    await phone.send(BODIES[1])
    await agent.send("/away")
    await tester.settle()
    told = [m.body for m in agent.replies]
    assert BODIES[1] in told and any(t.startswith("New conversation: +1555***4567") for t in told)
    (held,) = await tester.runtime.stores.handoffs.holding(AGENT)
    return held.conversation_sid


async def test_an_agents_number_is_kept_only_where_documented_and_erased(
    botkit_redis_url: str | None,
) -> None:
    """Issue 18: after handoff activity of an agent named by their phone number, a full scan
    finds their number only in the records docs/privacy.md lists (none of them a key); their
    export shows their presence, the conversation they hold and what they were told; their
    erase leaves no trace, and their customer waits for the next agent."""
    async with Tester(build(agents=[AGENT]).bot, redis_url=botkit_redis_url) as tester:
        conversation = await an_agent_at_work(tester)
        digits = AGENT.lstrip("+")
        found = await _traces(tester, botkit_redis_url, [digits])
        if botkit_redis_url is None:
            assert {hit.split(":")[0] for hit in found} <= AGENT_AT_WORK_IN_MEMORY, found
        else:
            keys = [hit.rsplit(": ", 1)[0] for hit in found]
            kinds = {k for key in keys for k, where in AGENT_AT_WORK.items() if where.match(key)}
            assert kinds == set(AGENT_AT_WORK), found
            assert all(any(w.match(key) for w in AGENT_AT_WORK.values()) for key in keys), found

        privacy = tester.runtime.privacy
        exported = await privacy.export(AGENT)
        assert exported["handoffs"] == [
            {"role": "agent", "presence": "away", "holding": [conversation]}
        ]
        pseudonym = tester.runtime.stores.hasher.pseudonym(AGENT)
        notices = [r for r in exported["handoff_history"] if r["thread"] == f"agent:{pseudonym}"]
        assert notices[0]["text"].startswith("New conversation: +1555***4567")

        removed = await privacy.erase(AGENT)
        assert removed["handoffs"] == 2  # the conversation they held, and their presence
        assert await _traces(tester, botkit_redis_url, [digits]) == []
        record = await tester.runtime.stores.handoffs.get(conversation)
        assert record is not None and (record.mode, record.agent) == ("queued", None)
        assert is_empty(await privacy.export(AGENT))


async def test_export_then_erase_then_export_leaves_only_consent(
    tester: Tester, support: Support
) -> None:
    await a_full_conversation(tester)
    privacy = tester.runtime.privacy

    exported = await privacy.export(CUSTOMER)
    json.dumps(exported)  # one JSON document
    assert exported["number"] == CUSTOMER
    for part in ("sessions", "outbound_messages", "conversations", "handoff_history"):
        assert exported[part], part
    assert exported["consent"]["opted_out"] and exported["consent"]["history"]
    mine = exported["bot"]["export_person"]
    assert [t["summary"] for t in mine["tickets"]] == [BODIES[0]]
    assert [r["rating"] for r in mine["ratings"]] == [4]
    assert BODIES[1] in json.dumps(exported["handoff_history"])
    assert not is_empty(exported)

    removed = await privacy.erase(CUSTOMER)
    assert removed["sessions"] and removed["outbound_messages"] and removed["conversations"]
    assert removed["bot:erase_person"] == 2  # the ticket and the rating
    assert sum((await privacy.erase(CUSTOMER)).values()) == 0  # idempotent

    after = await privacy.export(CUSTOMER)
    assert is_empty(after), after
    assert after["consent"] == exported["consent"]  # the STOP survives
    assert [e["removed"]["bot:erase_person"] for e in after["erasures"]] == [2, 0]
    # The bystander keeps everything.
    theirs = (await privacy.export(BYSTANDER))["bot"]["export_person"]["tickets"]
    assert [t["summary"] for t in theirs] == ["my kettle whistles out of tune"]


async def test_after_an_erase_no_store_holds_a_trace_of_the_person(
    tester: Tester, botkit_redis_url: str | None
) -> None:
    await a_full_conversation(tester)
    stores = tester.runtime.stores
    # Their pseudonym too: what is keyed by it alone (sessions, windows, effects) must go.
    needles = (CUSTOMER.lstrip("+"), MASKED, *BODIES, stores.hasher.pseudonym(CUSTOMER))
    before = await _traces(tester, botkit_redis_url, needles)
    assert before  # the check can see them
    assert await _traces(tester, botkit_redis_url, [needles[-1]])  # the pseudonym as well

    await tester.runtime.privacy.erase(CUSTOMER)

    assert await _traces(tester, botkit_redis_url, needles) == []
    # The bystander's data is untouched, so the scan would have seen a survivor.
    assert await _traces(tester, botkit_redis_url, [BYSTANDER.lstrip("+")])
    # The STOP survives, hashed.
    (standing,) = [e for e in await stores.ledger.entries() if e.masked == MASKED]
    assert await stores.ledger.is_opted_out(CUSTOMER, [standing.scope])


async def _traces(
    tester: Tester, url: str | None, needles: tuple[str, ...] | list[str]
) -> list[str]:
    if url is None:
        return memory_traces(tester.runtime.stores, needles)
    redis = Redis.from_url(url)
    try:
        return await redis_traces(redis, needles)
    finally:
        await redis.aclose()


async def test_logs_never_hold_a_number_and_bodies_only_at_debug(
    tester: Tester, logs: JsonLogs
) -> None:
    """The captured logs of the whole conversation, at debug level: no number whole at any
    level, no body above debug."""
    configure_logging("json", "debug")
    structlog.configure(logger_factory=lambda *_: structlog.PrintLogger(sys.stdout))
    await a_full_conversation(tester)
    lines = logs.take()
    assert len(lines) >= 10
    for line in lines:
        text = json.dumps(line)
        assert CUSTOMER.lstrip("+") not in text and BYSTANDER.lstrip("+") not in text, line
        if line["level"] != "debug":
            assert not [body for body in BODIES if body in text], line


async def test_with_twilio_their_messages_are_listed_then_deleted(tester: Tester) -> None:
    """``--with-twilio``: the messages Twilio (here the sandbox, through the SDK) keeps to and
    from the person are exported, then deleted by the erase; the bystander's stay."""
    await a_full_conversation(tester)
    runtime = tester.runtime
    privacy = Privacy(runtime.stores, runtime.bot, twilio=TwilioRecords(runtime.twilio))

    exported = await privacy.export(CUSTOMER)
    listed = exported["twilio"]["messages"]
    assert {m["body"] for m in listed} >= {"hello", f"Ticket: {BODIES[0]}"}
    assert all(CUSTOMER in (m["to"] + m["from"]) for m in listed)

    conversation = exported["conversations"][0]["conversation_sid"]
    removed = await privacy.erase(CUSTOMER)
    assert removed["twilio_messages"] == len(listed)
    assert removed["twilio_participants"] == 1  # they left the conversation on Twilio
    left = await runtime.conversations.client.list_participants(conversation)
    assert CUSTOMER not in json.dumps([p.model_dump(mode="json") for p in left])
    assert (await privacy.export(CUSTOMER))["twilio"]["messages"] == []
    assert await TwilioRecords(runtime.twilio).messages(tester.runtime.stores.hasher.person(
        BYSTANDER
    ))

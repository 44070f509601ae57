"""The agent desk's HTTP side: a token on every request, a conversation only for the agent
who has it, the actions, one-line 4xx answers for bad input, and the live feed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import ClientResponse

from botkit import Agent, AgentPool, Bot, ConfigError, Context
from botkit.handoff.history.protocol import conversation_thread
from tests.support.handoff_stack import HandoffStack, MakeStack

ALICE = "+15550101001"
BOB = "+15550101002"
TOKENS = {"ann": "ann-token-0123456789", "bea": "bea-token-0123456789"}


def team_bot() -> Bot:
    bot = Bot(
        "team",
        agents=AgentPool([Agent("ann"), Agent("bea", skills=["general", "billing"])], capacity=1),
    )

    @bot.intent("order", keywords=["order"])
    async def order(ctx: Context) -> None:
        ctx.session["order"] = "10042"
        await ctx.reply("Order 10042 ships tomorrow.")

    @bot.intent("human", keywords=["agent"])
    async def human(ctx: Context) -> None:
        await ctx.handoff(reason="asked for a person")

    return bot


async def call(
    d: HandoffStack, method: str, path: str, agent: str | None = "ann", **body: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKENS[agent]}"} if agent else {}
    data = json.dumps(body) if body else None
    response: ClientResponse = await d.server.client.request(
        method, f"/desk/api/{path}", headers=headers, data=data
    )
    return response.status, await response.json()


@pytest.fixture
async def d(handoff_stack: MakeStack, store_url: str | None) -> HandoffStack:
    return await handoff_stack(team_bot(), store_url, desk_tokens=TOKENS)


async def test_every_request_needs_an_agents_token(d: HandoffStack) -> None:
    page = await d.server.client.get("/desk/")
    assert page.status == 200 and "Agent desk" in await page.text()
    script = await d.server.client.get("/desk/static/desk.js")
    assert script.status == 200
    assert await call(d, "GET", "state", agent=None) == (
        401,
        {"error": "sign in: an agent token is required"},
    )
    wrong = await d.server.client.get(
        "/desk/api/state", headers={"Authorization": "Bearer not-a-token-at-all"}
    )
    assert wrong.status == 401
    events = await d.server.client.get("/desk/api/events")
    assert events.status == 401
    status, state = await call(d, "GET", "state")
    assert status == 200
    assert state["me"] == {
        "agent": "ann",
        "presence": "available",
        "load": 0,
        "capacity": 1,
        "skills": ["general"],
    }
    assert [q["skill"] for q in state["queues"]] == ["billing", "general"]


async def test_a_conversation_is_only_for_the_agent_who_has_it(d: HandoffStack) -> None:
    await d.text(ALICE, "where is my order")
    await d.text(ALICE, "agent")
    (record,) = await d.handoff.store.holding("ann")
    sid = record.conversation_sid
    status, shown = await call(d, "GET", f"conversations/{sid}")
    assert status == 200
    kinds = [(e["kind"], e["role"], e["text"]) for e in shown["entries"]]
    assert kinds[:4] == [
        ("turn", "customer", "where is my order"),
        ("turn", "bot", "Order 10042 ships tomorrow."),
        ("turn", "customer", "agent"),
        ("handoff", "system", "asked for a person"),
    ]
    assert shown["entries"][3]["data"] == {"summary": {"order": "10042"}}
    assert shown["entries"][0]["author"] is None
    # bea may not read it, write in it, close it or move it; and nobody reads a made-up one.
    for method, path, body in [
        ("GET", f"conversations/{sid}", {}),
        ("POST", f"conversations/{sid}/messages", {"text": "hi"}),
        ("POST", f"conversations/{sid}/close", {}),
        ("POST", f"conversations/{sid}/transfer", {"to": "bea"}),
    ]:
        assert await call(d, method, path, agent="bea", **body) == (
            403,
            {"error": "not your conversation"},
        )
    assert (await call(d, "GET", "conversations/CH" + "0" * 32))[0] == 404

    # Once ann transfers it to bea, it is bea's, with its history.
    assert await call(d, "POST", f"conversations/{sid}/transfer", to="bea", note="VIP") == (
        200,
        {"told": "Transferred to bea."},
    )
    status, seen_by_bea = await call(d, "GET", f"conversations/{sid}", agent="bea")
    assert status == 200 and seen_by_bea["entries"][0]["text"] == "where is my order"
    assert (await call(d, "GET", f"conversations/{sid}"))[0] == 403


async def test_messages_commands_take_next_close_and_presence(d: HandoffStack) -> None:
    await d.text(ALICE, "agent")
    await d.text(BOB, "agent")  # ann and bea take one each
    (alice,) = await d.handoff.store.holding("ann")
    sid = alice.conversation_sid
    assert await call(d, "POST", f"conversations/{sid}/messages", text="Hi Alice", id="m1") == (
        202,
        {"command": False},
    )
    assert await call(d, "POST", f"conversations/{sid}/messages", text="Hi Alice", id="m1") == (
        202,
        {"command": False},
    )  # the same message again (a retry): posted once
    await d.settle()
    assert await call(d, "POST", f"conversations/{sid}/messages", text="/note VIP") == (
        202,
        {"command": True},
    )
    await d.settle()
    assert (await d.received(ALICE)).count("Hi Alice") == 1
    assert not [body for body in await d.received(ALICE) if body.startswith("/")]
    history = await d.server.runtime.stores.history.read(conversation_thread(sid))
    assert [(e.kind, e.author, e.text) for e in history if e.role == "agent"] == [
        ("message", "ann", "Hi Alice"),
        ("note", "ann", "VIP"),
    ]
    assert [n.text for n in await d.handoff.notices.of("ann")][-1] == "Noted."

    assert await call(d, "POST", "presence", presence="away") == (200, {"presence": "away"})
    assert (await call(d, "GET", "state"))[1]["me"]["presence"] == "away"
    await d.text("+15550101003", "agent")  # nobody free: waits
    assert await call(d, "POST", f"conversations/{sid}/close") == (200, {"closed": sid})
    await d.settle()
    # ann is away: the close freed her, but she took no one; by hand she does.
    status, state = await call(d, "GET", "state")
    assert state["me"]["load"] == 0 and len(state["queues"][1]["waiting"]) == 1
    assert state["queues"][1]["length"] == 1
    status, taken = await call(d, "POST", "next")
    assert status == 200 and taken["conversation_sid"] is not None
    assert await call(d, "POST", "next") == (200, {"conversation_sid": None})


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("presence", "not json", "body is not valid JSON"),
        ("presence", "[1]", "JSON body must be an object"),
        (
            "presence",
            '{"presence": "asleep"}',
            "presence: one of available, away, offline, not 'asleep'",
        ),
        ("presence", "{}", "presence: a non-empty string is required"),
    ],
)
async def test_bad_input_is_a_400_with_one_line(
    d: HandoffStack, path: str, body: str, error: str
) -> None:
    response = await d.server.client.post(
        f"/desk/api/{path}", data=body, headers={"Authorization": f"Bearer {TOKENS['ann']}"}
    )
    assert response.status == 400
    assert await response.json() == {"error": error}


async def test_bad_messages_and_transfers_are_refused(d: HandoffStack) -> None:
    await d.text(ALICE, "agent")
    (alice,) = await d.handoff.store.holding("ann")
    path = f"conversations/{alice.conversation_sid}"
    assert (await call(d, "POST", f"{path}/messages", text="x" * 1601))[0] == 400
    assert (await call(d, "POST", f"{path}/messages", text="  "))[0] == 400
    assert await call(d, "POST", f"{path}/transfer", to="@Legal Team") == (
        200,
        {
            "told": "skill 'Legal Team': lower-case letters, digits, '-' and '_' (like "
            "'billing'); nothing was transferred."
        },
    )
    assert await call(d, "POST", f"{path}/transfer", to="@legal") == (
        200,
        {"told": "No agent takes @legal conversations; nothing was transferred."},
    )


async def test_the_live_feed_sends_state_entries_and_notices(d: HandoffStack) -> None:
    response = await d.server.client.get(f"/desk/api/events?token={TOKENS['ann']}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    await d.text(ALICE, "agent")
    events: dict[str, list[Any]] = {}
    async with asyncio.timeout(10):
        while not {"state", "entries", "notice"} <= events.keys() or not any(
            s["mine"] for s in events["state"]
        ):
            line = (await response.content.readline()).decode().strip()
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
                data = (await response.content.readline()).decode().removeprefix("data: ")
                events.setdefault(kind, []).append(json.loads(data))
    response.close()
    assert events["state"][-1]["mine"][0]["customer"] == "+1555***1001"
    assert events["entries"][0]["entries"][0]["kind"] == "turn"
    assert events["notice"][0]["text"].startswith("New conversation: +1555***1001")


async def test_the_desk_is_off_without_tokens_in_production(
    handoff_stack: MakeStack,
) -> None:
    d = await handoff_stack(team_bot())
    assert (await d.server.client.get("/desk/")).status == 404
    with pytest.raises(ConfigError, match="BOTKIT_DESK_TOKENS: zed not in the bot's AgentPool"):
        await handoff_stack(team_bot(), desk_tokens={"zed": "zed-token-0123456789"})

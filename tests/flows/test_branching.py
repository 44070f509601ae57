"""Branching and confirming: next= by answer or function, when=, Confirm yes/no, going back."""

from __future__ import annotations

from typing import Any

from botkit import Bot, Context, KeywordPolicy
from botkit.flows import CANCEL, DONE, Ask, Confirm, Flow, Step
from tests.flows.conftest import OpenChat

#: YES is an opt-in keyword by default; a bot that asks yes/no questions takes it out.
YES_NO_POLICY = KeywordPolicy(opt_in=frozenset({"START", "UNSTOP"}))


def flow_bot(*steps: Step, **flow_options: Any) -> tuple[Bot, list[dict[str, Any]]]:
    bot = Bot("branching", keywords=YES_NO_POLICY)
    done: list[dict[str, Any]] = []
    flow = bot.add_flow(Flow("f", list(steps), **flow_options))

    @flow.on_done
    async def finish(ctx: Context, answers: dict[str, Any]) -> None:
        done.append(answers)
        await ctx.reply("done")

    @bot.intent("go", keywords=["go"])
    async def go(ctx: Context) -> None:
        await ctx.start_flow("f")

    return bot, done


async def test_next_by_answer_skips_to_the_step_for_that_answer(open_chat: OpenChat) -> None:
    bot, done = flow_bot(
        Ask("method", "Pickup or delivery?", options=["Pickup", "Delivery"],
            next={"Pickup": "store"}),
        Ask("address", "Address?", next="tip"),
        Ask("store", "Which store?"),
        Ask("tip", "Tip?"),
    )
    chat = await open_chat(bot)
    await chat.say("go")
    assert await chat.say("pickup") == ["Which store?"]
    assert await chat.say("Main St") == ["Tip?"]
    assert await chat.say("no") == ["done"]
    await chat.say("go")
    assert await chat.say("delivery") == ["Address?"]
    assert await chat.say("1 Elm St") == ["Tip?"]  # next="tip" jumps over "store"
    await chat.say("5")
    assert done == [
        {"method": "Pickup", "store": "Main St", "tip": "no"},
        {"method": "Delivery", "address": "1 Elm St", "tip": "5"},
    ]


async def test_next_as_a_function_of_the_answers_and_done(open_chat: OpenChat) -> None:
    bot, done = flow_bot(
        Ask("age", "Age?", validate=int, next=lambda a: DONE if a["age"] < 18 else "drink"),
        Ask("drink", "Beer or wine?"),
    )
    chat = await open_chat(bot)
    await chat.say("go")
    assert await chat.say("16") == ["done"]
    await chat.say("go")
    assert await chat.say("30") == ["Beer or wine?"]
    await chat.say("wine")
    assert done == [{"age": 16}, {"age": 30, "drink": "wine"}]


async def test_when_asks_a_step_only_if_its_condition_holds(open_chat: OpenChat) -> None:
    bot, done = flow_bot(
        Ask("kind", "House or flat?", options=["House", "Flat"]),
        Ask("floor", "Which floor?", when=lambda a: a["kind"] == "Flat"),
        Ask("name", "Name on the bell?"),
    )
    chat = await open_chat(bot)
    await chat.say("go")
    assert await chat.say("house") == ["Name on the bell?"]
    await chat.say("Ng")
    await chat.say("go")
    assert await chat.say("flat") == ["Which floor?"]
    assert await chat.say("3") == ["Name on the bell?"]
    await chat.say("Li")
    assert done == [{"kind": "House", "name": "Ng"}, {"kind": "Flat", "floor": "3", "name": "Li"}]


async def test_confirm_yes_finishes_and_no_cancels_by_default(open_chat: OpenChat) -> None:
    bot, done = flow_bot(
        Ask("item", "What would you like?"),
        Confirm("ok", "One {item}, right? (yes/no)"),
        on_cancel="Cancelled.",
    )
    chat = await open_chat(bot)
    await chat.say("go")
    assert await chat.say("tea") == ["One tea, right? (yes/no)"]
    assert await chat.say("maybe") == ["Sorry, I did not get that. One tea, right? (yes/no)"]
    assert await chat.say("Yes!") == ["done"]
    await chat.say("go")
    await chat.say("cake")
    assert await chat.say("NO") == ["Cancelled."]
    assert done == [{"item": "tea", "ok": True}]
    assert "botkit:flow" not in await chat.session()


async def test_confirm_no_goes_back_and_asks_again_even_a_remembered_answer(
    open_chat: OpenChat,
) -> None:
    bot, done = flow_bot(
        Ask("email", "Email?", remember=True),
        Ask("item", "Item?"),
        Confirm("ok", "{item} to {email}?", on_no="email"),
    )
    chat = await open_chat(bot)
    await chat.say("go")
    await chat.say("old@example.com")
    await chat.say("pen")
    await chat.say("y")
    # The email is remembered: not asked; but the user says it is wrong, so it is asked again.
    assert await chat.say("go") == ["Item?"]
    assert await chat.say("ink") == ["ink to old@example.com?"]
    assert await chat.say("n") == ["Email?"]
    assert await chat.say("new@example.com") == ["ink to new@example.com?"]
    assert await chat.say("ok") == ["done"]
    assert done[-1] == {"email": "new@example.com", "item": "ink", "ok": True}
    assert (await chat.session())["email"] == "new@example.com"


async def test_confirm_with_custom_words_and_targets(open_chat: OpenChat) -> None:
    bot, done = flow_bot(
        Ask("item", "Item?"),
        Confirm("gift", "Gift wrap? (wrap/plain)", yes_words=["wrap"], no_words=["plain"],
                on_yes="note", on_no=DONE),
        Ask("note", "Card text?", next=CANCEL),
        on_cancel="Stopped.",
    )
    chat = await open_chat(bot)
    await chat.say("go")
    await chat.say("mug")
    assert await chat.say("plain") == ["done"]
    await chat.say("go")
    await chat.say("mug")
    assert await chat.say("yes") == ["Sorry, I did not get that. Gift wrap? (wrap/plain)"]
    assert await chat.say("wrap") == ["Card text?"]
    assert await chat.say("Happy birthday") == ["Stopped."]
    assert done == [{"item": "mug", "gift": False}]


async def test_a_flow_whose_steps_are_all_known_finishes_at_once(open_chat: OpenChat) -> None:
    bot, done = flow_bot(Ask("email", "Email?", remember=True))
    chat = await open_chat(bot)
    await chat.say("go")
    await chat.say("a@example.com")
    assert await chat.say("go") == ["done"]
    assert done == [{"email": "a@example.com"}, {"email": "a@example.com"}]


async def test_the_action_may_start_another_flow(open_chat: OpenChat) -> None:
    bot = Bot("chain")
    first = bot.add_flow(Flow("first", [Ask("a", "A?")]))
    second = bot.add_flow(Flow("second", [Ask("a", "A again?"), Ask("b", "B, after {a}?")]))

    @first.on_done
    async def then(ctx: Context, answers: dict[str, Any]) -> None:
        await ctx.start_flow(second, a=answers["a"])

    @second.on_done
    async def end(ctx: Context, answers: dict[str, Any]) -> None:
        await ctx.reply(f"all: {answers}")

    @bot.intent("go", keywords=["go"])
    async def go(ctx: Context) -> None:
        await first.start(ctx)

    chat = await open_chat(bot)
    await chat.say("go")
    assert await chat.say("one") == ["B, after one?"]
    assert await chat.say("two") == ["all: {'a': 'one', 'b': 'two'}"]


async def test_a_change_menu_re_asks_one_answer_and_drops_answers_off_the_new_path(
    open_chat: OpenChat,
) -> None:
    bot, done = flow_bot(
        Ask("method", "Pickup or delivery?", options=["Pickup", "Delivery"],
            next={"Pickup": "store"}),
        Ask("address", "Address?", next="ok"),
        Ask("store", "Which store?"),
        Confirm("ok", "{method}, right?", on_yes=DONE, on_no="change"),
        Ask("change", "Change what?", options=["Method", "Nothing"],
            next={"Method": "method", "Nothing": "ok"}),
    )
    chat = await open_chat(bot)
    await chat.say("go")
    await chat.say("delivery")
    assert await chat.say("1 Elm St") == ["Delivery, right?"]
    assert await chat.say("no") == ["Change what?\n1. Method\n2. Nothing"]
    assert await chat.say("nothing") == ["Delivery, right?"]
    assert await chat.say("no") == ["Change what?\n1. Method\n2. Nothing"]  # asked again
    assert await chat.say("method") == ["Pickup or delivery?\n1. Pickup\n2. Delivery"]
    assert await chat.say("pickup") == ["Which store?"]
    assert await chat.say("Main St") == ["Pickup, right?"]
    assert await chat.say("yes") == ["done"]
    # The address was answered, but the path finally taken does not go through it.
    assert done == [{"method": "Pickup", "store": "Main St", "ok": True}]


async def test_a_branch_forward_to_a_remembered_answer_skips_it(open_chat: OpenChat) -> None:
    bot, done = flow_bot(
        Ask("method", "Pickup or delivery?", options=["Pickup", "Delivery"],
            next={"Delivery": "address", "Pickup": DONE}),
        Ask("address", "Address?", remember=True),
    )
    chat = await open_chat(bot)
    await chat.say("go")
    await chat.say("delivery")
    await chat.say("1 Elm St")
    await chat.say("go")
    assert await chat.say("delivery") == ["done"]
    assert done == [{"method": "Delivery", "address": "1 Elm St"}] * 2

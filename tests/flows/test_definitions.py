"""A broken flow is refused when it is built or registered, with one line naming the flow and
the step, never when a customer reaches the broken step."""

from __future__ import annotations

import re
from typing import Any

import pytest

from botkit import Bot, Context, KeywordPolicy, Router
from botkit.flows import CANCEL, DONE, Ask, Confirm, Flow, Invalid, email, integer, matches


async def done_action(ctx: Context, answers: dict[str, Any]) -> None:
    """A valid on_done action."""


def refused(error: type[Exception], message: str) -> Any:
    """pytest.raises for exactly this message (escaped, matched in full)."""
    return pytest.raises(error, match=f"^{re.escape(message)}$")


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Ask("order id", "?"), ValueError,
         "step key 'order id' must be a name (letters, digits, underscores): it is how the "
         "answer is stored and how prompts refer to it as {key}"),
        (lambda: Ask("a", ""), ValueError,
         "step 'a': prompt must be non-empty text or a function of the answers"),
        (lambda: Ask("a", "Hello {"), ValueError,
         "step 'a': prompt 'Hello {' is not a valid template (Single '{' encountered in format "
         "string); write {{ for {"),
        (lambda: Ask("a", "Number {}?"), ValueError,
         "step 'a': prompt 'Number {}?' is not a valid template (placeholders must name an "
         "answer, like {order_id}); write {{ for {"),
        (lambda: Ask("a", "?", options=["x"], validate=int), ValueError,
         "step 'a': give one of options, validate or parse, not ['options', 'validate']"),
        (lambda: Ask("a", "?", validate=int, parse=str), ValueError,
         "step 'a': give one of options, validate or parse, not ['validate', 'parse']"),
        (lambda: Ask("a", "?", parse="location"), TypeError,  # type: ignore[arg-type]
         "step 'a': parse must be a function of the message"),
        (lambda: Ask("a", "?", options=[]), ValueError,
         "step 'a': options must name at least one choice"),
        (lambda: Ask("a", "?", options="yes"), TypeError,
         "step 'a': options must be a list of choices, not one string"),
        (lambda: Ask("a", "?", options=["Small", "small!"]), ValueError,
         "step 'a': options 'Small' and 'small!' read the same"),
        (lambda: Ask("a", "?", options=["10", "20"]), ValueError,
         "step 'a': option '10' is a number, which users could mean as the position of "
         "another option"),
        (lambda: Ask("a", "?", options=["x", "?!"]), ValueError,
         "step 'a': option '?!' has no letters or digits"),
        (lambda: Ask("a", "?", options=["x", "y"], next={"z": "b"}), ValueError,
         "step 'a': next names answer 'z', which is not one of its options ['x', 'y']"),
        (lambda: Ask("a", "?", next="not a step"), ValueError,
         "step 'a': next must be a step key, DONE or CANCEL, not 'not a step'"),
        (lambda: Ask("a", "?", next=3), TypeError,  # type: ignore[arg-type]
         "step 'a': next must be a step key, DONE, CANCEL, a mapping of answers to them, or a "
         "function of the answers"),
        (lambda: Ask("a", "?", max_attempts=0), ValueError,
         "step 'a': max_attempts must be a whole number >= 1"),
        (lambda: Ask("a", "?", validate="int"), TypeError,  # type: ignore[arg-type]
         "step 'a': validate must be a function of the text"),
        (lambda: Ask("a", "?", when=True), TypeError,  # type: ignore[arg-type]
         "step 'a': when must be a function of the answers"),
        (lambda: Ask("a", "?", remember=" "), ValueError,
         "step 'a': remember must be True, False or a session key"),
        (lambda: Confirm("ok", "?", yes_words=["y", "sure"], no_words=["n", "Sure."]),
         ValueError, "step 'ok': ['sure'] cannot mean both yes and no"),
        (lambda: Confirm("ok", "?", yes_words=[]), ValueError,
         "step 'ok': yes_words must be non-empty words"),
        (lambda: Confirm("ok", "?", on_no="back to start"), ValueError,
         "step 'ok': on_no must be a step key, DONE or CANCEL, not 'back to start'"),
    ],
)
def test_a_broken_step_is_refused_when_built(build: Any, error: type, message: str) -> None:
    with refused(error, message):
        build()


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Flow("", [Ask("a", "?")]), ValueError,
         "a flow needs a name (how handlers start it)"),
        (lambda: Flow("f", []), ValueError, "flow 'f': steps must be a non-empty list of steps"),
        (lambda: Flow("f", Ask("a", "?")), ValueError,  # type: ignore[arg-type]
         "flow 'f': steps must be a non-empty list of steps"),
        (lambda: Flow("f", ["What is your name?"]), TypeError,  # type: ignore[list-item]
         "flow 'f': 'What is your name?' is not a step (use Ask(...) or Confirm(...))"),
        (lambda: Flow("f", [Ask("a", "?"), Ask("a", "again?")]), ValueError,
         "flow 'f': two steps are called 'a'"),
        (lambda: Flow("f", [Ask("a", "?", next="b")]), ValueError,
         "flow 'f', step 'a': goes to 'b', which is not a step"),
        (lambda: Flow("f", [Ask("a", "?", options=["x"], next={"x": "c"}), Ask("b", "?")]),
         ValueError, "flow 'f', step 'a': goes to 'c', which is not a step"),
        (lambda: Flow("f", [Confirm("ok", "?", on_no="a")]), ValueError,
         "flow 'f', step 'ok': goes to 'a', which is not a step"),
        (lambda: Flow("f", [Ask("name", "?"), Ask("b", "Hi {nmae}!")]), ValueError,
         "flow 'f', step 'b': the prompt uses ['nmae'], which are not steps"),
        (lambda: Flow("f", [Ask("a", "?", retry="A, not {b.x}")]), ValueError,
         "flow 'f', step 'a': the prompt uses ['b'], which are not steps"),
        (lambda: Flow("f", [Ask("a", "?", remember="botkit:flow")]), ValueError,
         "flow 'f', step 'a': 'botkit:flow' is where botkit keeps the flow"),
        (lambda: Flow("f", [Ask("a", "?", remember="x"), Ask("b", "?", remember="x")]),
         ValueError, "flow 'f', step 'b': remembers into session key 'x', as step 'a' does"),
        (lambda: Flow("f", [Ask("a", "?", options=["Exit", "Stay"])]), ValueError,
         "flow 'f', step 'a': 'Exit' is an answer and a cancel word; the user could not give "
         "that answer"),
        (lambda: Flow("f", [Ask("a", "?")], cancel_words=["!"]), ValueError,
         "flow 'f': cancel words must have letters or digits"),
        (lambda: Flow("f", [Ask("a", "?")], timeout=0), ValueError,
         "flow 'f': timeout must be seconds > 0, or None for none"),
        (lambda: Flow("f", [Ask("a", "?")], on_cancel=""), ValueError,
         "flow 'f': on_cancel must be non-empty text, a function, or None"),
        (lambda: Flow("f", [Ask("a", "?")], on_fail=3), TypeError,  # type: ignore[arg-type]
         "flow 'f': on_fail must be text, an async function, or None"),
        (lambda: Flow("f", [Ask("a", "?")], on_timeout=print), TypeError,
         "flow 'f': on_timeout must be an async function"),
        (lambda: Flow("f", [Ask("a", "?")], on_done=print), TypeError,  # type: ignore[arg-type]
         "flow 'f': on_done must be an async function"),
    ],
)
def test_a_broken_flow_is_refused_when_built(build: Any, error: type, message: str) -> None:
    with refused(error, message):
        build()


def test_the_action_must_take_ctx_and_answers_and_is_set_once() -> None:
    flow = Flow("f", [Ask("a", "?")])

    async def one(ctx: Context) -> None: ...

    with refused(TypeError, "flow 'f': on_done test_the_action_must_take_ctx_and_answers_and_"
                 "is_set_once.<locals>.one must take (ctx, answers)"):
        flow.on_done(one)  # type: ignore[type-var]
    assert flow.on_done(done_action) is done_action
    with refused(ValueError, "flow 'f' already has an on_done action"):
        flow.on_done(done_action)


def test_words_the_bot_reads_as_compliance_keywords_are_refused_at_registration() -> None:
    bot = Bot("keywords")
    with refused(
        ValueError,
        "flow 'f', step 'ok': the answer 'yes' is the keyword YES in this bot's KeywordPolicy, "
        "read as an opt-in (the user would get the re-subscribe reply) before any flow sees "
        "it; choose another word, or take YES out of Bot(keywords=KeywordPolicy(opt_in=...)) "
        "where that is allowed",
    ):
        bot.add_flow(Flow("f", [Confirm("ok", "Sure?")]))
    with pytest.raises(ValueError, match=r"^flow 'f': the cancel word 'cancel' is the keyword "
                       r"CANCEL .* read as an opt-out \(the user would be unsubscribed\)"):
        bot.add_flow(Flow("f", [Ask("a", "?")], cancel_words=["cancel"]))
    with pytest.raises(ValueError, match=r"^flow 'f', step 'a': the answer 'Info' is the "
                       r"keyword INFO .* read as a request for help"):
        bot.add_flow(Flow("f", [Ask("a", "?", options=["Info", "Buy"])]))
    # With YES taken out of the policy, or other words, the same flows are fine.
    Bot("yes", keywords=KeywordPolicy(opt_in=frozenset({"START"}))).add_flow(
        Flow("f", [Confirm("ok", "Sure?")])
    )
    bot.add_flow(Flow("g", [Confirm("ok", "Sure? (y/n)", yes_words=["y", "ok"])]))


def test_flows_on_included_routers_are_checked_on_include_or_when_the_bot_compiles() -> None:
    forms = Router("forms")
    forms.add_flow(Flow("f", [Confirm("ok", "Sure?")]))
    with pytest.raises(ValueError, match=r"^flow 'f', step 'ok': the answer 'yes' is the "
                       r"keyword YES"):
        Bot("early").include(forms)
    later = Router("later")
    bot = Bot("late")
    bot.include(later)
    later.add_flow(Flow("f", [Confirm("ok", "Sure?")]))
    with pytest.raises(ValueError, match=r"^flow 'f', step 'ok': the answer 'yes' is the "
                       r"keyword YES"):
        bot.compile()


def test_flow_names_are_unique_in_a_bot() -> None:
    bot = Bot("dupes")
    bot.add_flow(Flow("f", [Ask("a", "?")]))
    with refused(ValueError, "router 'dupes' already has a flow called 'f'"):
        bot.add_flow(Flow("f", [Ask("b", "?")]))
    forms = Router("forms")
    forms.add_flow(Flow("f", [Ask("c", "?")]))
    with refused(ValueError, "two flows are called 'f'"):
        bot.include(forms)
    with refused(TypeError, "add_flow takes a Flow, not list"):
        bot.add_flow([Ask("a", "?")])  # type: ignore[arg-type]


def test_interrupts_flows_is_for_1_to_1_intents() -> None:
    bot = Bot("scope")
    with refused(ValueError, "intent 'x': interrupts_flows applies to 1:1 messages, where "
                 "flows run"):
        bot.intent("x", keywords=["x"], scope="conversation", interrupts_flows=True)


def test_a_registered_flow_routes_under_its_own_name() -> None:
    bot = Bot("names")
    bot.add_flow(Flow("f", [Ask("a", "?")]))
    routes = bot.compile()
    assert routes.flows is not None and routes.flows.names == ["f"]
    assert Bot("none").compile().flows is None


def test_ready_made_validators() -> None:
    within = integer(min=1, max=10)
    assert within(" 1,0 ") == 10
    for bad in ("0", "11", "ten", ""):
        with refused(Invalid, "Please answer with a whole number from 1 to 10."):
            within(bad)
    with refused(Invalid, "Please answer with a whole number of at least 5."):
        integer(min=5)("4")
    with refused(Invalid, "Please answer with a whole number of at most 5."):
        integer(max=5)("6")
    with refused(Invalid, "Digits, please."):
        integer(message="Digits, please.")("x")
    assert integer()("-3") == -3
    with refused(ValueError, "integer(): min 2 is above max 1"):
        integer(min=2, max=1)

    zip_code = matches(r"\d{5}", "A ZIP code has 5 digits.")
    assert zip_code(" 94107 ") == "94107"
    with refused(Invalid, "A ZIP code has 5 digits."):
        zip_code("941070")
    assert matches("ab+", "ab...")("ABB") == "ABB"  # case-insensitive unless precompiled
    with refused(Invalid, "ab..."):
        matches(re.compile("ab+"), "ab...")("ABB")
    with pytest.raises(ValueError, match=r"^matches\(\): invalid pattern '\(': "):
        matches("(", "x")
    with refused(ValueError, "matches(): message must tell the user how to answer"):
        matches("x", "")

    address = email()
    assert address(" Ann@Example.COM ") == "ann@example.com"
    for bad in ("ann", "ann@example", "a b@example.com", "ann@@example.com"):
        with refused(Invalid, "That does not look like an email address. What is it?"):
            address(bad)


def test_transitions_name_done_and_cancel() -> None:
    step = Ask("a", "?", options=["x", "y"], next={"x": DONE, "y": CANCEL})
    assert step.transition("x", {}) is DONE and step.transition("y", {}) is CANCEL
    assert Confirm("ok", "?").transition(False, {}) is CANCEL

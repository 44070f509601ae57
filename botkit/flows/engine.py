"""Running one flow for one user: ask, read the answer, move on, end.

Every function here works on the handler's context and the flow state in its session; nothing
is kept anywhere else, so the next message may land on another process (or a restarted one).

How the next question is chosen: after an answer the step's transition names the next step
(default: the next in the list). Arriving at a step, the flow skips it when its ``when`` says
so, or when its answer is already known (given to ``start_flow``, remembered in the session, or
answered earlier in this flow); otherwise it asks. A ``Confirm`` is asked every time it is
reached. A jump (``next=`` or ``on_no=`` naming a step) to a step the flow already passed or
asked (``Confirm(on_no="email")``, or a "what should I change?" ``Ask`` whose ``next`` names
steps) asks it again, and the flow then moves on through what is known to the next thing it
does not know, typically the Confirm. A jump forward to a remembered answer skips it.

The action gets the answers of the steps on the path finally taken: an answer to a step that
a later change of mind routed around is not passed on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botkit.contexts.direct import Context
from botkit.core import clock
from botkit.errors import FlowError
from botkit.flows.flow import Ending, Flow
from botkit.flows.state import FlowState, clear_state, recall, remember, write_state
from botkit.flows.steps import Ask, Confirm, End, Invalid, Step, format_prompt

DEFAULT_RETRY = "Sorry, I did not get that."


async def start(ctx: Context, flow: Flow, given: Mapping[str, Any]) -> None:
    """Begin ``flow`` (replacing any flow in progress) and ask its first missing answer."""
    answers: dict[str, Any] = {}
    for step in flow.steps:
        if step.remember is not None:
            known, value = recall(ctx.session, step.remember)
            if known:
                answers[step.key] = value
    for key, value in given.items():
        given_step = flow.step(key)
        if given_step is None:
            raise FlowError(
                f"flow {flow.name!r} has no step {key!r} to fill in "
                f"(its steps: {', '.join(s.key for s in flow.steps)})"
            )
        if isinstance(given_step, Confirm):
            raise FlowError(f"flow {flow.name!r}: step {key!r} is a confirmation, always asked")
        if isinstance(value, str) and isinstance(given_step, Ask) and given_step.reads_text:
            # Text from the message that started the flow ("order 1234") is checked like a
            # typed answer; when it does not pass, the step is simply asked.
            try:
                value = await given_step.check(value)
            except ValueError:
                continue
        if value is not None:
            answers[key] = _storable(flow, given_step, value)
    state = FlowState(
        flow=flow.name,
        step=flow.steps[0].key,
        answers=answers,
        passed=[],
        asked=[],
        asked_at=clock.now(),
    )
    await _go(ctx, flow, state, flow.steps[0])


async def answer(ctx: Context, flow: Flow, state: FlowState) -> None:
    """Take the user's message as the answer to the current question."""
    step = _current(flow, state)
    if flow.cancels(ctx.message.text):
        await end(ctx, flow.on_cancel, state)
        return
    try:
        value = await step.read(ctx.message)
    except ValueError as bad:  # Invalid, or a plain ValueError from a validator like int
        state.attempts += 1
        if state.attempts >= step.max_attempts:
            await end(ctx, flow.on_fail, state)
            return
        told = bad.user_message if isinstance(bad, Invalid) else None
        await _ask(ctx, state, step, told or _retry_text(step, state.answers))
        return
    value = _storable(flow, step, value)
    state.answers[step.key] = value
    if step.key not in state.asked:
        state.asked.append(step.key)
    if step.remember is not None:
        remember(ctx.session, step.remember, value, step.ttl)
    state.attempts = 0
    await _go(ctx, flow, state, _after(flow, state, step, value))


async def reask(ctx: Context, flow: Flow, state: FlowState) -> None:
    """Ask the current question again (after an interruption), keeping the attempt count."""
    step = _current(flow, state)
    await _ask(ctx, state, step, step.render(state.answers))


async def end(ctx: Context, ending: Ending, state: FlowState) -> None:
    """End the flow without finishing it, the way its ``on_cancel``/``on_timeout``/``on_fail``
    says: a text, or a function given the answers so far."""
    clear_state(ctx.session)
    if isinstance(ending, str):
        await ctx.reply(ending)
    elif ending is not None:
        await ending(ctx, _taken(state))


def expired(flow: Flow, state: FlowState) -> bool:
    return flow.timeout is not None and clock.now() - state.asked_at > flow.timeout


async def _go(ctx: Context, flow: Flow, state: FlowState, where: Step | End) -> None:
    """Move to ``where``: skip what need not be asked, then ask, or end the flow."""
    # Every hop either asks, ends, or passes a step; more hops than this is a cycle of steps
    # that all skip themselves (a bug in the flow's when=/next=), not a conversation.
    for _ in range(2 * len(flow.steps) + 2):
        if where is End.DONE:
            await _finish(ctx, flow, state)
            return
        if where is End.CANCEL:
            await end(ctx, flow.on_cancel, state)
            return
        assert isinstance(where, Step)
        step = where
        if step.when is not None and not step.when(state.answers):
            where = flow.following(step) or End.DONE
            continue
        if step.key not in state.passed:
            state.passed.append(step.key)
        if step.key in state.answers and not isinstance(step, Confirm):
            where = _after(flow, state, step, state.answers[step.key])
        else:
            state.attempts = 0
            await _ask(ctx, state, step, step.render(state.answers))
            return
    raise FlowError(
        f"flow {flow.name!r} goes round its steps without asking anything (through "
        f"{', '.join(state.passed)}); check the steps' when= and next="
    )


def _after(flow: Flow, state: FlowState, step: Step, value: Any) -> Step | End:
    """Where the flow goes after ``step`` was answered with ``value``."""
    target = step.transition(value, state.answers)
    if target is None:
        return flow.following(step) or End.DONE
    if isinstance(target, End):
        return target
    found = flow.step(target) if isinstance(target, str) else None
    if found is None:
        raise FlowError(
            f"flow {flow.name!r}, step {step.key!r}: next chose {target!r}, which is not a "
            "step (nor DONE or CANCEL)"
        )
    if target in state.passed or target in state.asked:
        # Going back to a step (or to one answered earlier in this flow, like a "what should
        # I change?" menu) means asking it again; the steps after it are passed again, skipped
        # while their answers are known, as the flow moves on from there.
        if target in state.passed:
            del state.passed[state.passed.index(target) :]
        state.answers.pop(target, None)
    return found


async def _ask(ctx: Context, state: FlowState, step: Step, text: str) -> None:
    state.step = step.key
    state.asked_at = clock.now()
    write_state(ctx.session, state)
    await ctx.reply(text)


async def _finish(ctx: Context, flow: Flow, state: FlowState) -> None:
    # Cleared first, so the action may start another flow.
    clear_state(ctx.session)
    if flow.action is not None:
        await flow.action(ctx, _taken(state))


def _taken(state: FlowState) -> dict[str, Any]:
    """The answers on the path the flow took (not those a change of mind routed around)."""
    return {key: state.answers[key] for key in state.passed if key in state.answers}


def _current(flow: Flow, state: FlowState) -> Step:
    step = flow.step(state.step)
    if step is None:
        raise FlowError(f"flow {flow.name!r} has no step {state.step!r}")
    return step


def _retry_text(step: Step, answers: Mapping[str, Any]) -> str:
    if step.retry is not None:
        return format_prompt(step.retry, answers, step.key)
    return f"{DEFAULT_RETRY} {step.render(answers)}"


def _storable(flow: Flow, step: Step, value: Any) -> Any:
    """Answers live in the JSON session: refuse anything else here, where the step is known,
    rather than when the session is saved, and hand back the value as JSON will (a tuple
    becomes a list), so the memory and Redis stores give the action the same answers."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        raise FlowError(
            f"flow {flow.name!r}, step {step.key!r}: the answer {value!r} "
            f"({type(value).__name__}) cannot be kept in a session; use JSON values "
            "(text, numbers, booleans, lists, dicts)"
        ) from None

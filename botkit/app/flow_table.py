"""A bot's flows, and the one decision the pipeline asks of them: who gets this message?

With a flow waiting for an answer, the message is the answer, whatever intent it would match,
with three exceptions:

- a cancel word of the flow ends it;
- an intent registered with ``interrupts_flows=True`` (HELP, "agent", an FAQ) runs, and then
  the flow asks its question again, unless the handler ended or replaced the flow;
- a flow whose question has waited longer than its timeout is over: ``on_timeout`` (if any) is
  sent and the message is routed as if there had been no flow.

Compliance keywords never get here (the pipeline answers them first), so the pipeline tells the
table afterwards: after HELP the question is asked again, after STOP the flow is dropped
without a word (the STOP confirmation must be the last message the user gets).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from botkit.app.routes import Resolution, Route
from botkit.compliance.keywords import KeywordKind, KeywordPolicy
from botkit.contexts.direct import Context, NamedFlow
from botkit.errors import FlowError
from botkit.flows import engine
from botkit.flows.flow import Flow
from botkit.flows.state import STATE_KEY, FlowState, clear_state, read_state
from botkit.logging import get_logger

log = get_logger("flows")

RouteCall = Callable[["Route", "Context"], Awaitable[None]]

_KEYWORD_MEANING: dict[KeywordKind, str] = {
    "opt_out": "an opt-out (the user would be unsubscribed)",
    "opt_in": "an opt-in (the user would get the re-subscribe reply)",
    "help": "a request for help (the user would get the help text)",
}


def flow_step_handler(flow: Flow) -> Callable[[Context], Awaitable[None]]:
    """The handler of a flow's route: take the message as the answer to its question."""

    async def continue_flow(ctx: Context) -> None:
        state = read_state(ctx.session)
        if state is not None and state.flow == flow.name:
            await engine.answer(ctx, flow, state)

    continue_flow.__qualname__ = f"flow:{flow.name}"
    return continue_flow


def check_keywords(flow: Flow, policy: KeywordPolicy) -> None:
    """Refuse answers and cancel words that the compliance step would take first: they could
    never reach the flow, and STOP-like ones would unsubscribe the user."""
    words: list[tuple[str | None, str]] = [(None, w) for w in sorted(flow.cancel_words)]
    words += [(step.key, w) for step in flow.steps for w in step.words()]
    for key, word in words:
        match = policy.classify(word)
        if match is None:
            continue
        where = f"flow {flow.name!r}" + (f", step {key!r}" if key else "")
        what = "answer" if key else "cancel word"
        raise ValueError(
            f"{where}: the {what} {word!r} is the keyword {match.keyword} in this bot's "
            f"KeywordPolicy, read as {_KEYWORD_MEANING[match.kind]} before any flow sees it; "
            f"choose another word, or take {match.keyword} out of "
            f"Bot(keywords=KeywordPolicy({match.kind}=...)) where that is allowed"
        )


class FlowTable:
    """The flows compiled into a bot, each with the route (and middleware) it runs under."""

    def __init__(self, entries: Iterable[tuple[Flow, Route]]) -> None:
        self._entries: dict[str, tuple[Flow, Route]] = {}
        for flow, route in entries:
            known = self._entries.get(flow.name)
            if known is not None and known[0] is not flow:
                raise ValueError(f"two flows are called {flow.name!r}")
            self._entries[flow.name] = (flow, route)

    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def check_keywords(self, policy: KeywordPolicy) -> None:
        for flow, _ in self._entries.values():
            check_keywords(flow, policy)

    def flow(self, wanted: str | NamedFlow) -> Flow:
        name = wanted if isinstance(wanted, str) else wanted.name
        entry = self._entries.get(name)
        if entry is None or (not isinstance(wanted, str) and entry[0] is not wanted):
            known = ", ".join(sorted(self._entries)) or "none"
            raise FlowError(
                f"flow {name!r} is not registered with this bot (registered: {known}); "
                "add it with bot.add_flow(flow)"
            )
        return entry[0]

    async def start(
        self, ctx: Context, wanted: str | NamedFlow, answers: Mapping[str, Any]
    ) -> None:
        await engine.start(ctx, self.flow(wanted), answers)

    def active_name(self, session: dict[str, Any]) -> str | None:
        found = self.active(session)
        return found[0].name if found is not None else None

    def cancel(self, session: dict[str, Any]) -> bool:
        return session.pop(STATE_KEY, None) is not None

    def active(self, session: dict[str, Any]) -> tuple[Flow, FlowState] | None:
        """The flow waiting for an answer in this session, timed out or not. A state naming a
        flow or step this bot no longer has (renamed in a deploy) is dropped and logged."""
        state = read_state(session)
        if state is None:
            return None
        entry = self._entries.get(state.flow)
        if entry is None or entry[0].step(state.step) is None:
            log.warning(
                "flow state dropped: no such flow or step", flow=state.flow, step=state.step
            )
            clear_state(session)
            return None
        return entry[0], state

    async def running(self, ctx: Context) -> tuple[Flow, FlowState] | None:
        """The flow waiting for an answer, after ending it (and saying so) if it timed out."""
        found = self.active(ctx.session)
        if found is None:
            return None
        flow, state = found
        if not engine.expired(flow, state):
            return found
        log.info("flow timed out", flow=flow.name, step=state.step, sid=ctx.message.sid)
        await engine.end(ctx, flow.on_timeout, state)
        return None

    async def dispatch(
        self, ctx: Context, found: Resolution | None, call: RouteCall
    ) -> Route | None:
        """Run whatever should handle this message; returns its route (None: nothing ran)."""
        running = await self.running(ctx)
        if running is not None:
            flow = running[0]
            interrupts = found is not None and found.route.interrupts_flows
            if not interrupts or flow.cancels(ctx.message.text):
                route = self._entries[flow.name][1]
                ctx.intent, ctx.slots = route.name, {}
                await call(route, ctx)
                return route
        if found is None:
            return None
        before = ctx.session.get(STATE_KEY)
        await call(found.route, ctx)
        if running is not None and ctx.session.get(STATE_KEY) == before:
            await engine.reask(ctx, *running)
        return found.route

    async def after_keyword(self, ctx: Context, kind: KeywordKind) -> None:
        """The compliance step answered a keyword: ask again after HELP, forget after STOP."""
        if kind == "opt_out":
            clear_state(ctx.session)
            return
        if kind == "help":
            running = await self.running(ctx)
            if running is not None:
                await engine.reask(ctx, *running)

"""A flow: named steps, what ends it (done, cancel, timeout, too many bad answers), and the
action that runs with the answers.

The definition is checked as a whole when it is built: unique step keys, branch targets that
exist, placeholders that name steps, cancel words that cannot be read as an answer. So a
broken flow stops the bot at import with one line naming the flow and the step.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from botkit.compliance.keywords import normalize_text
from botkit.contexts.direct import Context
from botkit.errors import FlowError
from botkit.flows.state import STATE_KEY
from botkit.flows.steps import Ask, Confirm, Step

#: ``async def action(ctx, answers)``: what the flow is for, run once every answer is in.
DoneAction = Callable[["Context", dict[str, Any]], Awaitable[Any]]
D = TypeVar("D", bound=DoneAction)
#: How a flow that did not finish ends: a text to send, an ``async def (ctx, answers)`` (to
#: hand the user to a person after too many bad answers, say), or None for silence.
Ending = str | DoneAction | None

#: Not "cancel", "stop", "quit" or "end": carriers and Twilio treat those as opt-outs, so a
#: user texting them is unsubscribed, not taken out of a form.
DEFAULT_CANCEL_WORDS = ("exit", "never mind", "nevermind")
DEFAULT_ON_CANCEL = "OK, I stopped that. Text me any time to start again."
DEFAULT_ON_FAIL = "Sorry, I could not understand. Let's stop here; text me to try again."
DEFAULT_TIMEOUT = 30 * 60.0


class Flow:
    """A multi-step conversation, started from a handler with ``await ctx.start_flow(name)``
    (or ``await flow.start(ctx)``) once the flow is registered with ``bot.add_flow(flow)``.

    steps: ``Ask`` and ``Confirm`` steps, asked in order unless a step's ``next`` (``on_yes`` /
    ``on_no``) says otherwise. on_done: the action run with the answers (also settable with
    the ``@flow.on_done`` decorator). cancel_words: whole messages that abandon the flow, then
    ``on_cancel`` runs. timeout: seconds a question may stay unanswered; after it the flow
    is over, and the user's next message is routed as usual after ``on_timeout`` runs.
    on_fail: runs when an answer was wrong ``max_attempts`` times and the flow gives up. Each
    ``on_*`` ending is a text to send, an ``async def (ctx, answers)``, or None.
    """

    def __init__(
        self,
        name: str,
        steps: Sequence[Step],
        *,
        on_done: DoneAction | None = None,
        cancel_words: Iterable[str] = DEFAULT_CANCEL_WORDS,
        on_cancel: Ending = DEFAULT_ON_CANCEL,
        timeout: float | None = DEFAULT_TIMEOUT,
        on_timeout: Ending = None,
        on_fail: Ending = DEFAULT_ON_FAIL,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a flow needs a name (how handlers start it)")
        self.name = name
        self._by_key: dict[str, Step] = {}
        self._check_steps(steps)
        self.steps: tuple[Step, ...] = tuple(steps)
        self.cancel_words = self._check_cancel_words(cancel_words)
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ValueError(f"flow {name!r}: timeout must be seconds > 0, or None for none")
        self.timeout = None if timeout is None else float(timeout)
        self.on_cancel = _checked_ending(name, "on_cancel", on_cancel)
        self.on_timeout = _checked_ending(name, "on_timeout", on_timeout)
        self.on_fail = _checked_ending(name, "on_fail", on_fail)
        self.action: DoneAction | None = None
        if on_done is not None:
            self.on_done(on_done)

    def on_done(self, action: D) -> D:
        """Set ``async def action(ctx, answers)``, run when the flow completes."""
        if self.action is not None:
            raise ValueError(f"flow {self.name!r} already has an on_done action")
        self.action = _checked_action(self.name, action)
        return action

    def step(self, key: str) -> Step | None:
        return self._by_key.get(key)

    def following(self, step: Step) -> Step | None:
        """The step after ``step`` in the list, None after the last."""
        index = self.steps.index(step) + 1
        return self.steps[index] if index < len(self.steps) else None

    def cancels(self, text: str) -> bool:
        return normalize_text(text) in self.cancel_words

    async def start(self, ctx: Context, **answers: Any) -> None:
        """Start this flow for the user of ``ctx`` (same as ``ctx.start_flow(flow)``)."""
        start_flow = getattr(ctx, "start_flow", None)
        if start_flow is None:
            raise FlowError(
                f"flow {self.name!r}: flows run in 1:1 chats, and this is a "
                f"{type(ctx).__name__}"
            )
        await start_flow(self, **answers)

    def _check_steps(self, steps: Sequence[Step]) -> None:
        if isinstance(steps, Step) or not steps:
            raise ValueError(f"flow {self.name!r}: steps must be a non-empty list of steps")
        for step in steps:
            if not isinstance(step, Ask | Confirm):
                raise TypeError(
                    f"flow {self.name!r}: {step!r} is not a step (use Ask(...) or Confirm(...))"
                )
            if step.key in self._by_key:
                raise ValueError(f"flow {self.name!r}: two steps are called {step.key!r}")
            self._by_key[step.key] = step
        remembered: dict[str, str] = {}
        for step in steps:
            where = f"flow {self.name!r}, step {step.key!r}"
            for target in step.targets():
                if isinstance(target, str) and target not in self._by_key:
                    raise ValueError(f"{where}: goes to {target!r}, which is not a step")
            unknown = step.placeholders() - set(self._by_key)
            if unknown:
                raise ValueError(f"{where}: the prompt uses {sorted(unknown)}, which are not steps")
            if step.remember is not None:
                if step.remember == STATE_KEY:
                    raise ValueError(f"{where}: {STATE_KEY!r} is where botkit keeps the flow")
                if step.remember in remembered:
                    raise ValueError(
                        f"{where}: remembers into session key {step.remember!r}, as step "
                        f"{remembered[step.remember]!r} does"
                    )
                remembered[step.remember] = step.key

    def _check_cancel_words(self, words: Iterable[str]) -> frozenset[str]:
        if isinstance(words, str):
            words = [words]
        normalized = frozenset(normalize_text(w) for w in words)
        if "" in normalized:
            raise ValueError(f"flow {self.name!r}: cancel words must have letters or digits")
        for step in self._by_key.values():
            for word in step.words():
                if normalize_text(word) in normalized:
                    raise ValueError(
                        f"flow {self.name!r}, step {step.key!r}: {word!r} is an answer and a "
                        "cancel word; the user could not give that answer"
                    )
        return normalized

    def __repr__(self) -> str:
        return f"Flow({self.name!r}, steps={[s.key for s in self.steps]})"


def _checked_action(flow: str, action: DoneAction, what: str = "on_done") -> DoneAction:
    if not inspect.iscoroutinefunction(action):
        raise TypeError(f"flow {flow!r}: {what} must be an async function")
    try:
        inspect.signature(action).bind(None, {})
    except TypeError:
        raise TypeError(
            f"flow {flow!r}: {what} {action.__qualname__} must take (ctx, answers)"
        ) from None
    return action


def _checked_ending(flow: str, what: str, ending: Ending) -> Ending:
    if ending is None:
        return None
    if isinstance(ending, str):
        if not ending.strip():
            raise ValueError(f"flow {flow!r}: {what} must be non-empty text, a function, or None")
        return ending
    if callable(ending):
        return _checked_action(flow, ending, what)
    raise TypeError(f"flow {flow!r}: {what} must be text, an async function, or None")

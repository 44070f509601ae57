"""The steps a flow is made of: ``Ask`` (a question, optionally with options and a validator)
and ``Confirm`` (a yes/no question that branches).

Everything a step declares is checked when the step is built, so a typo fails at import, not
when a customer is halfway through a form. What can only be checked against the whole flow
(branch targets, placeholders naming other steps) is checked by ``Flow``.
"""

from __future__ import annotations

import abc
import contextlib
import enum
import inspect
import re
import string
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botkit.compliance.keywords import normalize_text
from botkit.twilio.inbound import InboundMessage

#: The answers collected so far, by step key (what prompts are formatted with).
Answers = Mapping[str, Any]
#: A prompt: text with ``{key}`` placeholders for earlier answers, or a function of them.
Prompt = str | Callable[[Answers], str]
#: Turns the user's text into the value to store; raises ``Invalid`` (or ValueError) to re-ask.
Validator = Callable[[str], Any | Awaitable[Any]]
#: Like a Validator, but given the whole message: for answers that are not text (a photo, a
#: shared WhatsApp location).
Parser = Callable[[InboundMessage], Any | Awaitable[Any]]
Condition = Callable[[Answers], bool]


class End(enum.Enum):
    """Where a flow can go other than a step."""

    DONE = "done"
    CANCEL = "cancel"


#: Finish the flow now and run its ``on_done`` action.
DONE = End.DONE
#: End the flow as if the user had cancelled it (its ``on_cancel`` message is sent).
CANCEL = End.CANCEL

#: A step key, DONE or CANCEL.
Target = str | End
#: What follows a step: None (the next step in the list), a target, targets by answer value,
#: or a function of the answers returning a target.
Transition = Target | Mapping[str, Target] | Callable[[Answers], Target] | None

DEFAULT_YES = ("yes", "y", "yeah", "yep", "sure", "ok", "okay", "correct", "confirm")
DEFAULT_NO = ("no", "n", "nope", "wrong")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Invalid(ValueError):
    """Raised by a validator to reject an answer. Its message, if any, is what the user is
    told (and must say how to answer); without one the step's ``retry`` text is used.

    A plain ValueError rejects too (so ``validate=int`` works), but its message is never shown:
    it was written for programmers, not customers."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "invalid answer")
        self.user_message = message


@dataclass(frozen=True)
class Option:
    """One choice of an ``Ask``: the value stored, and the label the user sees."""

    value: str
    label: str


class Step(abc.ABC):
    """What every step has: a key (where its answer is stored), a prompt, a re-ask text, an
    attempt limit and an optional condition. Subclasses decide how an answer is read."""

    def __init__(
        self,
        key: str,
        prompt: Prompt,
        *,
        retry: Prompt | None,
        max_attempts: int,
        when: Condition | None,
        remember: bool | str,
        ttl: float | None = None,
    ) -> None:
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(
                f"step key {key!r} must be a name (letters, digits, underscores): it is how "
                "the answer is stored and how prompts refer to it as {key}"
            )
        self.key = key
        self.prompt = _check_prompt(prompt, f"step {key!r}: prompt")
        self.retry = None if retry is None else _check_prompt(retry, f"step {key!r}: retry")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"step {key!r}: max_attempts must be a whole number >= 1")
        self.max_attempts = max_attempts
        if when is not None and not callable(when):
            raise TypeError(f"step {key!r}: when must be a function of the answers")
        self.when = when
        if remember is True:
            self.remember: str | None = key
        elif remember is False:
            self.remember = None
        elif isinstance(remember, str) and remember.strip():
            self.remember = remember
        else:
            raise ValueError(f"step {key!r}: remember must be True, False or a session key")
        if ttl is not None and (self.remember is None or isinstance(ttl, bool) or not ttl > 0):
            raise ValueError(f"step {key!r}: ttl is seconds > 0 that a remembered answer is kept")
        self.ttl = None if ttl is None else float(ttl)

    def placeholders(self) -> set[str]:
        """The answer keys this step's texts refer to."""
        return {name for text in (self.prompt, self.retry) for name in _fields(text)}

    def targets(self) -> list[Target]:
        """Every target this step names statically (for checking against the flow)."""
        return []

    def words(self) -> list[str]:
        """Whole-message answers this step understands (checked against compliance keywords)."""
        return []

    def render(self, answers: Answers) -> str:
        """The question as sent."""
        return format_prompt(self.prompt, answers, self.key)

    @abc.abstractmethod
    async def read(self, message: InboundMessage) -> Any:
        """The value this message answers; raises Invalid when it does not answer."""

    @abc.abstractmethod
    def transition(self, value: Any, answers: Answers) -> Target | None:
        """Where the flow goes after this answer (None: the next step in the list)."""


class Ask(Step):
    """A question. The answer is the text, one of ``options``, or what ``validate`` returns.

    options: the choices (a list, or a mapping of stored value to label); the user may answer
    with a choice's number, value or label, and on WhatsApp by tapping a quick reply whose
    payload is the value. validate: ``def check(text) -> value`` (or async), raising
    ``Invalid("how to answer")`` to re-ask; returning None stores the text as written.
    parse: the same, given the whole InboundMessage, for answers that are media or a shared
    WhatsApp location (a message with no text); it must return the value to store.
    retry: what to say on a bad answer (default: "Sorry, I did not get that." and the
    question). max_attempts: bad answers allowed before the flow gives up (``on_fail``).
    remember: also store the answer in the session (under the key, or the session key given),
    and skip this step in later flows while the session still holds it. ttl: seconds after
    which a remembered answer expires and the step is asked again (a verification good for a
    day, say); None: kept as long as the session. when: ask only if
    ``when(answers)`` is true. next: where to go after the answer (see ``Transition``).
    """

    def __init__(
        self,
        key: str,
        prompt: Prompt,
        *,
        options: Sequence[str] | Mapping[str, str] | None = None,
        validate: Validator | None = None,
        parse: Parser | None = None,
        retry: Prompt | None = None,
        max_attempts: int = 3,
        remember: bool | str = False,
        ttl: float | None = None,
        when: Condition | None = None,
        next: Transition = None,
    ) -> None:
        super().__init__(
            key,
            prompt,
            retry=retry,
            max_attempts=max_attempts,
            when=when,
            remember=remember,
            ttl=ttl,
        )
        self.options = _options(key, options)
        if validate is not None and not callable(validate):
            raise TypeError(f"step {key!r}: validate must be a function of the text")
        if parse is not None and not callable(parse):
            raise TypeError(f"step {key!r}: parse must be a function of the message")
        given = [name for name, v in (("options", options), ("validate", validate),
                                      ("parse", parse)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"step {key!r}: give one of options, validate or parse, not {given}")
        self.validate = validate
        self.parse = parse
        self.next = _check_transition(key, next, self.options)

    def targets(self) -> list[Target]:
        if isinstance(self.next, Mapping):
            return list(self.next.values())
        if isinstance(self.next, str | End):
            return [self.next]
        return []

    def words(self) -> list[str]:
        return [word for option in self.options for word in (option.value, option.label)]

    def render(self, answers: Answers) -> str:
        question = super().render(answers)
        if not self.options:
            return question
        choices = "\n".join(f"{n}. {o.label}" for n, o in enumerate(self.options, start=1))
        return f"{question}\n{choices}"

    async def read(self, message: InboundMessage) -> Any:
        if self.parse is not None:
            parsed = self.parse(message)
            if inspect.isawaitable(parsed):
                parsed = await parsed
            if parsed is None:
                raise TypeError(f"step {self.key!r}: parse returned None; return the answer")
            return parsed
        payload = message.whatsapp.button_payload if message.whatsapp else None
        if self.options and payload:
            with contextlib.suppress(Invalid):
                return self._choice(payload)
        return await self.check(message.text)

    @property
    def reads_text(self) -> bool:
        """Whether an answer can be checked from text alone (not with ``parse``)."""
        return self.parse is None

    async def check(self, text: str) -> Any:
        """The value ``text`` answers, typed by the user or given to ``start_flow``."""
        text = text.strip()
        if self.options:
            return self._choice(text)
        if self.validate is None:
            if not text:
                raise Invalid()
            return text
        value = self.validate(text)
        if inspect.isawaitable(value):
            value = await value
        return text if value is None else value

    def _choice(self, said: str) -> str:
        said = normalize_text(said)
        for number, option in enumerate(self.options, start=1):
            if said in (str(number), normalize_text(option.value), normalize_text(option.label)):
                return option.value
        raise Invalid()

    def transition(self, value: Any, answers: Answers) -> Target | None:
        chosen = self.next
        if isinstance(chosen, Mapping):
            return chosen.get(str(value))
        if callable(chosen):
            return chosen(answers)
        return chosen


class Confirm(Step):
    """A yes/no question; its answer is True or False.

    on_yes / on_no: where to go (default: the next step on yes, CANCEL on no; a step key to
    go back and ask it again). yes_words / no_words: the answers understood, compared as whole
    messages, ignoring case, accents and punctuation.
    """

    def __init__(
        self,
        key: str,
        prompt: Prompt,
        *,
        on_yes: Target | None = None,
        on_no: Target | None = CANCEL,
        yes_words: Iterable[str] = DEFAULT_YES,
        no_words: Iterable[str] = DEFAULT_NO,
        retry: Prompt | None = None,
        max_attempts: int = 3,
        when: Condition | None = None,
    ) -> None:
        super().__init__(
            key, prompt, retry=retry, max_attempts=max_attempts, when=when, remember=False
        )
        self.on_yes = _check_target(key, on_yes, "on_yes")
        self.on_no = _check_target(key, on_no, "on_no")
        self.yes_words = _word_set(key, yes_words, "yes_words")
        self.no_words = _word_set(key, no_words, "no_words")
        both = self.yes_words & self.no_words
        if both:
            raise ValueError(f"step {key!r}: {sorted(both)} cannot mean both yes and no")

    def targets(self) -> list[Target]:
        return [t for t in (self.on_yes, self.on_no) if t is not None]

    def words(self) -> list[str]:
        return sorted(self.yes_words | self.no_words)

    async def read(self, message: InboundMessage) -> bool:
        payload = message.whatsapp.button_payload if message.whatsapp else None
        for candidate in (payload, message.text):
            said = normalize_text(candidate or "")
            if said in self.yes_words:
                return True
            if said in self.no_words:
                return False
        raise Invalid()

    def transition(self, value: Any, answers: Answers) -> Target | None:
        return self.on_yes if value else self.on_no


def format_prompt(prompt: Prompt, answers: Answers, key: str) -> str:
    """A prompt filled in with the answers; a placeholder with no answer on this path is a bug
    in the flow, reported with the step it is in."""
    if callable(prompt):
        text = prompt(answers)
        if not isinstance(text, str):
            raise TypeError(f"step {key!r}: the prompt function returned {type(text).__name__}")
        return text
    try:
        return prompt.format_map(answers)
    except KeyError as missing:
        raise LookupError(
            f"step {key!r}: the prompt uses {{{missing.args[0]}}}, which has no answer on the "
            "path this flow took (guard the step with when=, or use a prompt function)"
        ) from None


def _check_prompt(prompt: Prompt, what: str) -> Prompt:
    if callable(prompt):
        return prompt
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"{what} must be non-empty text or a function of the answers")
    try:
        _fields(prompt)
    except ValueError as exc:
        raise ValueError(
            f"{what} {prompt!r} is not a valid template ({exc}); write {{{{ for {{"
        ) from None
    return prompt


def _fields(text: Prompt | None) -> set[str]:
    """The answer keys a template refers to (``{order_id}``, ``{total:.2f}``)."""
    if text is None or callable(text):
        return set()
    names: set[str] = set()
    for _, field, _, _ in string.Formatter().parse(text):
        if field is None:
            continue
        name = re.split(r"[.\[]", field, maxsplit=1)[0]
        if not name or name.isdigit():
            raise ValueError("placeholders must name an answer, like {order_id}")
        names.add(name)
    return names


def _options(key: str, options: Sequence[str] | Mapping[str, str] | None) -> tuple[Option, ...]:
    if options is None:
        return ()
    if isinstance(options, str):
        raise TypeError(f"step {key!r}: options must be a list of choices, not one string")
    pairs = list(options.items()) if isinstance(options, Mapping) else [(o, o) for o in options]
    if not pairs:
        raise ValueError(f"step {key!r}: options must name at least one choice")
    chosen: list[Option] = []
    seen: dict[str, str] = {}
    for number, (value, label) in enumerate(pairs, start=1):
        if not isinstance(value, str) or not isinstance(label, str):
            raise TypeError(f"step {key!r}: options must be text")
        if not normalize_text(value) or not normalize_text(label):
            raise ValueError(f"step {key!r}: option {value!r} has no letters or digits")
        for word in {normalize_text(value), normalize_text(label)}:
            clash = seen.get(word)
            if clash is not None and clash != value:
                raise ValueError(f"step {key!r}: options {clash!r} and {value!r} read the same")
            if word.isdigit() and word != str(number):
                raise ValueError(
                    f"step {key!r}: option {value!r} is a number, which users could mean as "
                    "the position of another option"
                )
            seen[word] = value
        chosen.append(Option(value, label))
    return tuple(chosen)


def _check_target(key: str, target: Target | None, what: str) -> Target | None:
    if target is None or isinstance(target, End):
        return target
    if isinstance(target, str) and _KEY.fullmatch(target):
        return target
    raise ValueError(f"step {key!r}: {what} must be a step key, DONE or CANCEL, not {target!r}")


def _check_transition(key: str, next: Transition, options: tuple[Option, ...]) -> Transition:
    if next is None or isinstance(next, str | End):
        return _check_target(key, next, "next")
    if isinstance(next, Mapping):
        values = {o.value for o in options}
        for answer, target in next.items():
            if options and answer not in values:
                raise ValueError(
                    f"step {key!r}: next names answer {answer!r}, which is not one of its "
                    f"options {sorted(values)}"
                )
            _check_target(key, target, f"next[{answer!r}]")
        return dict(next)
    if callable(next):
        return next
    raise TypeError(
        f"step {key!r}: next must be a step key, DONE, CANCEL, a mapping of answers to them, "
        "or a function of the answers"
    )


def _word_set(key: str, words: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(words, str):
        words = [words]
    normalized = frozenset(normalize_text(w) for w in words)
    if not normalized or "" in normalized:
        raise ValueError(f"step {key!r}: {what} must be non-empty words")
    return normalized

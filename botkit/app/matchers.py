"""Conditions an intent can place on a message. All given conditions must hold.

Matchers are compiled once at registration, so routing a message costs a few regex searches.

Where an intent fires is a condition too (``scope``): ``"direct"`` (the default) is 1:1
messages only, ``"conversation"`` is Conversations messages only, ``"any"`` is both. So an
intent written for 1:1 texting never answers inside a multi-party conversation unless it opts
in. The message a matcher sees is an InboundMessage (1:1) or a MessageAdded (conversation); both
have ``body``, ``text``, ``channel`` and ``sid``, and a ``when`` predicate receives whichever it is.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from botkit.twilio.conversation_events import ConversationChannel, MessageAdded
from botkit.twilio.inbound import InboundMessage

#: What an intent is routed on: a 1:1 message or a message added to a conversation.
RoutedMessage = InboundMessage | MessageAdded
#: Receives the RoutedMessage being matched (typed Any so a predicate written for one kind of
#: message, e.g. ``def vip(message: InboundMessage) -> bool``, can be passed as it is).
Predicate = Callable[[Any], bool | Awaitable[bool]]
IntentScope = Literal["direct", "conversation", "any"]
SCOPES: frozenset[str] = frozenset({"direct", "conversation", "any"})
#: "chat": written by a chat client or the API, which happens only in conversations.
CHANNELS: frozenset[str] = frozenset({"sms", "mms", "whatsapp", "chat"})


@dataclass(frozen=True)
class MatchResult:
    slots: dict[str, str]


@dataclass(frozen=True)
class Matcher:
    keywords: re.Pattern[str] | None
    pattern: re.Pattern[str] | None
    when: Predicate | None
    channels: frozenset[str] | None
    scope: IntentScope = "direct"

    async def match(self, message: RoutedMessage) -> MatchResult | None:
        where = "conversation" if isinstance(message, MessageAdded) else "direct"
        if self.scope not in ("any", where):
            return None
        if self.channels is not None and message.channel not in self.channels:
            return None
        text = message.text
        if self.keywords is not None and not self.keywords.search(text):
            return None
        slots: dict[str, str] = {}
        if self.pattern is not None:
            found = self.pattern.search(text)
            if found is None:
                return None
            slots = {k: v for k, v in found.groupdict().items() if v is not None}
        if self.when is not None:
            verdict = self.when(message)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if not verdict:
                return None
        return MatchResult(slots=slots)


def compile_matcher(
    *,
    keywords: Iterable[str] | None,
    pattern: str | re.Pattern[str] | None,
    when: Predicate | None,
    channel: ConversationChannel | Iterable[ConversationChannel] | None,
    scope: IntentScope = "direct",
) -> Matcher:
    """Validate an intent's conditions up front so a typo fails at import, not at 3 a.m."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; use one of {sorted(SCOPES)}")
    channels = _channels(channel)
    if channels is not None and "chat" in channels and scope == "direct":
        raise ValueError("channel 'chat' exists only in conversations: add scope='conversation'")
    return Matcher(
        keywords=_keywords(keywords),
        pattern=_pattern(pattern),
        when=when,
        channels=channels,
        scope=scope,
    )


def _keywords(keywords: Iterable[str] | None) -> re.Pattern[str] | None:
    if keywords is None:
        return None
    if isinstance(keywords, str):
        keywords = [keywords]
    words = [w.strip() for w in keywords if w.strip()]
    if not words:
        raise ValueError("keywords must name at least one word")
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _pattern(pattern: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    if pattern is None or isinstance(pattern, re.Pattern):
        return pattern
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid pattern {pattern!r}: {exc}") from None


def _channels(
    channel: ConversationChannel | Iterable[ConversationChannel] | None,
) -> frozenset[str] | None:
    if channel is None:
        return None
    chosen = frozenset([channel] if isinstance(channel, str) else channel)
    unknown = chosen - CHANNELS
    if unknown:
        raise ValueError(f"unknown channel(s) {sorted(unknown)}; use {sorted(CHANNELS)}")
    return chosen

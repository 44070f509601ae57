"""Conditions an intent can place on a message. All given conditions must hold.

Matchers are compiled once at registration, so routing a message costs a few regex searches.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from botkit.twilio.inbound import Channel, InboundMessage

Predicate = Callable[[InboundMessage], bool | Awaitable[bool]]
CHANNELS: frozenset[str] = frozenset({"sms", "mms", "whatsapp"})


@dataclass(frozen=True)
class MatchResult:
    slots: dict[str, str]


@dataclass(frozen=True)
class Matcher:
    keywords: re.Pattern[str] | None
    pattern: re.Pattern[str] | None
    when: Predicate | None
    channels: frozenset[str] | None

    async def match(self, message: InboundMessage) -> MatchResult | None:
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
    channel: Channel | Iterable[Channel] | None,
) -> Matcher:
    """Validate an intent's conditions up front so a typo fails at import, not at 3 a.m."""
    return Matcher(
        keywords=_keywords(keywords),
        pattern=_pattern(pattern),
        when=when,
        channels=_channels(channel),
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


def _channels(channel: Channel | Iterable[Channel] | None) -> frozenset[str] | None:
    if channel is None:
        return None
    chosen = frozenset([channel] if isinstance(channel, str) else channel)
    unknown = chosen - CHANNELS
    if unknown:
        raise ValueError(f"unknown channel(s) {sorted(unknown)}; use {sorted(CHANNELS)}")
    return chosen

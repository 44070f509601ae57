"""What a Twilio error means for a message: retry it, hold its sender, convert it, or give up.

The table follows twilio-facts.md. Anything unknown is permanent when Twilio answered 4xx (it
looked at the request and refused it; sending it again would be refused again) and transient
when it answered 5xx or nothing at all.
"""

from __future__ import annotations

from enum import Enum


class Verdict(Enum):
    RATE_LIMITED = "rate_limited"  # hold this sender, then retry
    TRANSIENT = "transient"  # retry with backoff, bounded
    OPTED_OUT = "opted_out"  # record the opt-out, never retry
    WINDOW_CLOSED = "window_closed"  # WhatsApp 24 h window: send the template instead
    PERMANENT = "permanent"  # dead-letter with the reason


_BY_CODE: dict[int, Verdict] = {
    20429: Verdict.RATE_LIMITED,
    21611: Verdict.TRANSIENT,  # the From queue is full: later
    30003: Verdict.TRANSIENT,
    21610: Verdict.OPTED_OUT,
    63016: Verdict.WINDOW_CLOSED,
    20003: Verdict.PERMANENT,
    20404: Verdict.PERMANENT,
    21211: Verdict.PERMANENT,
    21408: Verdict.PERMANENT,
    21608: Verdict.PERMANENT,
    21612: Verdict.PERMANENT,
    21614: Verdict.PERMANENT,
    30006: Verdict.PERMANENT,
    30007: Verdict.PERMANENT,
    63003: Verdict.PERMANENT,
}


def classify(status: int | None, code: int | None) -> Verdict:
    """status: the HTTP status (None: no answer, e.g. a timeout); code: Twilio's error code."""
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if status == 429:
        return Verdict.RATE_LIMITED
    if status is None or status >= 500:
        return Verdict.TRANSIENT
    return Verdict.PERMANENT


class FormError(Exception):
    """The message cannot be sent in its present form (e.g. outside the WhatsApp window)."""


class Deferred(Exception):
    """Not now: send at ``until_us`` (quiet hours)."""

    def __init__(self, until_us: int, why: str) -> None:
        super().__init__(why)
        self.until_us = until_us

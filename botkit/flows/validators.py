"""Ready-made validators for ``Ask(validate=...)``: each returns the value to store or raises
``Invalid`` with a message that tells the user how to answer (re-asking with "invalid" alone
teaches nobody anything)."""

from __future__ import annotations

import re
from collections.abc import Callable

from botkit.flows.steps import Invalid

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def integer(
    *, min: int | None = None, max: int | None = None, message: str | None = None
) -> Callable[[str], int]:
    """A whole number (``1,200`` and `` 42 `` are read too), within ``min``..``max``."""
    if min is not None and max is not None and min > max:
        raise ValueError(f"integer(): min {min} is above max {max}")
    bounds = (
        f" from {min} to {max}"
        if min is not None and max is not None
        else f" of at least {min}" if min is not None
        else f" of at most {max}" if max is not None
        else ""
    )
    told = message or f"Please answer with a whole number{bounds}."

    def check(text: str) -> int:
        try:
            value = int(text.strip().replace(",", ""))
        except ValueError:
            raise Invalid(told) from None
        if (min is not None and value < min) or (max is not None and value > max):
            raise Invalid(told)
        return value

    return check


def matches(pattern: str | re.Pattern[str], message: str) -> Callable[[str], str]:
    """Text matching ``pattern`` in full (case-insensitive unless precompiled); stores the
    trimmed text."""
    try:
        compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, re.I)
    except re.error as exc:
        raise ValueError(f"matches(): invalid pattern {pattern!r}: {exc}") from None
    if not isinstance(message, str) or not message.strip():
        raise ValueError("matches(): message must tell the user how to answer")

    def check(text: str) -> str:
        text = text.strip()
        if not compiled.fullmatch(text):
            raise Invalid(message)
        return text

    return check


def email(message: str = "That does not look like an email address. What is it?") -> Callable[
    [str], str
]:
    """An email address, stored in lower case (so a remembered address compares equal)."""

    def check(text: str) -> str:
        text = text.strip()
        if not _EMAIL.fullmatch(text):
            raise Invalid(message)
        return text.lower()

    return check

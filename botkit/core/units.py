"""Converting the seconds botkit's settings speak into the milliseconds Redis commands take."""

from __future__ import annotations


def milliseconds(seconds: float) -> int:
    """Whole milliseconds, at least 1: Redis refuses a PX or a BLOCK of 0 as "forever" or
    an error, and a sub-millisecond setting means "as short as possible", not "never"."""
    return max(1, int(seconds * 1000))

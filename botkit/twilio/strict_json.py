"""JSON as webhooks may carry it, refusing what could not be queued exactly as it came.

A webhook is answered 200 only once it is queued, and the queue stores it as JSON: a value JSON
cannot hold would be accepted, then stored as something else (NaN and Infinity become ``null``)
or not stored at all (a lone surrogate is not UTF-8), and the worker would drop the event as
unreadable. So such values are refused here, at the edge, with a one-line reason.

Nesting is bounded before parsing: ``json.loads`` recurses, and a body of ten thousand ``[``
would raise RecursionError instead of a clear 400. Twilio's payloads nest a few levels; user
Attributes on Conversations rarely more.

Like the payload models, this module depends on nothing else in botkit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def loads(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of text; ValueError for JSON that is invalid, nested deeper than
    max_depth, or holds NaN, an infinity or a lone surrogate. Its text is the end of a one-line
    reason, after the subject: f"Attributes {exc}"."""
    if nesting(text) > max_depth:
        raise ValueError(f"is nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # nesting() is exact for valid JSON; this is a second fence
        raise ValueError(f"is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        reason = str(exc) if isinstance(exc, _Unstorable) else "is not valid JSON"
        raise ValueError(reason) from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate, which is not text") from None
    return value


def nesting(text: str) -> int:
    """How deep the arrays and objects of text nest (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class _Unstorable(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _Unstorable(f"holds {name}, which JSON cannot store")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Unstorable(f"holds {text[:20]}, which is too large to store")
    return value

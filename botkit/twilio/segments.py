"""How many SMS segments a body costs: GSM-7 when every character allows it, else UCS-2.

Twilio bills and rate-limits long-code SMS per segment, so both the sandbox (num_segments) and
the outbound worker (rate limits) need the same count.

A single segment holds 160 GSM-7 septets or 70 UCS-2 code units. A longer message is split into
parts of 153 septets or 67 code units (the rest holds the concatenation header), and a part
never splits a character: an extension character (escape + char, two septets) or a character
outside the BMP (a surrogate pair, two code units), or a user-perceived character made of
several code points (emoji with modifiers or joiners), moves whole to the next part. This is
how Twilio's own segment calculator packs parts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

Encoding = Literal["GSM-7", "UCS-2"]

_ZWJ = "\u200d"
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def count_segments(body: str) -> SegmentCount:
    """Segments for body: GSM-7 160 single / 153 per part; UCS-2 70 single / 67 per part."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in body]
        return SegmentCount("GSM-7", sum(costs), _parts(costs, GSM7_SINGLE, GSM7_PART))
    costs = [len(cluster.encode("utf-16-le")) // 2 for cluster in _clusters(body)]
    return SegmentCount("UCS-2", sum(costs), _parts(costs, UCS2_SINGLE, UCS2_PART))


def _parts(costs: list[int], single: int, multi: int) -> int:
    """Parts needed for characters of the given costs, none split between two parts."""
    if sum(costs) <= single:
        return 1
    parts, free = 1, multi
    for cost in costs:
        if cost > free:
            parts, free = parts + 1, multi
        free -= cost
    return parts


def _joins_previous(ch: str) -> bool:
    """Whether ch continues the user-perceived character before it."""
    code = ord(ch)
    return (
        unicodedata.combining(ch) != 0
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        or code == 0x20E3  # combining enclosing keycap
    )


def _clusters(text: str) -> Iterator[str]:
    """An approximation of extended grapheme clusters, enough for SMS packing: a base code
    point with its combining marks, modifiers and ZWJ sequences, and regional-indicator pairs."""
    current = ""
    joined = False  # the previous code point was a zero-width joiner
    for ch in text:
        if not current:
            current = ch
        elif joined or ch == _ZWJ or _joins_previous(ch) or _pairs_flag(current, ch):
            current += ch
        else:
            yield current
            current = ch
        joined = ch == _ZWJ
    if current:
        yield current


def _pairs_flag(current: str, ch: str) -> bool:
    """Two regional indicators make one flag."""
    return (
        len(current) == 1
        and ord(current) in _REGIONAL_INDICATORS
        and ord(ch) in _REGIONAL_INDICATORS
    )

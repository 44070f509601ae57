"""How many SMS segments a body costs: GSM-7 when every character allows it, else UCS-2.

Twilio bills and rate-limits long-code SMS per segment, so both the sandbox (num_segments) and
the dispatcher (rate limits) need the same count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def count_segments(body: str) -> SegmentCount:
    """Segments for body: GSM-7 160 single / 153 per part; UCS-2 70 single / 67 per part."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in body)
        return SegmentCount("GSM-7", units, _parts(units, single=160, multi=153))
    units = len(body.encode("utf-16-le")) // 2
    return SegmentCount("UCS-2", units, _parts(units, single=70, multi=67))


def _parts(units: int, *, single: int, multi: int) -> int:
    if units <= single:
        return 1
    return -(-units // multi)

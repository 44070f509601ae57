"""Twilio-style SIDs: a two-letter prefix and 32 hex digits."""

import os


def new_sid(prefix: str) -> str:
    """prefix + the hex of a random (version 4) UUID, as ``uuid.uuid4().hex`` spells it, at a
    third of its cost: the version and variant bits set by hand instead of through UUID."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return prefix + raw.hex()

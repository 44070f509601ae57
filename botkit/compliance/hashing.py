"""How the consent ledger refers to a person: an HMAC of their number, never the number itself.

The ledger must answer "has this number opted out?" without being a list of phone numbers that
leaks in a backup or a Redis dump. A keyed hash does that: HMAC-SHA256(pepper, E.164 number),
with the pepper kept outside Redis. A plain SHA-256 would not do, since the whole numbering plan
can be hashed in an afternoon; without the pepper the HMACs cannot be reversed that way.

The channel prefix is dropped before hashing (``whatsapp:+15551230123`` and ``+15551230123``
are one person), so a STOPALL covers SMS and WhatsApp alike; the scope, not the hash, says
which sender an opt-out is about.

Changing the pepper orphans every record: the same number hashes differently afterwards. Treat
it like a database encryption key, not like a session secret that can be rotated at will.
"""

from __future__ import annotations

import hashlib
import hmac

from botkit.core.person import Person
from botkit.logging import mask_phone
from botkit.twilio.address import parse_address

#: Shortest pepper accepted: a short one could be guessed, and with it every hash reversed.
MIN_PEPPER_LENGTH = 16


def normalize_number(raw: str) -> str:
    """The bare E.164 number (or short code) of a Twilio address; ValueError if it is none."""
    return parse_address(raw).number


def mask_number(number: str) -> str:
    """The operator-facing form, e.g. +1555***0123. Short numbers keep only their last two."""
    masked = mask_phone(number)
    if masked != number:
        return masked
    return "***" + number[-2:] if len(number) > 4 else "***"


class NumberHasher:
    """Turns a recipient's address into the ledger's key (an HMAC) and a masked label."""

    def __init__(self, pepper: str | bytes) -> None:
        key = pepper.encode() if isinstance(pepper, str) else pepper
        if len(key) < MIN_PEPPER_LENGTH:
            raise ValueError(f"the consent pepper must be at least {MIN_PEPPER_LENGTH} bytes long")
        self._key = key

    def digest(self, number: str) -> str:
        """Hex HMAC-SHA256(pepper, E.164 number) of an address, with or without ``whatsapp:``."""
        bare = normalize_number(number)
        return hmac.new(self._key, bare.encode(), hashlib.sha256).hexdigest()

    def mask(self, number: str) -> str:
        return mask_number(normalize_number(number))

    def pseudonym(self, name: str) -> str:
        """What a key that names a person holds instead of them: the ``digest`` of a phone
        address (so a person has one pseudonym on every channel and in every store), or for a
        chat identity, the HMAC of the identity itself, kept apart from any number's."""
        try:
            return self.digest(name)
        except ValueError:
            return self.keyed(f"identity:{name}")

    def keyed(self, text: str) -> str:
        """Hex HMAC-SHA256(pepper, text): a key a bot chose, stored without its text."""
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def person(self, number: str) -> Person:
        """The person behind ``number`` as the stores find them; ValueError if it is none."""
        bare = normalize_number(number)
        return Person(number=bare, digest=self.digest(bare), masked=mask_number(bare))

    def __repr__(self) -> str:
        return "NumberHasher(pepper=[redacted])"

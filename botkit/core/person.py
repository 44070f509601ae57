"""One person, as the stores see them when their data is exported or erased, and the
pseudonym every key that names a person is built from.

No key in any store holds a phone number: a key that names a person holds their pseudonym, the
pepper-HMAC of the number (``NumberHasher.pseudonym``), the same one the consent ledger has
always used. So a person's keys can be found, and nothing else can be learnt from them.

Stores below the composition root cannot import the hasher (it lives with the consent ledger,
a sibling layer), so they are handed its ``pseudonym`` function as a ``Pseudonym``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

#: A person's (or a chat identity's) key part: the pepper-HMAC of what names them.
Pseudonym = Callable[[str], str]

_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")


def is_pseudonym(part: str) -> bool:
    """Whether a key part is a pseudonym already (64 hex digits: an HMAC-SHA256), so that a
    re-key leaves it alone."""
    return bool(_PSEUDONYM.match(part))

#: What a store holds about a person, JSON-ready: one object per record.
Found = list[dict[str, Any]]


@dataclass(frozen=True)
class Person:
    """A person to export or erase. ``number``: bare E.164; ``digest``: their pseudonym, the
    part of every key that names them; ``masked``: the form operators see.
    ``conversations``: the Conversations they take part in, and ``messages``: the SIDs of the
    messages sent to them, found first (in the participant mirror, the handoff records, the
    outbound queue, and Twilio if asked) so that the stores keyed by those find theirs."""

    number: str
    digest: str
    masked: str
    conversations: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, str]:
        """Every address Twilio knows them by: SMS/MMS and WhatsApp."""
        return (self.number, f"whatsapp:{self.number}")

    def is_address(self, address: str | None) -> bool:
        """Whether ``address`` (with or without a channel prefix) is theirs."""
        return address is not None and address.strip().removeprefix("whatsapp:") == self.number

    def mentioned_in(self, text: str) -> bool:
        """Whether ``text`` names them: their number (with or without its +), its masked form,
        their pseudonym, or one of their conversations."""
        needles = (self.number.lstrip("+"), self.masked, self.digest, *self.conversations)
        return any(needle and needle in text for needle in needles)


class PersonalData(Protocol):
    """A store that holds something about people: it can say what, and forget it."""

    async def export_person(self, person: Person) -> Found:
        """Everything the store holds about ``person``, JSON-ready."""

    async def erase_person(self, person: Person) -> int:
        """Forget everything the store holds about ``person``; how many records went."""

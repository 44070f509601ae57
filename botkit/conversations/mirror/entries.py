"""How both participant mirrors store a participant: one JSON object per participant,

    {"n": <order>, "v": <version>, "a": <the author's pseudonym>, "p": <Participant>}

so the Redis scripts can order, compare versions and index authors without knowing the model,
and the memory twin stores exactly the same strings. The author index names people by their
pseudonym (botkit/core/person.py), so no key or field of the mirror holds a number; the
participant itself (its address is how Twilio reaches them) is kept only as long as the
conversation's mirror lives.

``n`` keeps Twilio's listing order (creation order): dates have whole-second resolution, so two
participants added in one second cannot be ordered by date. A conversation numbers its entries
as they arrive; ``replace_all`` renumbers them in the order the API listed them. The number is
spliced in front of the rest of the JSON (``with_order``), never re-encoded, because a Lua
round trip through cjson would rewrite the participant's attributes (floats, escapes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botkit.conversations.models import Participant
from botkit.core.person import Pseudonym

DEFAULT_TOMBSTONE_TTL = 3600.0
DEFAULT_MIRROR_TTL = 30 * 24 * 3600.0

_ORDER = re.compile(r'^\{"n":\d+,')


def version_of(participant: Participant) -> int:
    """Whole seconds of DateUpdated, else DateCreated, else 0 (see mirror.py, "Newer wins")."""
    moment = participant.date_updated or participant.date_created
    return int(moment.timestamp()) if moment is not None else 0


def seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def author_key(participant: Participant, pseudonym: Pseudonym) -> str:
    """What the author index holds for a participant ('' when it has no author)."""
    return pseudonym(participant.author) if participant.author else ""


def entry_body(participant: Participant, pseudonym: Pseudonym) -> str:
    """The entry without its order: the JSON object's text after the opening brace."""
    encoded = json.dumps(
        {
            "v": version_of(participant),
            "a": author_key(participant, pseudonym),
            "p": participant.model_dump(mode="json"),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return encoded[1:]


def with_order(body: str, n: int) -> str:
    """A complete entry: the order number spliced in front of ``entry_body``."""
    return f'{{"n":{n},{body}'


def reorder(raw: str, n: int) -> str:
    """The same entry with another order number (Lua does the same with string.gsub)."""
    return _ORDER.sub(f'{{"n":{n},', raw, count=1)


def entry_version(raw: str | bytes) -> int:
    return int(_load(raw)["v"])


def entry_author(raw: str | bytes) -> str:
    return str(_load(raw)["a"])


def entry_order(raw: str | bytes) -> int:
    return int(_load(raw)["n"])


def decode_entry(raw: str | bytes) -> Participant:
    return Participant.model_validate(_load(raw)["p"])


def in_order(raws: Iterable[str | bytes]) -> list[Participant]:
    """Entries decoded, in the conversation's order (see the module docstring)."""
    loaded = sorted((_load(raw) for raw in raws), key=lambda entry: int(entry["n"]))
    return [Participant.model_validate(entry["p"]) for entry in loaded]


def _load(raw: str | bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(raw)
    return value

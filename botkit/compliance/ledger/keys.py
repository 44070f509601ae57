"""The consent ledger's Redis key layout, and the consent rule as Lua: shared by the ledger
(redis.py) and the outbound queue's claim script, which reads consent at send time.

Key layout (``T`` is the ledger's hash tag, ``botkit:consent``; ``H`` is the number's HMAC;
the copies in the outbound shards' slots are listed under ConsentShards):

==============================  =======  =====================================================
``{T}:state:H:<scope>``         string   ``out:<seq>`` (opted out) or ``in:<seq>`` (exempt from
                                         an earlier global opt-out); absent: no opinion. The
                                         only keys a send-time check reads.
``{T}:optouts``                 hash     ``H|<scope>`` -> JSON {masked, keyword, source, at}:
                                         the standing opt-outs, for operators.
``{T}:numbers``                 hash     ``H`` -> masked number, for every number with a trail.
``{T}:audit:H``                 stream   the audit trail: seq, at, action, scope, keyword,
                                         source. Append-only, never trimmed.
``{T}:seq``                     string   the counter that orders every change.
``{T}:copy-counts``             set      every shard count a process has run with.
==============================  =======  =====================================================

No key or value holds a recipient's number: only H and the masked form (``+1555***0123``).
Scopes are our own senders (numbers, ``whatsapp:`` addresses, MG SIDs) and ``*`` for global.

Why the ledger's keys share one hash tag, and the queue's shards hold copies. Promise 4 says a
message queued before a STOP is never sent. That holds only if the outbound queue's claim of a
message and the check of its recipient's consent happen in one Lua script, so that Redis orders
each claim strictly before or after the STOP's write. On Redis Cluster a script may only touch
keys of one slot, and a claim script picks up messages to arbitrary recipients, so consent cannot
be spread by number (each recipient would live elsewhere) or by sender (the global scope would
live elsewhere). So the ledger lives in one slot, and each shard of the outbound queue holds a
copy of the states in its own (ConsentShards). A check is one MGET of at most three short
strings in the claim's own slot.

How the outbound queue checks consent in its claim script::

    keys = consent_check_keys(ledger.hasher.digest(to), [sender, service_sid], tag=...)
    # pass keys in KEYS (cluster routing needs them declared), then in the script:
    #   <CONSENT_LUA>
    #   if botkit_consent_blocked(redis.call('MGET', unpack(KEYS, i, j))) then ... end

``CONSENT_LUA`` is the rule ``ledger.is_blocked`` implements, and it is the code this module's own
``is_opted_out`` runs, so the outbound queue cannot drift from what the tests check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from botkit.compliance.ledger.protocol import (
    GLOBAL_SCOPE,
    check_scopes,
)
from botkit.core.sharding import shard_of, spread_tags

DEFAULT_TAG = "botkit:consent"


@dataclass(frozen=True)
class ConsentShards:
    """The slots consent is checked in: one per shard of the outbound queue, which a sender's
    jobs and rate state live in (``BOTKIT_SHARDS``).

    The ledger itself (the states, the standing opt-outs, the audit trail, the change counter)
    always lives under ``base``, whatever the count, so that changing ``BOTKIT_SHARDS`` never
    loses an opt-out. With more than one shard, every shard's slot holds a copy of the states,
    which the ledger writes after its own change and before the change returns. A claim checks
    the copy in its own slot, atomically, as it always did; a STOP counts as recorded once every
    copy has it, and only then is the STOP confirmation queued (docs/outbound-and-compliance.md
    has the argument).

    Which copies exist is data, not configuration: each process registers its count in the
    ledger's slot (``{base}:copy-counts``) and fills its copies from the ledger before it
    serves, and every change is copied to the shards of every count ever registered. So a
    process started with another count, or an old one still running during a rolling change,
    keeps every copy current.

    A copy's slot ``{C}`` holds ``{C}:state:H:<scope>`` as the ledger does, ``{C}:copied`` (state
    key -> the ledger's sequence number of the change it holds), ``{C}:seq`` (counts the copied
    changes: the counter a worker re-reads before sending) and ``{C}:filled``."""

    count: int = 1
    base: str = DEFAULT_TAG

    @cached_property
    def tags(self) -> tuple[str, ...]:
        """Where this process's queue shards live and check consent (``(base,)`` for one)."""
        return spread_tags(self.base, self.count)

    @cached_property
    def copies(self) -> tuple[str, ...]:
        """This count's copy slots: every tag but the ledger's own."""
        return tuple(tag for tag in self.tags if tag != self.base)

    def of(self, sender: str) -> int:
        """The shard of a sender's jobs and rate state."""
        return shard_of(sender, self.count)

    def tag_for(self, sender: str) -> str:
        return self.tags[self.of(sender)]

    def copies_for(self, counts: Iterable[int]) -> tuple[str, ...]:
        """The copy slots of every registered count: where each change must be written."""
        tags = {tag for count in counts for tag in spread_tags(self.base, count)}
        tags.discard(self.base)
        return tuple(sorted(tags))


#: Lua helpers for any script that needs the consent rule. ``values``: MGET of
#: consent_check_keys(), i.e. the global state first and then one state per scope.
CONSENT_LUA = """
local function botkit_consent_parse(value)
  if not value then return nil, 0 end
  local kind, seq = string.match(value, '^(%a+):(%d+)$')
  return kind, tonumber(seq)
end
local function botkit_consent_blocked(values)
  local gkind, gseq = botkit_consent_parse(values[1])
  local exempt = false
  for i = 2, #values do
    local kind, seq = botkit_consent_parse(values[i])
    if kind == 'out' then return true end
    if kind == 'in' and gkind == 'out' and seq > gseq then exempt = true end
  end
  return gkind == 'out' and not exempt
end
"""


def hash_tag(tag: str) -> str:
    """``{tag}``: every key of the ledger (and the queue beside it) lives in its slot."""
    return "{" + tag + "}"


def consent_key(number_hash: str, scope: str, tag: str = DEFAULT_TAG) -> str:
    """The state key of (number hash, scope); scope must already be normalised."""
    return f"{hash_tag(tag)}:state:{number_hash}:{scope}"


def consent_changes_key(tag: str = DEFAULT_TAG) -> str:
    """The counter every opt-out and opt-in increments (``{T}:seq``); in a copy's slot, the
    counter every copied change increments."""
    return f"{hash_tag(tag)}:seq"


def copy_counts_key(tag: str = DEFAULT_TAG) -> str:
    """In the ledger's slot: the set of every shard count a process has run with."""
    return f"{hash_tag(tag)}:copy-counts"


def copy_filled_key(tag: str) -> str:
    """In a copy's slot: present once the copy was filled from the ledger."""
    return f"{hash_tag(tag)}:filled"


def copied_versions_key(tag: str) -> str:
    """In a copy's slot: state key -> the ledger sequence number of the change it holds."""
    return f"{hash_tag(tag)}:copied"


def consent_check_keys(
    number_hash: str, scopes: Iterable[str], tag: str = DEFAULT_TAG
) -> list[str]:
    """The keys a send-time check reads, in the order CONSENT_LUA expects: global first."""
    return [consent_key(number_hash, s, tag) for s in [GLOBAL_SCOPE, *check_scopes(scopes)]]



"""The consent ledger's Redis key layout, and the consent rule as Lua: shared by the ledger
(redis.py) and the outbound queue's claim script, which reads consent at send time.

Key layout (``T`` is the hash tag, ``botkit:consent`` by default; ``H`` is the number's HMAC):

==============================  =======  =====================================================
``{T}:state:H:<scope>``         string   ``out:<seq>`` (opted out) or ``in:<seq>`` (exempt from
                                         an earlier global opt-out); absent: no opinion. The
                                         only keys a send-time check reads.
``{T}:optouts``                 hash     ``H|<scope>`` -> JSON {masked, keyword, source, at}:
                                         the standing opt-outs, for operators.
``{T}:numbers``                 hash     ``H`` -> masked number, for every number with a trail.
``{T}:audit:H``                 stream   the audit trail: seq, at, action, scope, keyword,
                                         source. Append-only; events older than
                                         BOTKIT_AUDIT_RETENTION are trimmed.
``{T}:seq``                     string   the counter that orders every change.
==============================  =======  =====================================================

No key or value holds a recipient's number: only H and the masked form (``+1555***0123``).
Scopes are our own senders (numbers, ``whatsapp:`` addresses, MG SIDs) and ``*`` for global.

Why every key shares one hash tag. Promise 4 says a message queued before a STOP is never sent.
That holds only if the outbound queue's claim of a message and the check of its recipient's consent
happen in one Lua script, so that Redis orders each claim strictly before or after the STOP's
write. On Redis Cluster a script may only touch keys of one slot, and a claim script picks up
messages to arbitrary recipients, so consent cannot be spread by number (each recipient would
live elsewhere) or by sender (the global scope would live elsewhere). It has to sit in the slot
of the outbound queue's keys. Hence one tag, which the outbound queue either adopts for its
own keys or hands to ``RedisConsentLedger(tag=...)``. The price is that consent and the queues share
one shard; a check is one MGET of at most three short strings, and a shard serves around
100,000 of those per second, two orders above the benchmark's 1,000 messages per second.

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

from botkit.compliance.ledger.protocol import (
    GLOBAL_SCOPE,
    check_scopes,
)

DEFAULT_TAG = "botkit:consent"


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
    """The counter every opt-out and opt-in increments (``{T}:seq``)."""
    return f"{hash_tag(tag)}:seq"


def consent_check_keys(
    number_hash: str, scopes: Iterable[str], tag: str = DEFAULT_TAG
) -> list[str]:
    """The keys a send-time check reads, in the order CONSENT_LUA expects: global first."""
    return [consent_key(number_hash, s, tag) for s in [GLOBAL_SCOPE, *check_scopes(scopes)]]



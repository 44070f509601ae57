"""Per-sender rate limits shared by every worker: an exact GCRA, in Redis or in memory.

GCRA (the generic cell rate algorithm) keeps one number per sender, the theoretical arrival
time (TAT) at which its rate is next fully free. A send of ``cost`` units at ``rate`` units per
second is admitted when the TAT runs no further ahead of now than the burst leaves room for;
admitting it pushes the TAT on by ``cost / rate``. One number per sender, updated atomically,
is what lets any number of processes share a limit exactly: no windows, no token refills, and a
refusal says precisely how long to wait.

Time is kept in whole microseconds so that Python and Lua do the same exact integer arithmetic
(doubles hold integers exactly up to 2**53; epoch microseconds are about 2**51). The emission
interval is rounded up and the burst allowance down, so rounding can only make a sender slower,
by at most a microsecond per send, never faster.

Guarantee, for sends of one unit: in any time window of length W, a sender admits at most
``rate * W + burst`` units. A send costing more than the burst is admitted once the sender is
fully free (else a 3-segment SMS on a 1 segment/s long code could never go) and the sender then
pays it off: nothing more is admitted until the TAT comes back within the burst. That is how
Twilio meters it: the 3 segments leave at 1/s, and the next message waits 3 s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

MICROS = 1_000_000
# Float noise in cost * MICROS / rate (e.g. 0.1 not being exact) must not round a whole
# microsecond the wrong way; a picosecond of slack per send is harmless.
_SLACK = 1e-6


@dataclass(frozen=True)
class Decision:
    """The outcome of one reserve or peek, in the limiter's clock.

    ``now`` is the limiter's time of the decision (Redis: the server's TIME, shared by every
    process; memory: this process's ``time.time()``; or the injected ``now``). ``free_at`` is
    when ``cost`` would be admitted: ``now`` when it was, else ``now + wait``. A scheduler keeps
    ``free_at`` (or its own clock plus ``wait``) to wake exactly when the sender is free and to
    measure lateness against the earliest time the limit allowed.
    """

    admitted: bool
    wait: float
    now: float

    @property
    def free_at(self) -> float:
        return self.now + self.wait


class RateLimiter(Protocol):
    """Per-key GCRA limits. ``key`` names a sender; ``rate`` and ``burst`` come from the caller
    (a RateTable), so changing a limit needs no migration: the stored TAT means the same."""

    async def reserve(
        self, key: str, cost: float, rate: float, burst: float = 1.0, now: float | None = None
    ) -> float:
        """0.0 when ``cost`` was admitted and consumed; else the seconds to wait before it
        would be, having consumed nothing."""

    async def peek(
        self, key: str, cost: float, rate: float, burst: float = 1.0, now: float | None = None
    ) -> float:
        """The seconds ``reserve`` would answer now (0.0: it would admit), consuming nothing."""

    async def decide(
        self,
        key: str,
        cost: float,
        rate: float,
        burst: float = 1.0,
        *,
        consume: bool = True,
        now: float | None = None,
    ) -> Decision:
        """``reserve`` (consume) or ``peek`` with the limiter's clock in the answer."""


@dataclass(frozen=True)
class Cell:
    """How far one decision moves a TAT, in microseconds."""

    emission: int  # what admitting the cost adds to the TAT
    tolerance: int  # how far the TAT may run ahead of now and still admit the cost

    @classmethod
    def of(cls, cost: float, rate: float, burst: float) -> Cell:
        for name, value in (("cost", cost), ("rate", rate), ("burst", burst)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, not {value!r}")
        emission = math.ceil(cost * MICROS / rate - _SLACK)
        tolerance = math.floor(max(burst - cost, 0.0) * MICROS / rate + _SLACK)
        return cls(emission=emission, tolerance=tolerance)


def gcra(tat: int | None, now: int, cell: Cell) -> tuple[int, int]:
    """One GCRA step: (microseconds to wait, the TAT after admitting). A TAT in the past is the
    same as none: the sender is fully free. Admitted exactly when the wait is 0."""
    base = now if tat is None or tat < now else tat
    wait = base - cell.tolerance - now
    if wait > 0:
        return wait, base
    return 0, base + cell.emission


def to_micros(seconds: float) -> int:
    return round(seconds * MICROS)


class _Limiter:
    """reserve and peek, for implementations that provide decide."""

    async def decide(
        self,
        key: str,
        cost: float,
        rate: float,
        burst: float = 1.0,
        *,
        consume: bool = True,
        now: float | None = None,
    ) -> Decision:
        raise NotImplementedError

    async def reserve(
        self, key: str, cost: float, rate: float, burst: float = 1.0, now: float | None = None
    ) -> float:
        return (await self.decide(key, cost, rate, burst, consume=True, now=now)).wait

    async def peek(
        self, key: str, cost: float, rate: float, burst: float = 1.0, now: float | None = None
    ) -> float:
        return (await self.decide(key, cost, rate, burst, consume=False, now=now)).wait


class MemoryRateLimiter(_Limiter):
    """GCRA cells in a dict, for one process (development, unit tests).

    A decision has no await inside, so it is atomic among the event loop's tasks. Cells whose
    TAT has passed mean the same as no cell and are swept once a second of clock time, so
    state stays bounded by the senders active in the last second.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tats: dict[str, int] = {}
        self._next_sweep = 0

    def __len__(self) -> int:
        """Senders holding state (tests use it to see that idle senders cost nothing)."""
        return len(self._tats)

    async def decide(
        self,
        key: str,
        cost: float,
        rate: float,
        burst: float = 1.0,
        *,
        consume: bool = True,
        now: float | None = None,
    ) -> Decision:
        cell = Cell.of(cost, rate, burst)
        at = to_micros(self._clock() if now is None else now)
        self._sweep(at)
        wait, tat = gcra(self._tats.get(key), at, cell)
        if wait == 0 and consume:
            self._tats[key] = tat
        return Decision(admitted=wait == 0, wait=wait / MICROS, now=at / MICROS)

    def _sweep(self, now: int) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + MICROS
        self._tats = {key: tat for key, tat in self._tats.items() if tat > now}


# KEYS[1]: a sender's TAT in epoch microseconds. ARGV: emission µs, tolerance µs,
# consume '1'/'0', now µs or '' for this server's TIME. Returns {admitted, wait µs, now µs}.
# The TAT is written with %.0f because Lua's own number formatting keeps 14 digits only, and
# it expires with the TAT (plus 1 ms): past it, no key means exactly what the key meant.
_GCRA = """
local now
if ARGV[4] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[4])
end
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tonumber(ARGV[2]) - now
if wait > 0 then return {0, wait, now} end
if ARGV[3] == '1' then
  tat = tat + tonumber(ARGV[1])
  local ttl = math.floor((tat - now) / 1000) + 1
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', ttl))
end
return {1, 0, now}
"""


class RedisRateLimiter(_Limiter):
    """GCRA cells in Redis: one Lua script, one round trip per decision, one key per sender.

    The key is ``{<prefix>:rate:<sender>}``: the whole name is the hash tag, so on Redis Cluster
    each sender's cell lives in one slot and different senders spread over the cluster. Time
    comes from the server's TIME inside the script, so workers on machines with skewed clocks
    still share one clock. ``now`` overrides it for tests and simulations only: mixing injected
    and server time on one key is meaningless. Needs Redis 5 or later (scripts replicated by
    effects, which TIME before a write requires).
    """

    def __init__(self, redis: Redis, prefix: str = "botkit") -> None:
        self._prefix = prefix
        self._script = redis.register_script(_GCRA)

    def key(self, sender: str) -> str:
        return f"{{{self._prefix}:rate:{sender}}}"

    async def decide(
        self,
        key: str,
        cost: float,
        rate: float,
        burst: float = 1.0,
        *,
        consume: bool = True,
        now: float | None = None,
    ) -> Decision:
        cell = Cell.of(cost, rate, burst)
        args: list[int | str] = [cell.emission, cell.tolerance, "1" if consume else "0"]
        args.append("" if now is None else to_micros(now))
        admitted, wait, at = await self._script(keys=[self.key(key)], args=args)
        return Decision(admitted=bool(admitted), wait=int(wait) / MICROS, now=int(at) / MICROS)

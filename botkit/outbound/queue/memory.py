"""OutboundQueue in memory, for development and tests: the Redis queue's algorithm in Python.

The consent check calls the ledger (an in-memory one) inside the claim with no await between
the check and the lease, which in one event loop is as atomic as the Redis script. Sent jobs and
idempotency keys are forgotten after the same lifetimes as in Redis, so a development bot that
runs for weeks does not keep every message it ever sent.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from botkit.core.person import Found, Person
from botkit.core.script_call import ScriptCall
from botkit.outbound.job import Job
from botkit.outbound.queue.privacy import addressed_to, is_redacted, job_row, redacted
from botkit.outbound.queue.protocol import (
    FINISHED_TTL,
    IDEMPOTENCY_TTL,
    Batch,
    Claim,
    DeadLetter,
    Idle,
)

ConsentCheck = Callable[[Job], Awaitable[bool]]


def _now_us() -> int:
    return int(time.time() * 1_000_000)


@dataclass
class _Entry:
    job: Job
    state: str = "queued"
    attempts: int = 0
    token: str | None = None
    ready_us: int = 0
    reclaimed: bool = False
    sid: str | None = None
    reason: str | None = None
    error: str | None = None
    dead_us: int = 0


@dataclass
class _Sender:
    lanes: dict[str, list[tuple[int, str]]] = field(
        default_factory=lambda: {"reply": [], "bulk": []}
    )
    virtual: dict[str, int] = field(default_factory=dict)
    now_virtual: int = 0

    def empty(self) -> bool:
        return not self.lanes["reply"] and not self.lanes["bulk"]

    def left_line(self, recipient: str, virtual: int) -> None:
        """A job of ``recipient`` at ``virtual`` left the line: as the Redis claim script does,
        the recipient's entry goes unless they have a later job, and all of them once the line
        is empty."""
        if self.empty():
            self.virtual.clear()
            self.now_virtual = 0
            return
        self.now_virtual = virtual
        if self.virtual.get(recipient, 0) <= virtual:
            self.virtual.pop(recipient, None)


class MemoryOutboundQueue:
    def __init__(
        self,
        blocked: ConsentCheck | None = None,
        consent_changes: Callable[[], int] | None = None,
        *,
        finished_ttl: float = FINISHED_TTL,
        idempotency_ttl: float = IDEMPOTENCY_TTL,
    ) -> None:
        self._blocked = blocked
        self._finished_us = int(finished_ttl * 1_000_000)
        self._idempotency_us = int(idempotency_ttl * 1_000_000)
        # (when it goes, what): sent jobs and idempotency keys, each in expiry order.
        self._sent_expiry: deque[tuple[int, str]] = deque()
        self._key_expiry: deque[tuple[int, str, str]] = deque()
        self._consent_changes = consent_changes
        self._entries: dict[str, _Entry] = {}
        self._idempotency: dict[str, str] = {}
        self._senders: dict[str, _Sender] = {}
        self._ready: dict[str, int] = {}  # senders with queued jobs -> when their limit frees
        self._tat: dict[str, int] = {}
        self._rates: dict[str, float] = {}  # sender -> units per second
        self._delayed: dict[str, int] = {}
        self._inflight: dict[str, int] = {}
        self._by_sid: dict[str, str] = {}
        self._owners: dict[str, tuple[str, int]] = {}  # sender -> (worker, until µs)
        self._in_line = asyncio.Event()  # jobs were put in line outside a claim

    def enqueue_step(self, job: Job, *, not_before_us: int | None = None) -> ScriptCall | None:
        return None  # no round trips to share: ``enqueue`` it is

    async def enqueue(
        self, job: Job, *, not_before_us: int | None = None, now_us: int | None = None
    ) -> tuple[str, bool]:
        self._expire(_now_us())
        owner = self._idempotency.get(job.message.idempotency_key)
        if owner is not None:
            return owner, False
        self._idempotency[job.message.idempotency_key] = job.id
        key = job.message.idempotency_key
        self._key_expiry.append((_now_us() + self._idempotency_us, key, job.id))
        self._entries[job.id] = _Entry(job=job)
        now = _now_us() if now_us is None else now_us
        if not_before_us is not None and not_before_us > now:
            self._entries[job.id].state = "delayed"
            self._delayed[job.id] = not_before_us
        else:
            self._push_ready(job.id, now)
            self._in_line.set()
        return job.id, True

    def _push_ready(self, job_id: str, now: int) -> None:
        entry = self._entries[job_id]
        sender = self._senders.setdefault(entry.job.sender, _Sender())
        to = entry.job.recipient
        virtual = max(sender.now_virtual, sender.virtual.get(to, 0)) + 1
        sender.virtual[to] = virtual
        heapq.heappush(sender.lanes[entry.job.lane], (virtual, job_id))
        entry.state, entry.ready_us = "queued", now
        self._rates[entry.job.sender] = entry.job.rate
        if entry.job.sender not in self._ready:
            self._ready[entry.job.sender] = max(self._tat.get(entry.job.sender, 0), now)

    async def claim(self, lease: float, *, now_us: int | None = None) -> Claim | Idle:
        now = _now_us() if now_us is None else now_us
        return await self._claim(lease, now, now, [])

    async def claim_many(
        self,
        lease: float,
        limit: int,
        *,
        lookahead_us: int = 0,
        holds: Mapping[str, int] | None = None,
        worker: str = "",
        affinity_us: int = 0,
        catch_up_us: int = 0,
        now_us: int | None = None,
    ) -> Batch:
        now = _now_us() if now_us is None else now_us
        owner = _Owner(worker, affinity_us, catch_up_us)
        for sender, until in (holds or {}).items():
            await self.hold_sender(sender, until)
        claims: list[Claim] = []
        suppressed: list[Job] = []
        while len(claims) < limit:
            found = await self._claim(lease, now, now + lookahead_us, suppressed, owner)
            if isinstance(found, Idle):
                next_us = found.next_us
                break
            claims.append(found)
        else:
            ready = min(self._ready.values(), default=None)
            next_us = None if ready is None else max(ready, now)
        return Batch(
            claims=tuple(claims),
            next_us=next_us,
            suppressed=tuple(job.id for job in suppressed),
            suppressed_jobs=tuple(suppressed),
            now_us=now,
            consent_changes=_counters(await self.consent_changes()),
        )

    async def _claim(
        self,
        lease: float,
        now: int,
        horizon: int,
        suppressed: list[Job],
        owner: _Owner | None = None,
    ) -> Claim | Idle:
        """One claim at ``now`` of a slot up to ``horizon``, skipping senders another worker
        holds (see OutboundQueue.claim_many); jobs suppressed on the way are appended to
        ``suppressed``."""
        owner = owner or _Owner("", 0, 0)
        for job_id in [j for j, due in self._delayed.items() if due <= now]:
            del self._delayed[job_id]
            self._push_ready(job_id, now)
        for job_id in [j for j, until in self._inflight.items() if until <= now]:
            del self._inflight[job_id]
            entry = self._entries[job_id]
            entry.reclaimed, entry.token = True, None
            self._push_ready(job_id, now)
        while self._ready:
            later: int | None = None
            picked: tuple[str, int] | None = None
            for name, ready in sorted(self._ready.items(), key=self._turn(now)):
                if ready > horizon:
                    later = ready if later is None else min(later, ready)
                    break
                held = self._owners.get(name)
                if held is not None and held[0] != owner.worker and held[1] > now and owner.worker:
                    free = max(ready, held[1])
                    later = free if later is None else min(later, free)
                    continue
                picked = (name, ready)
                break
            if picked is None:
                return Idle(next_us=later, suppressed=tuple(job.id for job in suppressed))
            name, ready = picked
            sender = self._senders[name]
            lane = "reply" if sender.lanes["reply"] else "bulk"
            if sender.empty():
                del self._ready[name]
                del self._senders[name]
                continue
            virtual, job_id = heapq.heappop(sender.lanes[lane])
            entry = self._entries[job_id]
            sender.left_line(entry.job.recipient, virtual)
            if self._blocked is not None and entry.job.consent_keys and await self._blocked(
                entry.job
            ):
                entry.state, entry.reason, entry.dead_us = "dead", "opted_out", now
                suppressed.append(entry.job)
                if sender.empty():
                    del self._ready[name]
                continue
            tat = self._tat.get(name, 0)
            start = max(tat, now - owner.catch_up_us)
            new_tat = start + _interval(entry.job.cost, entry.job.rate)
            self._tat[name] = new_tat
            if owner.worker:
                self._owners[name] = (owner.worker, new_tat + owner.affinity_us)
            if sender.empty():
                del self._ready[name]
            else:
                self._ready[name] = new_tat
            token = secrets.token_hex(8)
            self._inflight[job_id] = now + int(lease * 1_000_000)
            entry.state, entry.token, entry.attempts = "inflight", token, entry.attempts + 1
            reclaimed, entry.reclaimed = entry.reclaimed, False
            return Claim(
                job=entry.job,
                token=token,
                attempts=entry.attempts,
                allowed_us=max(tat, entry.ready_us),
                claimed_us=now,
                reclaimed=reclaimed,
                send_at_us=start,
                consent_changes=await self.consent_changes(),
            )
        return Idle(next_us=None, suppressed=tuple(job.id for job in suppressed))

    def _turn(self, now: int) -> Callable[[tuple[str, int]], tuple[int, float, int, str]]:
        """The order senders are offered in (as the Redis claim script does): those whose slot
        has come, fastest first (a late send costs a fast sender more), then by slot."""

        def key(item: tuple[str, int]) -> tuple[int, float, int, str]:
            name, ready = item
            if ready <= now:
                return (0, -self._rates.get(name, 1.0), ready, name)
            return (1, 0.0, ready, name)

        return key

    def _leave(self, claim: Claim) -> _Entry | None:
        entry = self._entries.get(claim.job.id)
        if entry is None or entry.token != claim.token:
            return None
        self._inflight.pop(claim.job.id, None)
        entry.token = None
        return entry

    async def consent_changes(self, shard: int = 0) -> int | None:
        return None if self._consent_changes is None else self._consent_changes()

    async def close(self) -> None:
        pass

    async def wait_for_work(self, within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                await self._in_line.wait()
        except TimeoutError:
            return False
        self._in_line.clear()
        return True

    async def complete(self, claim: Claim, twilio_sid: str) -> bool:
        entry = self._leave(claim)
        if entry is None:  # or recorded by an earlier call whose answer was lost
            found = self._entries.get(claim.job.id)
            return found is not None and found.sid == twilio_sid
        entry.state, entry.sid = "sent", twilio_sid
        self._by_sid[twilio_sid] = claim.job.id
        self._sent_expiry.append((_now_us() + self._finished_us, claim.job.id))
        return True

    async def complete_many(self, done: Sequence[tuple[Claim, str]]) -> list[bool]:
        return [await self.complete(claim, sid) for claim, sid in done]

    async def retry(self, claim: Claim, at_us: int, error: str) -> bool:
        entry = self._leave(claim)
        if entry is None:
            return False
        entry.state, entry.error = "delayed", error
        self._delayed[claim.job.id] = at_us
        return True

    async def bury(self, claim: Claim, reason: str, error: str | None) -> bool:
        entry = self._leave(claim)
        if entry is None:
            return False
        entry.state, entry.reason, entry.error, entry.dead_us = "dead", reason, error, _now_us()
        return True

    async def drop(self, claim: Claim, reason: str) -> bool:
        entry = self._leave(claim)
        if entry is None:
            return False
        entry.state, entry.reason = "dropped", reason
        # Kept as long as a sent job, as the Redis queue's drop script expires it.
        self._sent_expiry.append((_now_us() + self._finished_us, claim.job.id))
        return True

    async def promote_delayed(self, due_by_us: int, *, now_us: int | None = None) -> int:
        now = _now_us() if now_us is None else now_us
        due = [job_id for job_id, at in self._delayed.items() if at <= due_by_us]
        for job_id in due:
            del self._delayed[job_id]
            self._push_ready(job_id, now)
        if due:
            self._in_line.set()
        return len(due)

    async def hold_sender(self, sender: str, until_us: int) -> None:
        self._tat[sender] = max(self._tat.get(sender, 0), until_us)
        if sender in self._ready:
            self._ready[sender] = max(self._ready[sender], until_us)

    async def update(self, claim: Claim, job: Job) -> None:
        self._entries[job.id].job = job

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        dead = [e for e in self._entries.values() if e.state == "dead"]
        dead.sort(key=lambda e: e.dead_us, reverse=True)
        return [
            DeadLetter(
                job=e.job,
                reason=e.reason or "",
                error=e.error,
                at_us=e.dead_us,
                attempts=e.attempts,
            )
            for e in dead[:limit]
        ]

    async def replay(self, job_id: str) -> bool:
        entry = self._entries.get(job_id)
        if entry is None or entry.state != "dead" or is_redacted(entry.job):
            return False
        entry.attempts, entry.reason, entry.error = 0, None, None
        self._push_ready(job_id, _now_us())
        self._in_line.set()
        return True

    async def find_by_sid(self, twilio_sid: str) -> Job | None:
        job_id = self._by_sid.get(twilio_sid)
        return None if job_id is None else self._entries[job_id].job

    async def status(self, job_id: str) -> dict[str, str] | None:
        entry = self._entries.get(job_id)
        if entry is None:
            return None
        found = {
            "state": entry.state,
            "attempts": str(entry.attempts),
            "sid": entry.sid,
            "reason": entry.reason,
            "error": entry.error,
        }
        return {k: v for k, v in found.items() if v}

    async def pending(self) -> int:
        live = ("queued", "delayed", "inflight")
        return sum(1 for e in self._entries.values() if e.state in live)

    async def redact_dead_letters(self, redact_before_us: int, drop_before_us: int) -> int:
        changed = 0
        for job_id, entry in list(self._entries.items()):
            if entry.state != "dead":
                continue
            if entry.dead_us <= drop_before_us:
                self._forget(job_id)
                changed += 1
            elif entry.dead_us <= redact_before_us and not is_redacted(entry.job):
                entry.job = redacted(entry.job)
                changed += 1
        return changed

    async def export_person(self, person: Person) -> Found:
        return [
            job_row(entry.job, await self.status(job_id) or {})
            for job_id, entry in self._entries.items()
            if addressed_to(entry.job, person)
        ]

    async def erase_person(self, person: Person) -> int:
        theirs = [j for j, e in self._entries.items() if addressed_to(e.job, person)]
        for job_id in theirs:
            self._forget(job_id)
        return len(theirs)

    def _forget(self, job_id: str) -> None:
        """Take a job out of every line and index, as the Redis queue's forget script does."""
        entry = self._entries.pop(job_id)
        job = entry.job
        sender = self._senders.get(job.sender)
        if sender is not None:
            lane = sender.lanes[job.lane]
            if any(queued == job_id for _, queued in lane):
                lane[:] = [item for item in lane if item[1] != job_id]
                heapq.heapify(lane)
            sender.virtual.pop(job.recipient, None)
        self._delayed.pop(job_id, None)
        self._inflight.pop(job_id, None)
        if entry.sid is not None:
            self._by_sid.pop(entry.sid, None)
        if self._idempotency.get(job.message.idempotency_key) == job_id:
            del self._idempotency[job.message.idempotency_key]

    def _expire(self, now: int) -> None:
        """Forget sent (and dropped) jobs and idempotency keys past their lifetimes (each deque
        is in expiry order: one lifetime per kind)."""
        while self._sent_expiry and self._sent_expiry[0][0] <= now:
            _, job_id = self._sent_expiry.popleft()
            entry = self._entries.get(job_id)
            if entry is not None and entry.state in ("sent", "dropped"):
                self._forget(job_id)
        while self._key_expiry and self._key_expiry[0][0] <= now:
            _, key, job_id = self._key_expiry.popleft()
            if self._idempotency.get(key) == job_id:
                del self._idempotency[key]


@dataclass(frozen=True)
class _Owner:
    """Who claims, how long a sender stays theirs, how far back a late claim may reach."""

    worker: str
    affinity_us: int
    catch_up_us: int


def _interval(cost: int, rate: float) -> int:
    """Microseconds a cost takes at rate, rounded up as the Redis script does."""
    return math.ceil(cost * 1_000_000 / rate)


def _counters(changes: int | None) -> dict[int, int]:
    """One shard's counter, as Batch carries the counters of all."""
    return {} if changes is None else {0: changes}

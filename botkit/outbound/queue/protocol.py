"""The OutboundQueue protocol: durable jobs, scheduled per sender at that sender's exact rate.

One claim does all the scheduling, atomically: it moves due delayed jobs and lapsed leases back
in line, picks the sender whose limit frees up first (so a backlog on a 1/s number never holds
up another sender), takes that sender's next job (replies before bulk; within a lane, recipients
in turn by virtual time, so one recipient's burst does not starve the others), checks the
recipient's consent in the same step (a STOP written before the claim always wins), charges the
cost to the sender's GCRA clock and leases the job to the worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from botkit.core.person import Found, Person
from botkit.core.script_call import ScriptCall
from botkit.outbound.job import Job

#: How long an idempotency key is remembered by default (seconds).
IDEMPOTENCY_TTL = 7 * 24 * 3600.0
#: How long a sent job (its recipient and text) is kept by default (BOTKIT_SENT_RETENTION).
FINISHED_TTL = 24 * 3600.0


class OutboundQueue(Protocol):
    async def enqueue(
        self, job: Job, *, not_before_us: int | None = None, now_us: int | None = None
    ) -> tuple[str, bool]:
        """Add job unless its idempotency key was seen: (the job id in charge, created)."""

    def enqueue_step(self, job: Job, *, not_before_us: int | None = None) -> ScriptCall | None:
        """``enqueue`` as a script call that another store on the same Redis server may run in
        its own round trip (botkit/core/redis_client.run_in_one_trip), its proof the job's
        idempotency key; None where that cannot be (memory, a cluster): then ``enqueue``."""

    async def claim(self, lease: float, *, now_us: int | None = None) -> Claim | Idle:
        """The next job to send now, leased for ``lease`` seconds; or when to ask again."""

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
        """Up to ``limit`` jobs whose slots fall within the next ``lookahead_us``, in one atomic
        step and one round trip; each claim's ``send_at_us`` is its slot. Looking ahead lets a
        worker take the next few milliseconds of work at once and send each job exactly at its
        slot, instead of one round trip per job. ``holds`` (sender -> µs) are applied first, as
        ``hold_sender`` would: senders a worker sent late from, whose next slot must move.

        ``worker`` (a name unique to the calling worker) keeps each sender with the worker that
        claimed it last, until ``affinity_us`` after the next slot it was charged: only that
        worker knows when its sends really went out, so only it can space the next one right.
        Another worker takes the sender over if the owner lets that moment pass (it died, or
        it is too busy), and skips it meanwhile without waiting on it.

        A claim that comes late may still take a slot up to ``catch_up_us`` in the past (a
        burst tolerance), so a worker a few milliseconds behind does not push the sender's
        whole schedule back; its pacer decides how soon the send may really follow the last."""

    async def consent_changes(self, shard: int = 0) -> int | None:
        """The consent change counter a shard's claims read (``Claim.shard``; None: not
        known). It changes whenever a consent change reaches the consent a shard checks."""

    async def wait_for_work(self, within: float) -> bool:
        """Until jobs are put in line outside a claim (enqueued, promoted or replayed, by any
        process: True) or ``within`` seconds pass (False): how an idle worker hears of work at
        once instead of at its next poll. One signal ends one wait; a signal given while
        nobody waits ends the next."""

    async def complete(self, claim: Claim, twilio_sid: str) -> bool:
        """Twilio accepted the job. False if the lease was lost to another worker. Safe to call
        again with the same sid (True again): a retried call whose first answer was lost."""

    async def complete_many(self, done: Sequence[tuple[Claim, str]]) -> list[bool]:
        """``complete`` for many jobs in one round trip (a worker settles sends in batches)."""

    async def retry(self, claim: Claim, at_us: int, error: str) -> bool:
        """Put the job back in line at ``at_us`` (backoff, quiet hours, a new form)."""

    async def bury(self, claim: Claim, reason: str, error: str | None) -> bool:
        """Dead-letter the job: it will not be sent unless an operator replays it."""

    async def drop(self, claim: Claim, reason: str) -> bool:
        """Finish the job unsent, and not as a failure (no dead letter): Twilio refused a
        compliance reply with 21610 because its own opt-out handling already answered the
        person, so there is nothing for an operator to replay."""

    async def promote_delayed(self, due_by_us: int, *, now_us: int | None = None) -> int:
        """Delayed jobs due by ``due_by_us`` go back in line now; how many did. For a test
        clock that jumped ahead: whatever is still early is held again by the outbound worker's
        send-time checks (quiet hours), so promoting too much is harmless."""

    async def hold_sender(self, sender: str, until_us: int) -> None:
        """Send nothing from sender before until_us (Twilio said 429 for that sender)."""

    async def update(self, claim: Claim, job: Job) -> None:
        """Replace the stored job (a converted WhatsApp template) before a retry."""

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Dead-lettered jobs, newest first."""

    async def replay(self, job_id: str) -> bool:
        """Put a dead-lettered job back in line with fresh attempts (not a redacted one)."""

    async def find_by_sid(self, twilio_sid: str) -> Job | None:
        """The job Twilio knows as twilio_sid (for a day after it was sent)."""

    async def status(self, job_id: str) -> dict[str, str] | None:
        """The job's state, attempts, Twilio SID or reason (operators, tests)."""

    async def pending(self) -> int:
        """Jobs queued, delayed or in flight."""

    async def redact_dead_letters(self, redact_before_us: int, drop_before_us: int) -> int:
        """Dead letters buried before ``redact_before_us`` keep only a redacted copy
        (botkit/outbound/queue/privacy.py); those buried before ``drop_before_us`` go. How many
        changed. Idempotent: a retention sweep runs it now and then from any process."""

    async def export_person(self, person: Person) -> Found:
        """Every job to ``person``: queued, in flight, sent (within retention) or dead."""

    async def erase_person(self, person: Person) -> int:
        """Cancel and delete every job to ``person``; how many went. A job in flight may still
        reach Twilio, which then has it (``botkit privacy erase --with-twilio``)."""

    async def close(self) -> None:
        """Let go of what waiting for work holds (a pub/sub connection)."""


class Claim(BaseModel):
    """A job handed to one worker, under a lease, with what scheduling it cost.

    ``allowed_us`` is the earliest moment the sender's limit allowed this send (for lateness);
    ``send_at_us`` is the slot the claim was charged: the worker sends at that moment, which a
    claim that looked ahead puts a little after ``claimed_us`` (0: at once); ``claimed_us`` is
    the queue's clock when the claim ended, as of which its consent check holds (nothing else
    runs while a claim does); ``reclaimed`` says a previous worker took the job and never
    reported back, so it may have reached Twilio already and must be reconciled before it is
    sent again.
    """

    model_config = ConfigDict(frozen=True)

    job: Job
    token: str
    attempts: int
    allowed_us: int
    claimed_us: int
    reclaimed: bool
    send_at_us: int = 0
    #: The consent ledger's change counter when the claim checked consent (None: not known).
    #: A send that starts late needs no second look at the ledger if the counter, read again
    #: recently enough, is the same (OutboundWorker._opted_out_since_claim).
    consent_changes: int | None = None
    #: The queue shard the job lives in (whose consent counter ``consent_changes`` is).
    shard: int = 0


class Idle(BaseModel):
    """Nothing to send now: ``next_us`` is when the earliest sender is free (None: no work)."""

    model_config = ConfigDict(frozen=True)

    next_us: int | None
    suppressed: tuple[str, ...] = ()


class Batch(BaseModel):
    """What one ``claim_many`` hands a worker: the claims (maybe none), the jobs suppressed on the
    way, and ``next_us``, when to ask again: when the earliest sender with work is free (the
    claim time itself if one is due already; None: no work left)."""

    model_config = ConfigDict(frozen=True)

    claims: tuple[Claim, ...]
    next_us: int | None
    suppressed: tuple[str, ...] = ()
    #: The suppressed jobs themselves, for whoever counts how jobs end (a campaign's counts).
    suppressed_jobs: tuple[Job, ...] = ()
    #: The queue's clock when the claim ended (Redis TIME), for workers on another clock.
    now_us: int = 0
    #: Each shard's consent change counter, read in the same atomic step as its claims.
    consent_changes: dict[int, int] = {}


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    job: Job
    reason: str
    error: str | None
    at_us: int
    attempts: int



"""An outbound job: one message the dispatcher owns until Twilio has it or it is dead-lettered."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from botkit.outbound.outbox import OutboundMessage

Lane = Literal["reply", "bulk"]
MICROS = 1_000_000


class Job(BaseModel):
    """What a queue stores about a message besides its place in line.

    ``consent_keys`` are the ledger keys checked when the job is claimed (empty for the STOP
    confirmation, the one message that goes to someone who just opted out). Times are whole
    microseconds since the epoch, the unit the queue scripts compute in.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    message: OutboundMessage
    sender: str
    lane: Lane
    cost: int
    rate: float
    consent_keys: tuple[str, ...] = ()
    created_us: int
    expires_us: int | None = None


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
    #: recently enough, is the same (Dispatcher._opted_out_since_claim).
    consent_changes: int | None = None


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
    #: The queue's clock when the claim ended (Redis TIME), for workers on another clock.
    now_us: int = 0
    #: The consent ledger's change counter, read in the same atomic step as the claims.
    consent_changes: int | None = None


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True)

    job: Job
    reason: str
    error: str | None
    at_us: int
    attempts: int

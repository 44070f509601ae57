"""An outbound job: one message the outbound workers own until Twilio has it or it is
dead-lettered, and how an OutboundMessage becomes one (its sender, lane, cost, rate and consent
keys)."""

from __future__ import annotations

import time
import uuid

from pydantic import BaseModel, ConfigDict

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.keys import ConsentShards, consent_check_keys
from botkit.outbound.limits.rates import RateTable, cost_of, sender_of
from botkit.outbound.message import Lane, OutboundMessage
from botkit.outbound.scheduling import lead

MICROS = 1_000_000


class Job(BaseModel):
    """What a queue stores about a message besides its place in line.

    ``consent_keys`` are the ledger keys checked when the job is claimed (empty for the STOP
    confirmation, the one message that goes to someone who just opted out). ``recipient``: the
    recipient's pseudonym (botkit/core/person.py), what the queue keeps per recipient and finds
    a person's jobs by, so that no key or index of it holds their number. Times are whole
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
    recipient: str = ""
    created_us: int
    expires_us: int | None = None


def consent_scopes(message: OutboundMessage) -> list[str]:
    """The scopes an opt-out must not cover for this message to go: its number, its service."""
    return [s for s in (message.from_, message.messaging_service_sid) if s]


class JobFactory:
    def __init__(
        self, rates: RateTable, hasher: NumberHasher, shards: ConsentShards | None = None
    ) -> None:
        """shards: the outbound queue's, whose copy of consent a job's claim checks."""
        self.rates = rates
        self.hasher = hasher
        self.shards = shards or ConsentShards()

    def build(
        self,
        message: OutboundMessage,
        *,
        lane: Lane,
        check_consent: bool = True,
        valid_for: float | None = None,
    ) -> Job:
        sender = sender_of(message)
        now_us = int(time.time() * 1_000_000)
        keys: tuple[str, ...] = ()
        # A conversation message reaches its phone participants through Twilio, which applies
        # their opt-outs; opted-out authors are kept out by the onMessageAdd gate.
        if check_consent and message.conversation_sid is None:
            digest = self.hasher.digest(message.to)
            tag = self.shards.tag_for(sender)
            keys = tuple(consent_check_keys(digest, consent_scopes(message), tag))
        return Job(
            id=uuid.uuid4().hex,
            message=message,
            sender=sender,
            lane=lane,
            cost=cost_of(message),
            rate=self.rates.limit_for(sender).rate,
            consent_keys=keys,
            recipient=self.hasher.pseudonym(message.to),
            created_us=now_us,
            expires_us=None if valid_for is None else _expiry_us(message, now_us, valid_for),
        )


def _expiry_us(message: OutboundMessage, now_us: int, valid_for: float) -> int:
    """A message for later is valid for ``valid_for`` from the time it is due, not from now."""
    return now_us + int((max(0.0, lead(message)) + valid_for) * MICROS)

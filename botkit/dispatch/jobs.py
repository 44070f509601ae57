"""Turning an OutboundMessage into a Job: its sender, lane, cost, rate and consent keys."""

from __future__ import annotations

import time
import uuid

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger_redis import DEFAULT_TAG, consent_check_keys
from botkit.dispatch.job import Job, Lane
from botkit.dispatch.senders import RateTable, cost_of, sender_of
from botkit.outbound.outbox import OutboundMessage


def consent_scopes(message: OutboundMessage) -> list[str]:
    """The scopes an opt-out must not cover for this message to go: its number, its service."""
    return [s for s in (message.from_, message.messaging_service_sid) if s]


class JobFactory:
    def __init__(self, rates: RateTable, hasher: NumberHasher, tag: str = DEFAULT_TAG) -> None:
        self.rates = rates
        self.hasher = hasher
        self.tag = tag

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
        if check_consent:
            digest = self.hasher.digest(message.to)
            keys = tuple(consent_check_keys(digest, consent_scopes(message), self.tag))
        return Job(
            id=uuid.uuid4().hex,
            message=message,
            sender=sender,
            lane=lane,
            cost=cost_of(message),
            rate=self.rates.limit_for(sender).rate,
            consent_keys=keys,
            created_us=now_us,
            expires_us=None if valid_for is None else now_us + int(valid_for * 1_000_000),
        )

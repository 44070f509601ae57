"""Prometheus metrics for ``GET /metrics``: what an operator graphs and alerts on.

Counts are kept where the outcome is decided (webhook answers in the server's guard, send
outcomes in the outbound worker, handoffs where they are routed); queue depths, waits and agents'
presence are read from the stores when scraped, so they are right however many processes share
them. Each app gets its own registry, so several bots (or
tests) in one process never collide on metric names.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.webhooks = Counter(
            "botkit_webhooks",
            "Twilio webhooks answered, by endpoint and HTTP status "
            "(200 accepted or duplicate, 400 malformed, 403 bad signature, 503 store down).",
            ["path", "status"],
            registry=self.registry,
        )
        self._sent_by_outcome: dict[str, Any] = {}
        self.sends = Counter(
            "botkit_sends",
            "Outbound send attempts by outcome: sent, retried, rate_limited, or dead-lettered "
            "with its reason (opted_out, rejected, expired, retries_exhausted, ...).",
            ["outcome"],
            registry=self.registry,
        )
        self.outbound_pending = Gauge(
            "botkit_outbound_pending",
            "Outbound messages queued, delayed or in flight (all processes), when scraped.",
            registry=self.registry,
        )
        self.inbound_backlog = Gauge(
            "botkit_inbound_backlog",
            "Accepted inbound events not handled yet (all processes), when scraped.",
            registry=self.registry,
        )

        self.handoffs = Counter(
            "botkit_handoffs",
            "Handoff events: started (a customer asked for an agent), taken (an agent got one), "
            "transferred, resumed (back to the bot) and closed.",
            ["event"],
            registry=self.registry,
        )
        self.first_agent_reply = Histogram(
            "botkit_handoff_first_reply_seconds",
            "From a customer asking for an agent to the first message of an agent.",
            buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
            registry=self.registry,
        )
        self.queue_length = Gauge(
            "botkit_handoff_queue_length",
            "Conversations waiting for an agent, by skill, when scraped.",
            ["skill"],
            registry=self.registry,
        )
        self.oldest_wait = Gauge(
            "botkit_handoff_oldest_wait_seconds",
            "How long the longest-waiting conversation of each skill has waited, when scraped.",
            ["skill"],
            registry=self.registry,
        )
        self.agents = Gauge(
            "botkit_handoff_agents",
            "Agents of the pool by presence (available, away, offline), when scraped.",
            ["presence"],
            registry=self.registry,
        )

        self.campaign_messages = Gauge(
            "botkit_campaign_messages",
            "Each recent campaign's counts (recipients, queued, sent, delivered, read, failed, "
            "undelivered, opted_out, quiet_hours...), read from the store when scraped.",
            ["campaign", "count"],
            registry=self.registry,
        )
        self.campaign_remaining = Gauge(
            "botkit_campaign_remaining",
            "Recipients each recent campaign has still to feed to the outbound queue.",
            ["campaign", "state"],
            registry=self.registry,
        )

    def sent(self, outcome: str) -> None:
        # One labelled child per outcome, looked up once: this runs for every message sent.
        child = self._sent_by_outcome.get(outcome)
        if child is None:
            child = self._sent_by_outcome[outcome] = self.sends.labels(outcome)
        child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

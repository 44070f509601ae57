"""The one place that decides memory or Redis, and builds every store of that kind.

Without ``REDIS_URL``: memory stores, for one process (development, tests). With it: Redis
stores sharing one client, checked reachable now, so a bad URL stops start-up with one line.
Everything else sees only the protocols.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from botkit.campaigns.memory import MemoryCampaignStore
from botkit.campaigns.protocol import CampaignStore
from botkit.campaigns.redis import RedisCampaignStore
from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.keys import ConsentShards
from botkit.compliance.ledger.memory import MemoryConsentLedger
from botkit.compliance.ledger.protocol import ConsentLedger
from botkit.compliance.ledger.redis import RedisConsentLedger
from botkit.compliance.windows.memory import MemoryWindowStore
from botkit.compliance.windows.protocol import WindowStore
from botkit.compliance.windows.redis import RedisWindowStore
from botkit.conversations.mirror.memory import MemoryParticipantMirror
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.conversations.mirror.redis import RedisParticipantMirror
from botkit.core.redis_client import Durability, RedisClient
from botkit.effects.memory import MemoryEffectStore
from botkit.effects.protocol import EffectStore
from botkit.effects.redis import RedisEffectStore
from botkit.errors import ConfigError
from botkit.handoff.history.memory import MemoryHistoryStore
from botkit.handoff.history.protocol import HistoryStore
from botkit.handoff.history.redis import RedisHistoryStore
from botkit.handoff.store.memory import MemoryHandoffStore
from botkit.handoff.store.protocol import HandoffStore
from botkit.handoff.store.redis import RedisHandoffStore
from botkit.inbound.queue.memory import MemoryInboundQueue
from botkit.inbound.queue.protocol import InboundQueue
from botkit.inbound.queue.redis import RedisInboundQueue
from botkit.outbound.job import Job, JobFactory, consent_scopes
from botkit.outbound.queue.memory import MemoryOutboundQueue
from botkit.outbound.queue.protocol import OutboundQueue
from botkit.outbound.queue.redis import RedisOutboundQueue
from botkit.outbound.statuses.memory import MemoryStatusStore
from botkit.outbound.statuses.protocol import StatusStore
from botkit.outbound.statuses.redis import RedisStatusStore
from botkit.records.memory import MemoryRecordBackend
from botkit.records.protocol import RecordBackend
from botkit.records.redis import RedisRecordBackend
from botkit.runtime.redis import connect
from botkit.sessions.keys import SessionKeys
from botkit.sessions.memory import MemorySessionStore
from botkit.sessions.protocol import SessionStore
from botkit.sessions.redis import RedisSessionStore
from botkit.sessions.shards import Shards
from botkit.settings import Settings
from botkit.timers.memory import MemoryTimerStore
from botkit.timers.protocol import TimerStore
from botkit.timers.redis import RedisTimerStore


@dataclass
class Stores:
    """Every store a running bot uses, all of one kind. ``jobs`` turns outbound messages into
    queue jobs with the same pepper and rates the queue and ledger were built with; ``hasher``
    names a person in keys by the pepper-HMAC of their number."""

    sessions: SessionStore
    inbound: InboundQueue
    statuses: StatusStore
    queue: OutboundQueue
    ledger: ConsentLedger
    windows: WindowStore
    mirror: ParticipantMirror
    handoffs: HandoffStore
    history: HistoryStore
    effects: EffectStore
    records: RecordBackend
    timers: TimerStore
    campaigns: CampaignStore
    jobs: JobFactory
    hasher: NumberHasher
    session_keys: SessionKeys
    redis: RedisClient | None = None

    async def ping(self) -> None:
        """Redis answers: on a cluster, every master (a dead one leaves its slots unserved)."""
        if isinstance(self.redis, RedisCluster):
            await self.redis.ping(target_nodes=RedisCluster.PRIMARIES)
        elif self.redis is not None:
            await self.redis.ping()

    async def close(self) -> None:
        await self.inbound.close()
        await self.queue.close()
        if self.redis is not None:
            await self.redis.aclose()


async def open_stores(settings: Settings, namespace: str) -> Stores:
    """Memory stores without REDIS_URL; Redis ones with it (one server, a cluster or a
    Sentinel-watched master: botkit/runtime/redis.py), checked reachable now. ``namespace``
    (the bot's name) keeps two bots on one Redis apart."""
    if settings.redis_url is None:
        return build_stores(settings, namespace, None)
    redis = await connect(settings)
    try:
        stores = build_stores(settings, namespace, redis)
        await stores.inbound.prepare()
        await stores.ledger.prepare()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise ConfigError(f"REDIS_URL: cannot reach Redis ({exc})") from None
    return stores


def build_stores(settings: Settings, namespace: str, redis: RedisClient | None) -> Stores:
    """Every store, in memory (``redis`` None) or on ``redis``, which the stores then own."""
    hasher = NumberHasher(settings.pepper())
    # The outbound queue's shards, which consent is checked in (and so copied to).
    consent = ConsentShards(settings.shards)
    jobs = JobFactory(settings.rates, hasher, consent)
    if redis is None:
        ledger = MemoryConsentLedger(hasher, audit_retention=settings.audit_retention)
        memory_sessions = MemorySessionStore()

        async def blocked(job: Job) -> bool:
            # The memory queue asks the ledger at claim time, as the Redis claim script reads
            # the ledger's keys.
            return await ledger.is_opted_out(job.message.to, consent_scopes(job.message))

        return Stores(
            sessions=memory_sessions,
            inbound=MemoryInboundQueue(memory_sessions),
            statuses=MemoryStatusStore(ttl=settings.status_retention),
            queue=MemoryOutboundQueue(blocked, consent_changes=lambda: ledger.changes),
            ledger=ledger,
            windows=MemoryWindowStore(hasher.pseudonym),
            mirror=MemoryParticipantMirror(pseudonym=hasher.pseudonym),
            handoffs=MemoryHandoffStore(hasher.pseudonym, ttl=settings.handoff_retention),
            history=MemoryHistoryStore(ttl=settings.handoff_history_retention),
            effects=MemoryEffectStore(),
            records=MemoryRecordBackend(),
            timers=MemoryTimerStore(),
            campaigns=MemoryCampaignStore(),
            jobs=jobs,
            hasher=hasher,
            session_keys=SessionKeys(namespace, hasher.pseudonym),
        )
    sessions = RedisSessionStore(redis, Shards(namespace, settings.shards))
    # How many replicas an accepted webhook and a queued message must reach.
    durable = Durability(redis, settings.accept_replicas, settings.accept_replica_timeout)
    return Stores(
        sessions=sessions,
        inbound=RedisInboundQueue(redis, sessions, durability=durable),
        statuses=RedisStatusStore(redis, ttl=settings.status_retention),
        queue=RedisOutboundQueue(redis, namespace, consent, durability=durable),
        ledger=RedisConsentLedger(
            redis, hasher, consent, audit_retention=settings.audit_retention
        ),
        windows=RedisWindowStore(redis, hasher.pseudonym),
        mirror=RedisParticipantMirror(redis, pseudonym=hasher.pseudonym, prefix=namespace),
        handoffs=RedisHandoffStore(
            redis, hasher.pseudonym, prefix=namespace, ttl=settings.handoff_retention
        ),
        history=RedisHistoryStore(
            redis, prefix=namespace, ttl=settings.handoff_history_retention
        ),
        effects=RedisEffectStore(redis, prefix=namespace),
        records=RedisRecordBackend(redis),
        timers=RedisTimerStore(redis, prefix=namespace),
        campaigns=RedisCampaignStore(redis, prefix=namespace),
        jobs=jobs,
        hasher=hasher,
        session_keys=SessionKeys(namespace, hasher.pseudonym),
        redis=redis,
    )

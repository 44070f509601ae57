"""A dispatcher wired to a real queue, ledger and window store, sending to an embedded sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from redis.asyncio import Redis

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger import ConsentLedger
from botkit.compliance.ledger_memory import MemoryConsentLedger
from botkit.compliance.ledger_redis import RedisConsentLedger
from botkit.dispatch.dispatcher import Dispatcher, DispatchPolicy
from botkit.dispatch.job import Job
from botkit.dispatch.jobs import JobFactory, consent_scopes
from botkit.dispatch.memory_queue import MemoryOutboundQueue
from botkit.dispatch.outbox import DispatchOutbox
from botkit.dispatch.queue import OutboundQueue
from botkit.dispatch.quiet_hours import QuietHours
from botkit.dispatch.redis_queue import RedisOutboundQueue
from botkit.dispatch.senders import RateTable
from botkit.dispatch.shaping import Shaper, WhatsAppTemplate
from botkit.dispatch.window import MemoryWindowStore, RedisWindowStore, WindowStore
from botkit.outbound.outbox import OutboundMessage
from botkit.sandbox import Sandbox, SandboxConfig
from botkit.sandbox.rates import SendRecord
from botkit.twilio.client import create_async_client

PEPPER = "dispatch-test-pepper-0123"


@dataclass
class Rig:
    sandbox: Sandbox
    queue: OutboundQueue
    ledger: ConsentLedger
    windows: WindowStore
    outbox: DispatchOutbox
    dispatchers: list[Dispatcher] = field(default_factory=list)
    _keys: int = 0

    async def send(self, to: str, body: str = "hello", **fields: object) -> str:
        self._keys += 1
        values: dict[str, object] = {
            "to": to,
            "body": body,
            "idempotency_key": f"k{self._keys}-{time.perf_counter_ns()}",
        }
        values.update(fields)
        if "from_" not in values and "messaging_service_sid" not in values:
            values["from_"] = "+15550100001"
        handle = await self.outbox.submit(OutboundMessage(**values))  # type: ignore[arg-type]
        return handle.id

    def sends(self, sender: str | None = None) -> list[SendRecord]:
        records = self.sandbox.state.rates.records
        return [r for r in records if sender is None or r.sender == sender]

    async def until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                await asyncio.sleep(0.01)

    async def drained(self, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while await self.queue.pending():
                await asyncio.sleep(0.01)


@asynccontextmanager
async def dispatch_rig(
    store_url: str | None,
    *,
    sandbox_config: SandboxConfig | None = None,
    rates: RateTable | None = None,
    policy: DispatchPolicy | None = None,
    workers: int = 1,
    template: WhatsAppTemplate | None = None,
    quiet: QuietHours | None = None,
) -> AsyncIterator[Rig]:
    config = sandbox_config or SandboxConfig(status_step=0.002)
    sandbox = Sandbox(config)
    await sandbox.start()
    hasher = NumberHasher(PEPPER)
    redis = Redis.from_url(store_url) if store_url else None
    if redis is None:
        memory_ledger = MemoryConsentLedger(hasher)

        async def blocked(job: Job) -> bool:
            return await memory_ledger.is_opted_out(job.message.to, consent_scopes(job.message))

        ledger: ConsentLedger = memory_ledger
        queue: OutboundQueue = MemoryOutboundQueue(blocked)
        windows: WindowStore = MemoryWindowStore()
    else:
        ledger = RedisConsentLedger(redis, hasher)
        queue = RedisOutboundQueue(redis)
        windows = RedisWindowStore(redis)
    factory = JobFactory(rates or RateTable(), hasher)
    client = create_async_client(config.account_sid, config.auth_token, sandbox.url)
    shaper = Shaper(windows, template, quiet)
    rig = Rig(sandbox, queue, ledger, windows, DispatchOutbox(queue, factory, quiet=quiet))
    for _ in range(workers):
        dispatcher = Dispatcher(queue, client, ledger, policy or DispatchPolicy(), shape=shaper)
        dispatcher.start()
        rig.dispatchers.append(dispatcher)
    wake = rig.dispatchers[0].wake if workers else None
    rig.outbox = DispatchOutbox(queue, factory, wake, quiet)
    try:
        yield rig
    finally:
        for dispatcher in rig.dispatchers:
            await dispatcher.stop(grace=1)
        await client.http_client.close()
        await sandbox.stop()
        if redis is not None:
            await redis.aclose()

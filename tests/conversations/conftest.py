"""Fixtures for the Conversations client and mirror: the real twilio SDK pointed at the
embedded sandbox, and a participant mirror on each store (memory, then Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from botkit.compliance.hashing import NumberHasher
from botkit.conversations.client import ConversationsClient
from botkit.conversations.mirror.memory import MemoryParticipantMirror
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.conversations.mirror.redis import RedisParticipantMirror
from botkit.twilio.client import create_async_client
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.support.sandbox_twilio import SandboxTwilio

BOT = "+15550002222"
BOT_WA = "whatsapp:+15550002222"
ALICE = "+15550101001"
BOB = "+15550101002"
CAROL = "+15550101003"


#: How the mirrors of these tests name authors in their index.
PSEUDONYM = NumberHasher("mirror-test-pepper-0123").pseudonym


def phone(n: int) -> str:
    """A distinct, valid US number per n (0-9999)."""
    return f"+1555011{n:04d}"


@pytest.fixture
async def sdk(twilio: SandboxTwilio) -> AsyncIterator[Any]:
    """The official twilio Client, async, talking to the sandbox."""
    client = create_async_client(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
    yield client
    await client.http_client.close()


@pytest.fixture
async def mirror(store_url: str | None) -> AsyncIterator[ParticipantMirror]:
    if store_url is None:
        yield MemoryParticipantMirror(pseudonym=PSEUDONYM)
        return
    redis = Redis.from_url(store_url)
    yield RedisParticipantMirror(redis, pseudonym=PSEUDONYM)
    await redis.aclose()


@pytest.fixture
def conversations(sdk: Any, mirror: ParticipantMirror) -> ConversationsClient:
    return ConversationsClient(sdk, mirror=mirror)

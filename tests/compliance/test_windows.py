"""The WindowStore contract (the WhatsApp 24-hour window), for the memory and the Redis store
alike, both built by the composition root."""

from __future__ import annotations

import pytest

from botkit.compliance.windows.protocol import WINDOW_SECONDS
from botkit.runtime.stores import Stores
from botkit.testing import TestClock

#: A contract every backend keeps, Redis Cluster included.
pytestmark = pytest.mark.cluster


SENDER = "whatsapp:+15550002222"
SERVICE = "MG" + "a" * 32
USER = "whatsapp:+15550001111"
OTHER = "whatsapp:+15550003333"


async def test_a_window_opens_when_the_user_writes_and_only_for_them(stores: Stores) -> None:
    with TestClock().installed() as clock:
        assert not await stores.windows.is_open(SENDER, USER)
        await stores.windows.touch(SENDER, USER)
        assert await stores.windows.is_open(SENDER, USER)
        assert not await stores.windows.is_open(SENDER, OTHER)  # another user
        assert not await stores.windows.is_open(SERVICE, USER)  # another sender
        clock.advance(seconds=WINDOW_SECONDS - 1)
        assert await stores.windows.is_open(SENDER, USER)


async def test_a_window_closes_24_hours_after_the_last_message(stores: Stores) -> None:
    with TestClock().installed() as clock:
        await stores.windows.touch(SENDER, USER)
        clock.advance(hours=23)
        await stores.windows.touch(SENDER, USER)  # wrote again: 24 hours from now
        clock.advance(hours=23)
        assert await stores.windows.is_open(SENDER, USER)
        clock.advance(hours=1)
        assert not await stores.windows.is_open(SENDER, USER)


async def test_a_service_holds_its_own_window(stores: Stores) -> None:
    with TestClock().installed():
        await stores.windows.touch(SERVICE, USER)
        assert await stores.windows.is_open(SERVICE, USER)
        assert not await stores.windows.is_open(SENDER, USER)


async def test_a_window_names_its_user_by_pseudonym_and_goes_with_an_erasure(
    stores: Stores,
) -> None:
    """Issue 18: windows are kept under the user's pseudonym, exported and erased per person."""
    with TestClock().installed():
        await stores.windows.touch(SENDER, USER)
        await stores.windows.touch(SERVICE, USER)
        await stores.windows.touch(SENDER, OTHER)
        if stores.redis is not None:
            keys = [k.decode() async for k in stores.redis.scan_iter(match="botkit:wa-window:*")]
            assert len(keys) == 3
            assert not any("5550001111" in key or "5550003333" in key for key in keys)
        person = stores.hasher.person(USER)
        exported = await stores.windows.export_person(person)
        assert sorted(e["sender"] for e in exported) == sorted([SENDER, SERVICE])

        assert await stores.windows.erase_person(person) == 2
        assert await stores.windows.erase_person(person) == 0
        assert await stores.windows.export_person(person) == []
        assert not await stores.windows.is_open(SENDER, USER)
        assert await stores.windows.is_open(SENDER, OTHER)

"""The EffectStore contract (memory and Redis alike): a side effect's result is kept under its
key for its TTL, and the first result stored wins."""

from __future__ import annotations

import asyncio

from botkit.effects.protocol import owned_by
from botkit.runtime.stores import Stores


async def test_the_first_result_is_kept_and_returned(stores: Stores) -> None:
    effects = stores.effects
    assert await effects.get("SM1:open-ticket") is None
    assert await effects.put_first("SM1:open-ticket", '"T-1"', 60) == '"T-1"'
    assert await effects.put_first("SM1:open-ticket", '"T-2"', 60) == '"T-1"'
    assert await effects.get("SM1:open-ticket") == '"T-1"'
    assert await effects.get("SM2:open-ticket") is None


async def test_results_expire(stores: Stores) -> None:
    await stores.effects.put_first("SM1:refund", "1", 0.05)
    await asyncio.sleep(0.2)
    assert await stores.effects.get("SM1:refund") is None


async def test_a_persons_results_are_exported_and_erased(stores: Stores) -> None:
    """Results are stored under the writer's pseudonym (effects/protocol.py: owned_by), so an
    erase finds the ticket ``ctx.once`` made for them, and no one else's."""
    alice = stores.hasher.person("+15550001111")
    bob = stores.hasher.person("+15550002222")
    await owned_by(stores.effects, alice.digest).put_first("SM1:open-ticket", '"T-1"', 60)
    await owned_by(stores.effects, bob.digest).put_first("SM2:open-ticket", '"T-2"', 60)

    assert await stores.effects.export_person(alice) == [
        {"key": "SM1:open-ticket", "result": "T-1"}
    ]
    assert await stores.effects.erase_person(alice) == 1
    assert await stores.effects.erase_person(alice) == 0
    assert await stores.effects.export_person(alice) == []
    assert await owned_by(stores.effects, bob.digest).get("SM2:open-ticket") == '"T-2"'

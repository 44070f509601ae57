"""The EffectStore contract (memory and Redis alike): a side effect's result is kept under its
key for its TTL, and the first result stored wins."""

from __future__ import annotations

import asyncio

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

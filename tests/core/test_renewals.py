"""Renewals: one task keeps every held lease alive, and only while something is held."""

from __future__ import annotations

import asyncio

from botkit.core.renewals import Renewals


async def test_a_long_holder_is_renewed_and_a_short_one_never() -> None:
    renewed: list[str] = []

    async def renew(item: str) -> bool:
        renewed.append(item)
        return True

    renewals: Renewals[str] = Renewals(0.05, renew)
    with renewals.hold("short"):
        await asyncio.sleep(0.01)
    with renewals.hold("long"):
        await asyncio.sleep(0.2)
    count = len(renewed)
    assert "short" not in renewed
    assert renewed.count("long") >= 1  # every 50 ms, as far as a busy machine lets it
    await asyncio.sleep(0.1)
    assert len(renewed) == count  # released: no more renewals
    assert renewals._task is None  # and no task while nothing is held


async def test_a_lost_lease_is_no_longer_renewed_and_a_failing_renewal_is_retried() -> None:
    calls: dict[str, int] = {"lost": 0, "flaky": 0}

    async def renew(item: str) -> bool:
        calls[item] += 1
        if item == "flaky" and calls[item] == 1:
            raise ConnectionError("redis blinked")
        return item != "lost"

    renewals: Renewals[str] = Renewals(0.03, renew)
    with renewals.hold("lost"), renewals.hold("flaky"):
        await asyncio.sleep(0.2)
    assert calls["lost"] == 1
    assert calls["flaky"] >= 3

"""Requests in flight: never more than the places, and a freed place goes to the most urgent."""

from __future__ import annotations

import asyncio

from botkit.outbound.limits.priority_gate import Key, PriorityGate

WHATSAPP = 1 / 80
LONG_CODE = 1.0


async def _hold(gate: PriorityGate, key: Key, order: list[Key], until: asyncio.Event) -> None:
    async with gate.place(key):
        order.append(key)
        await until.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_freed_place_goes_to_the_fastest_sender_then_the_earliest_slot() -> None:
    gate = PriorityGate(1)
    order: list[Key] = []
    go = asyncio.Event()
    first = asyncio.create_task(_hold(gate, (LONG_CODE, 0), order, go))
    await _settle()
    waiting = [(LONG_CODE, 5), (WHATSAPP, 9), (LONG_CODE, 3), (WHATSAPP, 7)]
    tasks = [asyncio.create_task(_hold(gate, key, order, go)) for key in waiting]
    await _settle()
    assert order == [(LONG_CODE, 0)] and gate.waiting == 4
    go.set()
    await asyncio.gather(first, *tasks)
    assert order == [(LONG_CODE, 0), (WHATSAPP, 7), (WHATSAPP, 9), (LONG_CODE, 3), (LONG_CODE, 5)]


async def test_never_more_holders_than_places() -> None:
    gate = PriorityGate(3)
    holding = most = 0

    async def send(n: int) -> None:
        nonlocal holding, most
        async with gate.place((float(n % 4), n)):
            holding += 1
            most = max(most, holding)
            await asyncio.sleep(0.001 * (n % 3))
            holding -= 1

    await asyncio.gather(*(send(n) for n in range(40)))
    assert most == 3 and holding == 0 and gate.waiting == 0


async def test_a_cancelled_waiter_gives_up_its_turn_and_loses_no_place() -> None:
    gate = PriorityGate(1)
    order: list[Key] = []
    go = asyncio.Event()
    first = asyncio.create_task(_hold(gate, (LONG_CODE, 0), order, go))
    await _settle()
    cancelled = asyncio.create_task(_hold(gate, (WHATSAPP, 1), order, go))
    later = asyncio.create_task(_hold(gate, (LONG_CODE, 2), order, go))
    await _settle()
    cancelled.cancel()
    go.set()
    await asyncio.gather(first, later)
    assert cancelled.cancelled()
    assert order == [(LONG_CODE, 0), (LONG_CODE, 2)]
    async with asyncio.timeout(1):  # the place came back: a newcomer gets it at once
        async with gate.place((LONG_CODE, 3)):
            pass


async def test_a_waiter_cancelled_after_being_handed_a_place_passes_it_on() -> None:
    gate = PriorityGate(1)
    order: list[Key] = []
    go = asyncio.Event()
    go.set()
    async with gate.place((LONG_CODE, 0)):
        handed = asyncio.create_task(_hold(gate, (WHATSAPP, 1), order, go))
        after = asyncio.create_task(_hold(gate, (LONG_CODE, 2), order, go))
        await _settle()
    # Leaving the block handed the place to `handed`, which is cancelled before it runs.
    handed.cancel()
    async with asyncio.timeout(1):  # the place was passed on, not lost with `handed`
        await after
    assert handed.cancelled()
    assert order == [(LONG_CODE, 2)]

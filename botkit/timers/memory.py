"""TimerStore in one process's memory (development, tests): the Redis one's behaviour."""

from __future__ import annotations

from botkit.core.person import Found, Person
from botkit.timers.protocol import Timer, is_theirs, timer_rows


class MemoryTimerStore:
    def __init__(self) -> None:
        self._timers: dict[str, Timer] = {}
        self._due: dict[str, float] = {}  # id -> when it is due (or its lease ends)

    async def add(self, timer: Timer) -> None:
        self._timers[timer.id] = timer
        self._due[timer.id] = timer.due

    async def cancel(self, timer_id: str) -> bool:
        self._due.pop(timer_id, None)
        return self._timers.pop(timer_id, None) is not None

    async def get(self, timer_id: str) -> Timer | None:
        return self._timers.get(timer_id)

    async def take_due(self, now: float, limit: int, lease: float) -> list[Timer]:
        due = sorted((at, i) for i, at in self._due.items() if at <= now)[:limit]
        for _, timer_id in due:
            self._due[timer_id] = now + lease
        return [self._timers[timer_id] for _, timer_id in due]

    async def done(self, timer: Timer, following: Timer | None) -> None:
        if self._timers.get(timer.id) != timer:
            return  # cancelled or armed again meanwhile
        if following is None:
            await self.cancel(timer.id)
        else:
            await self.add(following)

    async def pending(self) -> int:
        return len(self._timers)

    async def export_person(self, person: Person) -> Found:
        return timer_rows(self._timers.values(), person)

    async def erase_person(self, person: Person) -> int:
        theirs = [t.id for t in self._timers.values() if is_theirs(t, person)]
        return sum([int(await self.cancel(timer_id)) for timer_id in theirs])

"""CampaignStore in one process's memory: the Redis one's behaviour, for development and tests."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from botkit.campaigns.model import Campaign, Report, State
from botkit.campaigns.protocol import (
    ERASED_ROW,
    FINISHED_TTL,
    audience_digest,
    person_rows,
    row_of,
)
from botkit.campaigns.transitions import next_state
from botkit.core.person import Found, Person


@dataclass
class _Kept:
    campaign: Campaign
    seen: set[str] = field(default_factory=set)
    rows: list[str] = field(default_factory=list)
    held: dict[str, float] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    series: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    lease: tuple[str, float] | None = None
    expires: float | None = None


class MemoryCampaignStore:
    def __init__(self) -> None:
        self._kept: dict[str, _Kept] = {}

    def _find(self, campaign_id: str) -> _Kept | None:
        kept = self._kept.get(campaign_id)
        if kept is not None and kept.expires is not None and kept.expires < time.time():
            del self._kept[campaign_id]
            return None
        return kept

    async def create(self, campaign: Campaign) -> bool:
        if self._find(campaign.id) is not None:
            return False
        self._kept[campaign.id] = _Kept(campaign)
        return True

    async def get(self, campaign_id: str) -> Campaign | None:
        kept = self._find(campaign_id)
        return kept.campaign if kept else None

    async def recent(self, limit: int = 50) -> list[Campaign]:
        found = [k.campaign for i in list(self._kept) if (k := self._find(i)) is not None]
        return sorted(found, key=lambda c: -c.created)[:limit]

    async def sending(self) -> list[Campaign]:
        found = [k.campaign for i in list(self._kept) if (k := self._find(i)) is not None]
        return [c for c in found if c.state == "sending"]

    async def set_state(self, campaign_id: str, state: State) -> Campaign | None:
        kept = self._find(campaign_id)
        if kept is None:
            return None
        kept.campaign = kept.campaign.model_copy(
            update={"state": next_state(kept.campaign.state, state)}
        )
        if kept.campaign.state in ("done", "canceled") and kept.expires is None:
            kept.rows.clear()
            kept.held.clear()
            kept.expires = time.time() + FINISHED_TTL
        return kept.campaign

    async def add(self, campaign_id: str, rows: Sequence[tuple[str, str]]) -> int:
        kept = self._find(campaign_id)
        if kept is None or kept.expires is not None:
            return 0
        added = 0
        for digest, row in rows:
            if digest not in kept.seen:
                kept.seen.add(digest)
                kept.rows.append(row)
                added += 1
        kept.counts["recipients"] += added
        return added

    async def lease(self, campaign_id: str, owner: str, ttl: float) -> bool:
        kept = self._find(campaign_id)
        if kept is None:
            return False
        now = time.monotonic()
        if kept.lease is not None and kept.lease[0] != owner and kept.lease[1] > now:
            return False
        kept.lease = (owner, now + ttl)
        return True

    def _holds(self, kept: _Kept, owner: str) -> bool:
        """The owner's lease has not lapsed (on Redis the lease key expires)."""
        lease = kept.lease
        return lease is not None and lease[0] == owner and lease[1] > time.monotonic()

    async def head(self, campaign_id: str, limit: int) -> list[str]:
        kept = self._find(campaign_id)
        return kept.rows[:limit] if kept else []

    async def consume(self, campaign_id: str, owner: str, count: int) -> bool:
        kept = self._find(campaign_id)
        if kept is None or not self._holds(kept, owner):
            return False
        del kept.rows[:count]
        return True

    async def hold(self, campaign_id: str, rows: Mapping[str, float]) -> None:
        kept = self._find(campaign_id)
        if kept is not None and kept.expires is None:
            kept.held.update(rows)

    async def due_held(self, campaign_id: str, now: float, limit: int) -> list[str]:
        kept = self._find(campaign_id)
        if kept is None:
            return []
        return [row for row, at in sorted(kept.held.items(), key=lambda i: i[1]) if at <= now][
            :limit
        ]

    async def release(self, campaign_id: str, owner: str, rows: Sequence[str]) -> None:
        kept = self._find(campaign_id)
        if kept is not None and self._holds(kept, owner):
            for row in rows:
                kept.held.pop(row, None)

    async def remaining(self, campaign_id: str) -> int:
        kept = self._find(campaign_id)
        return len(kept.rows) + len(kept.held) if kept else 0

    async def count(self, increments: Mapping[str, Mapping[str, int]], minute: int) -> None:
        for campaign_id, counts in increments.items():
            kept = self._find(campaign_id)
            if kept is None:
                continue
            kept.counts.update(counts)
            kept.series[minute].update(counts)

    async def counts(self, campaign_id: str) -> dict[str, int]:
        kept = self._find(campaign_id)
        return dict(kept.counts) if kept else {}

    async def report(self, campaign_id: str) -> Report | None:
        kept = self._find(campaign_id)
        if kept is None:
            return None
        return Report(
            campaign=kept.campaign,
            counts=dict(kept.counts),
            series={m: dict(c) for m, c in kept.series.items()},
            remaining=len(kept.rows) + len(kept.held),
        )

    async def export_person(self, person: Person) -> Found:
        found: Found = []
        for campaign_id in list(self._kept):
            kept = self._find(campaign_id)
            if kept is not None:
                found += person_rows(campaign_id, kept.rows, kept.held, person)
        return found

    async def erase_person(self, person: Person) -> int:
        erased = 0
        for campaign_id in list(self._kept):
            kept = self._find(campaign_id)
            if kept is None:
                continue
            for index, raw in enumerate(kept.rows):
                if row_of(raw, person):
                    kept.rows[index] = ERASED_ROW
                    erased += 1
            for raw in [raw for raw in kept.held if row_of(raw, person)]:
                del kept.held[raw]
                erased += 1
            kept.seen.discard(audience_digest(person))
        return erased

"""Per-sender throughput: every send is recorded, and in strict mode a sender over its rate is
refused with 429/20429, so a test can prove that a client never exceeds Twilio's limits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# The outbound worker classifies senders with the same pure helper, so both sides agree on a rate.
from botkit.twilio.senders import sender_kind

__all__ = ["RateBook", "SendRecord", "sender_kind"]


@dataclass(frozen=True)
class SendRecord:
    at: float
    sender: str
    units: int
    sid: str


@dataclass
class _Cell:
    """GCRA state: the theoretical arrival time of the next unit."""

    tat: float = 0.0


@dataclass
class RateBook:
    rates: dict[str, float]
    tolerance: float = 0.01
    records: list[SendRecord] = field(default_factory=list)
    _cells: dict[str, _Cell] = field(default_factory=dict)

    def rate_for(self, sender: str) -> float:
        kind = sender_kind(sender)
        return self.rates.get(kind) or self.rates.get("long_code") or 1.0

    def admit(self, sender: str, units: int, *, at: float | None = None) -> float:
        """0.0 when a send of ``units`` is within the rate at ``at`` (default: now), and then
        the units are taken; else the seconds to wait, and nothing is taken."""
        moment = time.time() if at is None else at
        cell = self._cells.setdefault(sender, _Cell())
        tat = max(cell.tat, moment)
        if tat - moment > self.tolerance:
            return tat - moment
        cell.tat = tat + max(units, 1) / self.rate_for(sender)
        return 0.0

    def record(self, sender: str, units: int, sid: str, *, at: float | None = None) -> None:
        self.records.append(SendRecord(time.time() if at is None else at, sender, units, sid))

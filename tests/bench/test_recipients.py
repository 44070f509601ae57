"""bench/recipients.py at a small scale: the outbound queue keeps nothing per recipient once
a send to many people is done (issue 18; the full run is 100,000 recipients)."""

from __future__ import annotations

from bench.recipients import TOLERANCE, measure


async def test_nothing_per_recipient_is_left_once_the_queue_drained(clean_redis: str) -> None:
    figures = await measure(clean_redis, 3000)
    assert figures.fields_left == 0
    assert figures.growth <= TOLERANCE, figures.lines()
    assert figures.queued > figures.before * 2  # the run did queue something

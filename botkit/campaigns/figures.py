"""Campaigns on ``/metrics``: the counts of the most recent ones, read when scraped, so they are
right however many processes send (the same way queue depths are read)."""

from __future__ import annotations

from botkit.campaigns.model import COUNTS
from botkit.campaigns.protocol import CampaignStore
from botkit.metrics import Metrics

#: Campaigns shown: the newest, so a year of campaigns does not become a year of series.
SHOWN = 20


async def report_campaigns(store: CampaignStore, metrics: Metrics) -> None:
    metrics.campaign_messages.clear()
    metrics.campaign_remaining.clear()
    for campaign in await store.recent(SHOWN):
        counts = await store.counts(campaign.id)  # not the report: its series is not shown here
        for name in COUNTS:
            metrics.campaign_messages.labels(campaign.id, name).set(counts.get(name, 0))
        remaining = await store.remaining(campaign.id)
        metrics.campaign_remaining.labels(campaign.id, campaign.state).set(remaining)

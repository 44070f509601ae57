"""Starting and steering campaigns: what ``bot.broadcast``, ``botkit broadcast`` and
``botkit campaigns`` call.

``start`` creates the campaign (or finds it again, to resume an import a crash cut short) and
adds its audience in batches; each batch is one atomic step that skips whoever the campaign
already has, so running the same import again continues where it stopped and adds nobody twice.
Then the campaign is ``sending``, and the feeders of the running bot (botkit/campaigns/feeder.py)
take it from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from botkit.campaigns.audience import Audience, BadRow
from botkit.campaigns.model import Campaign, Report, State
from botkit.campaigns.personalize import check_columns
from botkit.campaigns.protocol import CampaignStore, digest_of
from botkit.compliance.hashing import NumberHasher
from botkit.core import clock
from botkit.errors import ConfigError

BATCH = 2000


@dataclass
class Imported:
    """How an import went: recipients added now, already there (an import run again), and
    the rows that could not be added (bad and duplicate rows, with their line numbers)."""

    campaign: Campaign
    added: int = 0
    already: int = 0
    bad: list[BadRow] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(1 for row in self.bad if row.reason.startswith("duplicate"))


Progress = Callable[[Imported], None]


class Broadcasts:
    def __init__(
        self,
        store: CampaignStore,
        hasher: NumberHasher,
        wake: Callable[[], None] | None = None,
        *,
        batch: int = BATCH,
    ) -> None:
        """wake: tell this process's feeder that a campaign changed (others see it within a
        round); batch: recipients added in one atomic step."""
        self.store = store
        self.hasher = hasher
        self.batch = batch
        self._wake = wake

    def _changed(self) -> None:
        if self._wake is not None:
            self._wake()

    async def start(
        self,
        campaign: Campaign,
        audience: Audience,
        *,
        paused: bool = False,
        progress: Progress | None = None,
    ) -> Imported:
        """Create ``campaign`` (or resume the import of the one with its id, if its content is
        the same) and add the audience, whose columns the content's placeholders must name.
        ``paused``: nothing is sent until it is resumed."""
        check_columns(campaign.content, audience.columns)
        if not await self.store.create(campaign):
            existing = await self.store.get(campaign.id)
            if existing is None or existing.content != campaign.content:
                raise ConfigError(
                    f"campaign {campaign.id} exists with other content: pick another id"
                )
            if existing.state in ("done", "canceled"):
                raise ConfigError(f"campaign {campaign.id} is {existing.state}: nothing to resume")
            campaign = existing
        result = Imported(campaign)
        batch: list[tuple[str, str]] = []
        for item in audience.rows:
            if isinstance(item, BadRow):
                result.bad.append(item)
                continue
            recipient = item.recipient
            batch.append((digest_of(self.hasher, recipient.to), recipient.model_dump_json()))
            if len(batch) >= self.batch:
                await self._add(result, batch, progress)
                batch = []
        await self._add(result, batch, progress)
        current = await self.store.get(campaign.id)
        if current is not None and current.state == "queueing":
            # The first import to get through the whole audience counts its bad rows; one run
            # again after it finds the same rows, which are no news.
            duplicates = result.duplicates
            await self.store.count(
                {campaign.id: {"duplicates": duplicates, "invalid": len(result.bad) - duplicates}},
                int(clock.now() // 60),
            )
            current = await self.store.set_state(campaign.id, "paused" if paused else "sending")
        result.campaign = current or campaign
        self._changed()
        return result

    async def _add(
        self, result: Imported, batch: list[tuple[str, str]], progress: Progress | None
    ) -> None:
        if not batch:
            return
        added = await self.store.add(result.campaign.id, batch)
        result.added += added
        result.already += len(batch) - added
        if progress is not None:
            progress(result)

    async def steer(self, campaign_id: str, state: State) -> Campaign:
        """Pause (``paused``), resume (``sending``) or cancel (``canceled``) a campaign."""
        campaign = await self.store.set_state(campaign_id, state)
        if campaign is None:
            raise ConfigError(f"no campaign {campaign_id!r}")
        self._changed()
        return campaign

    async def report(self, campaign_id: str) -> Report:
        report = await self.store.report(campaign_id)
        if report is None:
            raise ConfigError(f"no campaign {campaign_id!r}")
        return report

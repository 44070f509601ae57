"""The campaign feeder: recipients go from a campaign's audience into the outbound queue about
as fast as the campaign's sender can send them, never all at once.

Why feed rather than queue a whole audience up front: a queued message costs a job record of
about 1.5 kB in its outbound queue shard (a Redis slot that also holds the consent copies every
claim checks, so the busiest slots there are); a campaign row costs a tenth of that, in a slot
of its own. Feeding keeps about ``window`` seconds of the
sender's rate in line, so replies on that sender still go first (they take the reply lane,
ahead of the bulk lane), a pause or a cancel stops the campaign within that window, and an
opt-out is checked again just before each recipient is queued.

Each round, for each campaign that is sending (one feeder at a time holds a campaign: a lease),
the feeder takes the rows held for quiet hours that are due and the next rows of the audience,
and for each recipient:

- opted out (of the sender, or of everything): skipped and counted ``opted_out``;
- in quiet hours in their own time zone (``BOTKIT_QUIET_HOURS``): held until daytime, counted
  ``quiet_hours`` once;
- otherwise queued in the bulk lane with the idempotency key ``campaign:<id>:<digest>``, so a
  feeder that died after queueing and before dropping the rows queues nothing twice.

A campaign whose audience is all fed is done. What is in line is the outbound queue's: sent,
retried and dead-lettered there, with the outcomes counted against the campaign.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime

from botkit.campaigns.counter import CampaignCounter
from botkit.campaigns.model import Campaign, Recipient
from botkit.campaigns.personalize import render, variables_for
from botkit.campaigns.protocol import ERASED_ROW, CampaignStore, digest_of
from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.protocol import ConsentLedger
from botkit.core import clock
from botkit.core.tasks import PollingLoop
from botkit.errors import SendError
from botkit.logging import get_logger
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.messenger import Messenger, number_on_channel_of
from botkit.outbound.quiet_hours import QuietHours

log = get_logger("campaigns")

#: How many of a campaign's messages in line (queued, not settled) the feeder aims for, in
#: seconds of the sender's rate; at least MIN_IN_LINE.
WINDOW = 2.0
MIN_IN_LINE = 20
#: Seconds a campaign's messages may be in line with no outcome counted before the feeder takes
#: them as lost (their process died before it wrote their counts).
STALL = 60.0
#: Rows fed per round at most, and enqueues in flight at once.
ROUND = 1000
CONCURRENCY = 64


class CampaignFeeder(PollingLoop):
    def __init__(
        self,
        store: CampaignStore,
        messenger: Messenger,
        ledger: ConsentLedger,
        hasher: NumberHasher,
        counter: CampaignCounter,
        rates: RateTable,
        quiet: QuietHours | None = None,
        *,
        tick: float = 0.25,
        lease: float = 10.0,
        window: float = WINDOW,
        stall: float = STALL,
    ) -> None:
        self.store = store
        self.messenger = messenger
        self.ledger = ledger
        self.hasher = hasher
        self.counter = counter
        self.rates = rates
        self.quiet = quiet
        self.lease = lease
        self.window = window
        self.stall = stall
        #: Per campaign: its (queued, settled) counts, since when, how long to wait for them.
        self._progress: dict[str, tuple[tuple[int, int], float, float]] = {}
        self._owner = secrets.token_hex(6)
        super().__init__("campaign-feeder", "campaign store", tick)

    async def round(self) -> bool:
        for campaign in await self.store.sending():
            await self.feed(campaign)
        return False

    async def feed(self, campaign: Campaign) -> int:
        """One round for one campaign; how many messages it queued."""
        if not await self.store.lease(campaign.id, self._owner, self.lease):
            return 0  # another process feeds it
        room = await self._room(campaign)
        if room <= 0:
            return 0
        held = await self.store.due_held(campaign.id, clock.now(), room)
        head = await self.store.head(campaign.id, room - len(held))
        if not held and not head:
            if await self.store.remaining(campaign.id) == 0:
                await self.store.set_state(campaign.id, "done")
                log.info("campaign fed in full", campaign=campaign.id)
            return 0
        queued = await self._feed_rows(campaign, held, head)
        await self.store.consume(campaign.id, self._owner, len(head))
        await self.store.release(campaign.id, self._owner, held)
        return queued

    async def _room(self, campaign: Campaign) -> int:
        """How many more of the campaign's messages may go in line now."""
        sender = campaign.sender
        rate = self.rates.limit_for(sender).rate if sender else self.rates.messaging_service.rate
        wanted = max(MIN_IN_LINE, int(rate * self.window))
        counts = await self.store.counts(campaign.id)
        queued, settled = counts.get("queued", 0), counts.get("settled", 0)
        in_line = queued - settled - counts.get("unaccounted", 0)
        if in_line > 0 and self._stalled(campaign.id, (queued, settled)):
            # A process that died took its last half second of outcomes with it: those
            # messages would seem in line for ever, and enough of them would stop the campaign.
            log.warning("campaign messages in line for long without an outcome: counted lost",
                        campaign=campaign.id, messages=in_line)
            self.counter.add(campaign.id, "unaccounted", in_line)
            await self.counter.flush()
            in_line = 0
        return min(ROUND, wanted - max(0, in_line))

    def _stalled(self, campaign_id: str, progress: tuple[int, int]) -> bool:
        """Whether the campaign's counts have not moved for ``stall`` seconds (doubled after
        each time they had, so that a sender down for an hour gains a window now and then,
        not one a minute)."""
        now = time.monotonic()
        seen = self._progress.get(campaign_id)
        if seen is None or seen[0] != progress:
            self._progress[campaign_id] = (progress, now, self.stall)
            return False
        _, since, patience = seen
        if now - since < patience:
            return False
        self._progress[campaign_id] = (progress, now, patience * 2)
        return True

    async def _feed_rows(self, campaign: Campaign, held: list[str], head: list[str]) -> int:
        now = datetime.fromtimestamp(clock.now(), UTC)
        holds: dict[str, float] = {}
        sends: list[Recipient] = []
        opted_out = 0
        erased = 0
        scopes = [s for s in (campaign.from_, campaign.messaging_service_sid) if s]
        was_held = set(held)
        for row in [*held, *head]:
            if row == ERASED_ROW:  # the person was erased (botkit privacy) before it was fed
                erased += 1
                continue
            recipient = Recipient.model_validate_json(row)
            if await self.ledger.is_opted_out(recipient.to, scopes):
                opted_out += 1
                continue
            until = self.quiet.next_allowed(recipient.to, now) if self.quiet else None
            if until is not None and row not in was_held:
                holds[row] = until.timestamp()
                continue
            sends.append(recipient)
        await self.store.hold(campaign.id, holds)
        gate = asyncio.Semaphore(CONCURRENCY)
        results = await asyncio.gather(*(self._send(campaign, r, gate) for r in sends))
        queued = results.count(1)
        refused = results.count(-1)
        self.counter.add(campaign.id, "queued", queued)
        self.counter.add(campaign.id, "opted_out", opted_out)
        self.counter.add(campaign.id, "quiet_hours", len(holds))
        self.counter.add(campaign.id, "invalid", refused)
        # Recipients dealt with without a message in line (what a progress bar adds to settled).
        self.counter.add(campaign.id, "skipped", opted_out + refused + erased)
        await self.counter.flush()  # the next round's room is judged on these
        return queued

    async def _send(self, campaign: Campaign, recipient: Recipient, gate: asyncio.Semaphore) -> int:
        """1: queued; 0: in line already (fed again after a crash); -1: refused (invalid)."""
        content = campaign.content
        key = f"campaign:{campaign.id}:{digest_of(self.hasher, recipient.to)}"
        async with gate:
            try:
                handle = await self.messenger.send(
                    recipient.to,
                    render(content.text, recipient.columns) if content.text else None,
                    content_sid=content.content_sid,
                    content_variables=variables_for(content, recipient.columns),
                    # A mixed audience: each recipient on their own channel, from the same number.
                    from_=(
                        number_on_channel_of(recipient.to, campaign.from_).number
                        if campaign.from_ else None
                    ),
                    messaging_service_sid=campaign.messaging_service_sid,
                    lane="bulk",
                    valid_for=campaign.valid_for,
                    campaign=campaign.id,
                    idempotency_key=key,
                )
            except SendError as exc:
                log.warning("campaign message not queued", campaign=campaign.id, error=str(exc))
                return -1
        # Fed again after a crash, it was in line already: counted once, or the campaign's
        # messages in line would never seem to settle.
        return 1 if handle.created else 0

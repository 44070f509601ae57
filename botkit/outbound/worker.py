"""OutboundWorker workers: claim the next job the limits allow, hand it to Twilio, settle the
outcome.

A worker process runs one claim loop and up to ``concurrency`` requests to Twilio at a time. The
queue does the scheduling (which sender, which job, at which slot); the worker sends each job at
its slot, and its pacer (botkit/outbound/limits/pacing.py) keeps a sender's real sends apart when
some run late, so every sender with work is kept at its limit and none waits for another.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from botkit.compliance.ledger.protocol import SOURCE_TWILIO_21610, ConsentLedger
from botkit.core.tasks import Outage, cancel_and_wait, ended, raise_if_cancelled, report_end
from botkit.logging import get_logger
from botkit.metrics import Metrics
from botkit.outbound.errors import Deferred, FormError, Verdict, classify
from botkit.outbound.job import Job, consent_scopes
from botkit.outbound.limits.pacing import Pacer
from botkit.outbound.limits.priority_gate import PriorityGate
from botkit.outbound.message import MAX_VALIDITY, OutboundMessage
from botkit.outbound.queue.clock import QueueClock
from botkit.outbound.queue.protocol import Claim, OutboundQueue
from botkit.outbound.retention import DeadLetterRetention
from botkit.outbound.scheduling import send_at_param, twilio_schedules
from botkit.outbound.settlements import Settlements
from botkit.outbound.shaping import Shaper
from botkit.twilio.client import ANSWERED_AT, RETRY_AFTER

log = get_logger("dispatch")

#: Told how a job ended: "sent", or a dead letter's reason.
Outcomes = Callable[[Job, str], None]

#: What the SDK's Messages resource sends with a create.
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
#: A post into a conversation also reaches the conversation's webhooks (as the bot's own
#: messages should: other listeners see them, and the bot recognises and skips them).
CONVERSATION_HEADERS = FORM_HEADERS | {"X-Twilio-Webhook-Enabled": "true"}

@dataclass(frozen=True)
class SendPolicy:
    concurrency: int = 32
    lease: float = 30.0
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    idle_poll: float = 0.05
    #: How far ahead (seconds) a claim takes slots. The worker then sends each job on a timer
    #: at its slot, so the claim's round trip is off the send's path and one round trip serves
    #: every slot in the window. A worker that has claimed everything due that soon claims
    #: again half a lookahead later at the earliest (unless woken by local work), so that each
    #: claim serves half a lookahead of slots rather than one.
    lookahead: float = 0.012
    #: Consent is checked when a job is claimed; a send that starts longer than this after its
    #: claim (a slot far ahead, a sender held back by its pacer) must know the ledger as of no
    #: longer ago than this, so a STOP that landed meanwhile still stops it: the ledger's change
    #: counter, read within this time (by a claim, or once for every send that needs it), must
    #: be what the job's claim read; otherwise it asks the ledger again.
    consent_recheck_after: float = 0.01
    #: Most jobs one claim round trip may take.
    claim_batch: int = 64
    #: Most jobs a worker holds at once: claimed and waiting for their slot or their sender's
    #: turn, or in flight. Only ``concurrency`` of them are requests to Twilio; the others must
    #: not take those places, or a worker whose claims look ahead would claim one job per
    #: round trip (bench/dispatch.py with 32 places for both: 2.2 jobs per claim).
    max_claimed: int = 256
    #: How long after a sender's next slot it stays with the worker that sent its last message
    #: (only that worker knows when it really went out); then any worker may take it over. Long
    #: enough that a busy worker does not lose its senders to a stall (bench/dispatch.py with two
    #: processes: 102 too-close sends at 20 ms, 10 at 100 ms, none at 500 ms), short next to the
    #: lease after which a dead worker's jobs are reclaimed anyway.
    affinity: float = 0.5
    #: How far a sender that fell behind may catch up on its slots in all, and how much closer :
    # than its interval one send may follow another while it does
    # (botkit/outbound/limits/pacing.py).
    catch_up: float = 0.005
    catch_up_per_send: float = 0.0005
    status_callback: str | None = None


def _now_us() -> int:
    return int(time.time() * 1_000_000)


class OutboundWorker:
    def __init__(
        self,
        queue: OutboundQueue,
        client: Client,
        ledger: ConsentLedger,
        policy: SendPolicy,
        *,
        shape: Shaper | None = None,
        metrics: Metrics | None = None,
        retention: DeadLetterRetention | None = None,
        outcomes: Outcomes | None = None,
    ) -> None:
        """outcomes: told how each job ended (sent, or the dead letter's reason), for the
        counts of the campaign it belongs to."""
        self.queue = queue
        self.retention = retention
        self.outcomes = outcomes
        self.client = client
        # Creates go through the SDK's API version (auth, http client, TwilioRestException) but
        # not its MessageInstance, whose 30 fields and three RFC 2822 dates cost more CPU than
        # anything else the SDK does for a send, for the one field a send needs: the sid.
        self._api = client.api.v2010
        self._messages_uri = f"/Accounts/{client.account_sid}/Messages.json"
        # The Messages resource only looks for a reclaimed job's earlier send. The SDK imports a
        # resource's modules on its first use (65 ms for Messages), which would stall this
        # worker's loop in the middle of sends: do it now.
        self._messages = client.messages
        # Posts into conversations go through the Conversations version the same way.
        self._conversations_api = client.conversations.v1
        self.ledger = ledger
        self.policy = policy
        self.shape = shape
        self.metrics = metrics or Metrics()
        self._claimed = asyncio.Semaphore(policy.max_claimed)
        self._requests = PriorityGate(policy.concurrency)
        self._wake = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        #: Set while this worker holds claimed sends (the consent counter is kept fresh then).
        self._holding = asyncio.Event()
        self._stopping = False
        self._clock = QueueClock()
        self._settlements = Settlements(queue)
        self._pacer = Pacer(policy.catch_up, policy.catch_up_per_send)
        self._holds: dict[str, int] = {}  # for the queue with the next claim
        #: Per queue shard: its consent change counter as last read (by a claim or on its own),
        #: and a moment (this process's clock) no later than when it was read.
        self._consent_seen: dict[int, tuple[int, float]] = {}
        #: Per shard: a read of the counter on its own, shared by every send that needs one.
        self._consent_read: dict[int, tuple[float, asyncio.Future[int | None]]] = {}
        #: Per shard: how many claimed sends this worker holds (whose counter is kept fresh).
        self._held: collections.Counter[int] = collections.Counter()
        self._name = secrets.token_hex(6)  # this worker, to the queue

    def trouble(self) -> str | None:
        """Why this outbound worker is not working, or None: one of its loops ended other than by
        stop() (a bug, logged when it happened), so the process should be restarted."""
        return None if self._stopping else ended(self._loops)

    def wake(self) -> None:
        """Something was enqueued in this process: look again now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="dispatch-claim"),
            asyncio.create_task(self._keep_consent_fresh(), name="dispatch-consent"),
        ]
        if self.retention is not None:
            sweep = self.retention.run(self.queue)
            self._loops.append(asyncio.create_task(sweep, name="dispatch-retention"))
        for task in self._loops:
            task.add_done_callback(report_end)

    async def stop(self, grace: float = 10.0) -> None:
        """Take no new work; let sends in flight finish (an unfinished lease gets reclaimed)."""
        self._stopping = True
        await cancel_and_wait(self._loops)
        if self._sends:
            await asyncio.wait(self._sends, timeout=grace)
        for task in self._sends:
            task.cancel()
        await self._settlements.drain()

    async def _claim_loop(self) -> None:
        lookahead_us = int(self.policy.lookahead * 1_000_000)
        affinity_us = int((self.policy.affinity + self.policy.lookahead) * 1_000_000)
        catch_up_us = int(self.policy.catch_up * 1_000_000)
        outage = Outage("outbound queue")
        while not self._stopping:
            raise_if_cancelled()
            # Wait for one free place, then take up to claim_batch - 1 more that are free now.
            await self._claimed.acquire()
            taken = 1
            while taken < self.policy.claim_batch and not self._claimed.locked():
                await self._claimed.acquire()
                taken += 1
            before = time.time()
            # Work enqueued here from now on may have missed this claim: let it cut a sleep short.
            self._wake.clear()
            holds, self._holds = self._holds, {}
            try:
                batch = await self.queue.claim_many(
                    self.policy.lease,
                    taken,
                    lookahead_us=lookahead_us,
                    holds=holds,
                    worker=self._name,
                    affinity_us=affinity_us,
                    catch_up_us=catch_up_us,
                )
            except Exception:
                self._holds = holds | self._holds
                self._release(taken)
                await outage.failed()
                continue
            outage.over()
            self._clock.observe(batch.now_us, before, time.time())
            for shard, changes in batch.consent_changes.items():
                self._saw_consent_changes(shard, changes, before)
            self._release(taken - len(batch.claims))
            for job in batch.suppressed_jobs:
                self.metrics.sent("opted_out")
                if self.outcomes is not None:
                    self.outcomes(job, "opted_out")
                log.info("not sent: recipient opted out", job=job.id)
            for claim in batch.claims:
                self._pacer.join(claim.job.sender, claim.send_at_us)
                self._held[claim.shard] += 1
                task = asyncio.create_task(self._send(claim))
                self._sends.add(task)
                task.add_done_callback(self._sends.discard)
            if batch.claims:
                self._holding.set()
            if len(batch.claims) < taken:
                # Nothing more is due within the lookahead: come back when the earliest sender
                # frees, less the lookahead, so its slot is claimed before it arrives, but
                # not before half a lookahead has passed.
                try:
                    await self._sleep_until(
                        batch.next_us, lookahead_us, before + self.policy.lookahead / 2
                    )
                except Exception:  # waiting for work asks the queue too (BLPOP on Redis)
                    await outage.failed()

    def _release(self, count: int) -> None:
        for _ in range(count):
            self._claimed.release()

    async def _sleep_until(self, next_us: int | None, lookahead_us: int, not_before: float) -> None:
        """Until the earliest sender is within the lookahead (at most idle_poll) but not before
        ``not_before`` (this process's clock), or wake(). With nothing queued at all, until any
        process puts work in line (the queue's wait_for_work, which this process's own enqueues
        signal too), so a webhook process that does not send itself has its replies claimed at
        once, not at this worker's next poll."""
        wait = self.policy.idle_poll
        if next_us is not None:
            wait = min(wait, self._clock.delay_until(next_us - lookahead_us))
        wait = max(wait, not_before - time.time())
        if wait <= 0:
            return
        if next_us is None:
            await self.queue.wait_for_work(wait)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._wake.wait()

    async def _send(self, claim: Claim) -> None:
        try:
            delay = self._clock.delay_until(claim.send_at_us)
            if delay > 0:
                await asyncio.sleep(delay)
            await self._deliver(claim)
        except Exception:
            log.exception("send failed unexpectedly; the lease will lapse", job=claim.job.id)
        finally:
            self._pacer.leave(claim.job.sender, claim.send_at_us)
            self._claimed.release()
            self._held[claim.shard] -= 1
            if not self._held[claim.shard]:
                del self._held[claim.shard]

    async def _deliver(self, claim: Claim) -> None:
        job = claim.job
        if job.expires_us is not None and _now_us() > job.expires_us:
            await self._bury(claim, "expired", "older than its validity period")
            return
        if claim.reclaimed and await self._already_sent(claim):
            return
        try:
            job = await self.shape(job) if self.shape is not None else job
        except FormError as exc:
            await self._bury(claim, "undeliverable", str(exc))
            return
        except Deferred as exc:
            await self.queue.retry(claim, exc.until_us, str(exc))
            return
        if job is not claim.job:
            await self.queue.update(claim, job)
        await self._attempt(claim, job)

    async def _attempt(self, claim: Claim, job: Job) -> None:
        interval = job.cost / job.rate
        to = job.message.to
        await self._pacer.wait_turn(job.sender, interval, claim.send_at_us, to)
        async with self._requests.place((interval, claim.send_at_us)):
            if await self._opted_out_since_claim(claim, job):
                await self._bury(claim, "opted_out", "opted out after the send was claimed")
                return
            sid = await self._request(claim, job, interval)
        if sid is None:
            return
        self.metrics.sent("sent")
        if self.outcomes is not None:
            self.outcomes(job, "sent")
        log.info("message sent", job=job.id, sid=sid, to=job.message.to, attempt=claim.attempts)
        # Recorded in the queue with the next batch; the send is over now.
        self._settlements.complete(claim, sid)

    async def _request(self, claim: Claim, job: Job, interval: float) -> str | None:
        """Hand the job to Twilio: its sid, or None when Twilio refused it or did not answer
        (the failure is dealt with here)."""
        to = job.message.to
        flight = self._pacer.started(job.sender, time.time(), interval, to)
        self._pacer.leave(job.sender, claim.send_at_us)
        RETRY_AFTER.set(None)
        ANSWERED_AT.set(None)
        try:
            created = await self._create(job, claim.attempts)
            self._pacer.answered(flight, ANSWERED_AT.get() or time.time())
        except TwilioRestException as exc:
            await self._failed(claim, job, exc.status, exc.code, f"{exc.code}: {exc.msg}")
            return None
        except (OSError, TimeoutError) as exc:
            await self._failed(claim, job, None, None, f"no answer: {exc!r}")
            return None
        finally:
            self._pacer.finished(flight)
            self._move_slot(claim, job)
        return str(created["sid"])

    async def _opted_out_since_claim(self, claim: Claim, job: Job) -> bool:
        if not job.consent_keys:
            return False  # the STOP confirmation: sent past the opt-out on purpose
        now, fresh = time.time(), self.policy.consent_recheck_after
        if now - self._clock.local(claim.claimed_us) <= fresh:
            return False  # as good as the claim's own check
        changes, shard = claim.consent_changes, claim.shard
        if changes is not None and await self._consent_changes_since(shard, now - fresh) == changes:
            return False  # nobody opted out or in between the claim and a recent read
        return await self.ledger.is_opted_out(job.message.to, consent_scopes(job.message))

    async def _keep_consent_fresh(self) -> None:
        """While this worker holds claimed sends, make sure the consent change counter of each
        shard they came from was read within the last half of consent_recheck_after (a claim's
        reading counts), so that a send that starts late finds a fresh reading instead of waiting
        for one: that read queues in Redis behind the next claim (bench/dispatch.py: a WhatsApp send
        waited up to 15 ms)."""
        every = self.policy.consent_recheck_after / 2
        while True:
            if not self._sends:
                self._holding.clear()
                await self._holding.wait()
            await asyncio.sleep(every)
            since = time.time() - every
            with contextlib.suppress(Exception):  # a send that needs it reads and reports again
                await asyncio.gather(*(self._consent_changes_since(s, since) for s in self._held))

    async def _consent_changes_since(self, shard: int, since: float) -> int | None:
        """A shard's consent change counter as read no earlier than ``since``: the latest
        claim's reading when it is that recent, else one read shared by every send that needs
        it now (in a burst a worker holds many claimed sends and claims rarely)."""
        seen = self._consent_seen.get(shard)
        if seen is not None and seen[1] >= since:
            return seen[0]
        reading = self._consent_read.get(shard)
        if reading is None or reading[0] < since:
            began = time.time()
            reading = (began, asyncio.ensure_future(self._read_consent_changes(shard, began)))
            self._consent_read[shard] = reading
        return await asyncio.shield(reading[1])

    async def _read_consent_changes(self, shard: int, began: float) -> int | None:
        value = await self.queue.consent_changes(shard)
        if value is not None:
            self._saw_consent_changes(shard, value, began)
        return value

    def _saw_consent_changes(self, shard: int, value: int, began: float) -> None:
        seen = self._consent_seen.get(shard)
        if seen is None or began >= seen[1]:
            self._consent_seen[shard] = (value, began)

    def _move_slot(self, claim: Claim, job: Job) -> None:
        """When the pacer holds this sender back, the queue's schedule for it runs ahead of its
        real sends: no worker may send it earlier than the pacer allows, and every claim would
        add a job to the sender's line here (bench/dispatch.py: 50 per WhatsApp sender, taking
        every place a worker has). So tell the queue, with the next claim, when the sender can
        really send its next unclaimed job: once the pacer allows and the jobs already in line
        have gone."""
        earliest = self._pacer.earliest(job.sender)
        if not earliest:
            return
        interval_us = math.ceil(job.cost * 1_000_000 / job.rate)
        waiting = self._pacer.waiting(job.sender)
        until = self._clock.queue_us(earliest) + waiting * interval_us
        if claim.send_at_us and until > claim.send_at_us + (waiting + 1) * interval_us:
            self._holds[job.sender] = max(self._holds.get(job.sender, 0), until)

    async def _create(self, job: Job, attempt: int) -> dict[str, Any]:
        """One request to Twilio: a Messages create, or a post into a conversation."""
        conversation_sid = job.message.conversation_sid
        if conversation_sid is not None:
            created: dict[str, Any] = await self._conversations_api.create_async(
                method="POST",
                uri=f"/Conversations/{conversation_sid}/Messages",
                data=_post_form(job.message),
                headers=dict(CONVERSATION_HEADERS),
            )
            return created
        created = await self._api.create_async(
            method="POST",
            uri=self._messages_uri,
            data=self._form(job, attempt),
            headers=dict(FORM_HEADERS),  # the SDK adds its own to the dict it is given
        )
        return created

    def _form(self, job: Job, attempt: int = 1) -> dict[str, object]:
        """The create request's form, in Twilio's parameter names. ``attempt``: this job's
        attempts so far, this one included (Twilio's Attempt)."""
        message = job.message
        form: dict[str, object] = {"To": message.to}
        if message.messaging_service_sid:
            form["MessagingServiceSid"] = message.messaging_service_sid
        else:
            form["From"] = message.from_
        if message.content_sid:
            form.update(_content_form(message))
        else:
            if message.body:
                form["Body"] = message.body
            if message.media_urls:
                form["MediaUrl"] = list(message.media_urls)
        callback = message.status_callback or self.policy.status_callback
        if callback and message.campaign and not message.status_callback:
            # Its statuses count for its campaign: the tracker reads the campaign from the URL,
            # which costs no look-up of the job when Twilio calls.
            callback = f"{callback}?{urlencode({'campaign': message.campaign})}"
        if callback:
            form["StatusCallback"] = callback
        form.update(_delivery_options(job, attempt))
        return form

    async def _failed(
        self, claim: Claim, job: Job, status: int | None, code: int | None, error: str
    ) -> None:
        verdict = classify(status, code)
        if verdict is Verdict.RATE_LIMITED:
            self.metrics.sent("rate_limited")
            hold = RETRY_AFTER.get() or self._backoff(claim.attempts)
            until = _now_us() + int(hold * 1_000_000)
            await self.queue.hold_sender(job.sender, until)
            await self._retry_or_bury(claim, until, error)
            log.warning("sender rate limited by Twilio", sender=job.sender, hold_s=hold)
        elif verdict is Verdict.TRANSIENT:
            until = _now_us() + int(self._backoff(claim.attempts) * 1_000_000)
            await self._retry_or_bury(claim, until, error)
        elif verdict is Verdict.OPTED_OUT:
            scope = job.message.messaging_service_sid or job.message.from_ or job.sender
            await self.ledger.opt_out(
                job.message.to, scope, keyword=None, source=SOURCE_TWILIO_21610
            )
            if job.message.compliance:
                # botkit's STOP confirmation (or HELP reply) refused because Twilio's own
                # opt-out handling already answered the keyword: done, not a failure.
                await self.queue.drop(claim, "answered_by_twilio")
                self.metrics.sent("answered_by_twilio")
                log.info("compliance reply left to Twilio's own", job=job.id, error=error)
            else:
                await self._bury(claim, "opted_out", error)
        elif verdict is Verdict.WINDOW_CLOSED:
            await self._as_template(claim, job, error)
        else:
            await self._bury(claim, "rejected", error)

    async def _as_template(self, claim: Claim, job: Job, error: str) -> None:
        """Twilio says the window is closed (63016): send the fallback template instead."""
        if self.shape is None or job.message.content_sid:
            await self._bury(claim, "outside_whatsapp_window", error)
            return
        try:
            template = self.shape.to_template(job)
        except FormError as exc:
            await self._bury(claim, "outside_whatsapp_window", f"{error}; {exc}")
            return
        await self.queue.update(claim, template)
        await self.queue.retry(claim, _now_us(), error)

    async def _retry_or_bury(self, claim: Claim, until_us: int, error: str) -> None:
        if claim.attempts >= self.policy.max_attempts:
            await self._bury(claim, "retries_exhausted", error)
            return
        await self.queue.retry(claim, until_us, error)
        self.metrics.sent("retried")
        log.info("send will be retried", job=claim.job.id, attempt=claim.attempts, error=error)

    async def _bury(self, claim: Claim, reason: str, error: str | None) -> None:
        await self.queue.bury(claim, reason, error)
        self.metrics.sent(reason)
        if self.outcomes is not None:
            self.outcomes(claim.job, reason)
        log.warning("message dead-lettered", job=claim.job.id, reason=reason, error=error)

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter, so retries from many workers spread out."""
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def _already_sent(self, claim: Claim) -> bool:
        """A worker took this job and vanished: did Twilio get it? Look before sending again.

        Twilio offers no idempotency key on Messages create, so we list what this sender sent
        this recipient since the job was created and match the body.
        """
        message = claim.job.message
        if message.conversation_sid is not None:
            return await self._already_posted(claim)
        created = time.gmtime(claim.job.created_us / 1_000_000)
        try:
            found = await self._messages.list_async(
                to=message.to,
                from_=None if message.messaging_service_sid else message.from_,
                date_sent_after=_date(created),
                limit=50,
            )
        except (TwilioRestException, OSError, TimeoutError):
            return False  # cannot tell: sending again is the lesser harm than losing it
        for sent in found:
            same = (sent.body or "") == (message.body or "") and (
                not message.messaging_service_sid
                or sent.messaging_service_sid == message.messaging_service_sid
            )
            if same and sent.date_created is not None and (
                sent.date_created.timestamp() * 1_000_000 >= claim.job.created_us - 1_000_000
            ):
                await self.queue.complete(claim, str(sent.sid))
                log.info("reclaimed job was already sent", job=claim.job.id, sid=sent.sid)
                return True
        return False


    async def _already_posted(self, claim: Claim) -> bool:
        """The same question for a post into a conversation: is a message by the same author,
        with the same body and attributes, among the conversation's newest, created since the
        job was? Posts come from handlers re-run after a crash, so the newest page suffices."""
        message = claim.job.message
        assert message.conversation_sid is not None
        try:
            page = await self._conversations_api.fetch_async(
                method="GET",
                uri=f"/Conversations/{message.conversation_sid}/Messages",
                params={"Order": "desc", "PageSize": 50},
            )
        except (TwilioRestException, OSError, TimeoutError):
            return False  # cannot tell: posting again is the lesser harm than losing it
        for posted in _page_items(page, "messages"):
            if _same_post(posted, message) and _created_us(posted) >= claim.job.created_us - 1e6:
                await self.queue.complete(claim, str(posted["sid"]))
                log.info("reclaimed post was already made", job=claim.job.id, sid=posted["sid"])
                return True
        return False


def _date(moment: time.struct_time) -> Any:
    import datetime

    return datetime.datetime(moment.tm_year, moment.tm_mon, moment.tm_mday, tzinfo=datetime.UTC)


def _delivery_options(job: Job, attempt: int) -> dict[str, object]:
    """Twilio's options for when and how a message is delivered, as the message asks."""
    message = job.message
    form: dict[str, object] = {"Attempt": attempt}
    if job.expires_us is not None:
        # What is left of the message's validity, so Twilio drops it rather than send it late
        # from its own queue (30036). Twilio's default is its maximum.
        left = math.ceil((job.expires_us - _now_us()) / 1_000_000)
        if left < MAX_VALIDITY:
            form["ValidityPeriod"] = max(1, left)
    if message.send_at is not None and twilio_schedules(message):
        form["ScheduleType"] = "fixed"
        form["SendAt"] = send_at_param(message)
    switches = (("SmartEncoded", message.smart_encoded), ("ShortenUrls", message.shorten_urls))
    for name, value in switches:
        if value is not None:
            form[name] = "true" if value else "false"  # as the SDK writes a boolean
    return form


def _post_form(message: OutboundMessage) -> dict[str, object]:
    """A conversation message's create form, in Twilio's parameter names."""
    form: dict[str, object] = {"Author": message.author, **_content_form(message)}
    if message.body:
        form["Body"] = message.body
    if message.attributes:
        form["Attributes"] = message.attributes
    return form


def _content_form(message: OutboundMessage) -> dict[str, object]:
    """A Content template's fields, the same on Messages and in Conversations."""
    if not message.content_sid:
        return {}
    form: dict[str, object] = {"ContentSid": message.content_sid}
    if message.content_variables:
        form["ContentVariables"] = message.content_variables
    return form


def _same_post(posted: dict[str, Any], message: OutboundMessage) -> bool:
    attributes = json.loads(message.attributes) if message.attributes else {}
    try:
        posted_attributes = json.loads(posted.get("attributes") or "{}")
    except ValueError:
        return False
    return (
        posted.get("author") == message.author
        and (posted.get("body") or "") == (message.body or "")
        and posted_attributes == attributes
    )


def _created_us(posted: dict[str, Any]) -> float:
    import datetime

    raw = posted.get("date_created")
    if not raw:
        return 0.0
    try:
        moment = datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return moment.timestamp() * 1_000_000


def _page_items(page: Any, key: str) -> list[dict[str, Any]]:
    """The records of a list page, as Version.fetch_async parsed it."""
    items = page.get(key, []) if isinstance(page, dict) else []
    return [item for item in items if isinstance(item, dict)]

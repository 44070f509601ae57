"""Benchmark of the outbound worker (issue 4): a backlog on 515 senders, judged by a
sandbox.

Scenario: 500 long codes at 1/s, 10 Messaging Services at 10/s and 5 WhatsApp senders at 80/s
(1000 msg/s combined). Every sender starts with exactly ``20 * scale`` seconds of its own work,
queued before the workers run. ``botkit worker bots.echo`` processes send it to a strict-rate
sandbox running in a process of its own; status callbacks are off (no BOTKIT_PUBLIC_URL).

Each configuration (``--processes 1 2``) gets a fresh Redis database and a fresh sandbox. The
workers are started, left to finish importing, stopped (SIGSTOP) while the backlog is queued, then
let go (SIGCONT): that instant is ``start``, and their CPU from then on is the outbound worker's.

Measures, all judged from the send times the sandbox recorded:

- utilization: ideal makespan (the backlog's seconds of work) / actual makespan, where the actual
  one ends when the last sender's last send has used up its interval (at + cost/rate);
- limit violations: consecutive sends on one sender closer than cost/rate - 10 ms, and the 429s
  the sandbox answered (it allows 10 ms; counted from the workers' logs);
- outbound worker CPU per message: the workers' utime+stime (/proc/<pid>/stat) / messages sent;
- lateness of each send: its time minus the earliest the limit allowed, max(start, previous
  send + cost/rate).
- where each kind lost time: that lateness after each sender's first send, summed per sender and
  split by how late each send was (<= 1 ms: the steady cost of timers and round trips; > 5 ms:
  stalls and bursts).

Capacity, measured in the same run because the machine is noisy and the sandbox itself may be the
bottleneck: plain concurrent SDK creates with no outbound worker (the baseline), and the outbound
worker with limits nobody reaches, both to a fresh sandbox that enforces no limits, with the same
mix.

Run from the repository root: ``python bench/dispatch.py [--scale 0.25] [--processes 1 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench._proc and tests.support, when run as bench/dispatch.py

import aiohttp  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench._proc import cpu_seconds, every_process_cpu, machine_cpu_since, stop  # noqa: E402
from bench._table import table  # noqa: E402
from botkit.compliance.windows.redis import RedisWindowStore  # noqa: E402
from botkit.outbound.limits.rates import Limit, RateTable  # noqa: E402
from botkit.outbound.message import OutboundMessage  # noqa: E402
from botkit.runtime.outbound import open_outbox  # noqa: E402
from botkit.runtime.stores import build_stores  # noqa: E402
from botkit.sandbox.config import MessagingService, SandboxConfig  # noqa: E402
from botkit.settings import Settings  # noqa: E402
from botkit.twilio.development import (  # noqa: E402
    DEVELOPMENT_ACCOUNT_SID,
    DEVELOPMENT_AUTH_TOKEN,
)
from tests.support.redis_server import running_redis  # noqa: E402

PEPPER = "bench-dispatch-pepper-0123456789"
#: How much closer than its interval a send may follow the one before: Twilio queues what
#: arrives early rather than refusing it, so pacing is judged as the sandbox judges it (10 ms).
JUDGE_TOLERANCE = 0.010
NAMESPACE = "echo"  # bots.echo's queue
WORK_SECONDS = 20.0
RATES = {"long_code": 1.0, "messaging_service": 10.0, "whatsapp": 80.0}
UNREACHABLE = 1e6  # a rate no sender gets near: the capacity runs
KIND_NAMES = {
    "long_code": "long codes",
    "messaging_service": "Messaging Services",
    "whatsapp": "WhatsApp senders",
}
CORES = os.cpu_count() or 1
RATE_LIMITED = "warning: sender rate limited by Twilio"


# -- the scenario ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    sender: str  # as the outbound worker keys it: +1..., MG..., whatsapp:+1...
    kind: str
    recipients: tuple[str, ...]

    @property
    def rate(self) -> float:
        return RATES[self.kind]


def senders() -> list[Sender]:
    """500 long codes, 10 Messaging Services and 5 WhatsApp senders, each with its recipients."""
    found = [
        Sender(f"+15551{i:06d}", "long_code", tuple(f"+15554{i:03d}{r:03d}" for r in range(4)))
        for i in range(500)
    ]
    found += [
        Sender(
            f"MG{i:032x}", "messaging_service", tuple(f"+15555{i:03d}{r:03d}" for r in range(20))
        )
        for i in range(10)
    ]
    found += [
        Sender(
            f"whatsapp:+15553{i:06d}",
            "whatsapp",
            tuple(f"whatsapp:+15556{i:03d}{r:03d}" for r in range(40)),
        )
        for i in range(5)
    ]
    return found


def pool_of(service: str) -> list[str]:
    """The Messaging Service's sender pool in the sandbox (SMS numbers)."""
    i = int(service[2:], 16)
    return [f"+15552{i:03d}{j:03d}" for j in range(3)]


def backlog(scale: float, run: str) -> list[OutboundMessage]:
    """Each sender gets exactly WORK_SECONDS * scale seconds of its own work (1-segment SMS or
    one WhatsApp message each), interleaved across senders. Bulk lane, as a broadcast is."""
    per_sender = []
    for s in senders():
        is_service = s.kind == "messaging_service"
        per_sender.append(
            [
                OutboundMessage(
                    to=s.recipients[k % len(s.recipients)],
                    body=f"bench {run} {k}",
                    from_=None if is_service else s.sender,
                    messaging_service_sid=s.sender if is_service else None,
                    idempotency_key=f"bench-{run}-{s.sender}-{k}",
                    lane="bulk",
                )
                for k in range(round(WORK_SECONDS * scale * s.rate))
            ]
        )
    return [m for group in itertools.zip_longest(*per_sender) for m in group if m is not None]


def whatsapp_pairs() -> list[tuple[str, str]]:
    """(sender, user) pairs whose 24-hour window must be open, so every send is free-form."""
    return [(s.sender, to) for s in senders() if s.kind == "whatsapp" for to in s.recipients]


def rate_table(limited: bool) -> RateTable:
    rates = RATES if limited else dict.fromkeys(RATES, UNREACHABLE)
    return RateTable(**{kind: Limit(rate=rate) for kind, rate in rates.items()})


def sandbox_config(strict: bool, status_step: float) -> SandboxConfig:
    services = [
        MessagingService(sid=s.sender, numbers=pool_of(s.sender))
        for s in senders()
        if s.kind == "messaging_service"
    ]
    rates = dict(SandboxConfig().rates) | RATES
    return SandboxConfig(
        strict_rates=strict, services=services, status_step=status_step, rates=rates
    )


# -- processes and their CPU -----------------------------------------------------------------------


async def redis_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@contextlib.contextmanager
def sandbox_process(workdir: Path, strict: bool, status_step: float) -> Iterator[tuple[str, int]]:
    """A sandbox in its own process: (base URL, pid)."""
    spec = workdir / f"sandbox-{'strict' if strict else 'open'}-{time.monotonic_ns()}.json"
    pairs = [[user, sender] for sender, user in whatsapp_pairs()]
    config = sandbox_config(strict, status_step).model_dump(mode="json")
    spec.write_text(json.dumps({"config": config, "windows": pairs}))
    with (workdir / f"{spec.stem}.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / "_sandbox.py"), str(spec)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=ROOT,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            if not url.startswith("http"):
                raise RuntimeError(f"the sandbox did not start; see {log.name}")
            yield url, proc.pid
        finally:
            stop(proc)


def worker_env(
    redis_url: str, sandbox_url: str, limited: bool, loop: str | None = None
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOTKIT_", "TWILIO_")) and k != "REDIS_URL"
    }
    env.update(
        TWILIO_ACCOUNT_SID=DEVELOPMENT_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=DEVELOPMENT_AUTH_TOKEN,
        BOTKIT_TWILIO_BASE_URL=sandbox_url,
        # The workers are stopped (SIGSTOP) while the backlog is queued, which can take longer
        # than redis-py's 5 s read timeout: a read pending at the stop would time out on waking
        # and its reply (a claim's jobs) be lost until their lease ran out.
        REDIS_URL=redis_url + "?socket_timeout=120",
        BOTKIT_CONSENT_PEPPER=PEPPER,
        BOTKIT_RATES=rate_table(limited).model_dump_json(),
        BOTKIT_LOG_FORMAT="json",
    )
    if loop:
        env["BOTKIT_EVENT_LOOP"] = loop
    return env  # no BOTKIT_PUBLIC_URL: status callbacks off


@dataclass
class Workers:
    procs: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def signal(self, signum: int) -> None:
        for proc in self.procs:
            proc.send_signal(signum)

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def events(self) -> tuple[Counter[str], Counter[str]]:
        """What the workers logged besides "message sent", and the 429s by sender kind."""
        seen: Counter[str] = Counter()
        limited: Counter[str] = Counter()
        for path in self.logs:
            for line in path.read_text().splitlines():
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    name = f"{entry.get('level')}: {entry.get('event')}"
                    if name == RATE_LIMITED:
                        limited[kind_of(str(entry.get("sender", "")))] += 1
                    elif name != "info: message sent":
                        seen[name] += 1
        return seen, limited


def kind_of(sender: str) -> str:
    if sender.startswith("MG"):
        return "messaging_service"
    return "whatsapp" if sender.startswith("whatsapp:") else "long_code"


@contextlib.contextmanager
def worker_processes(
    count: int, concurrency: int, env: dict[str, str], workdir: Path, label: str
) -> Iterator[Workers]:
    botkit = str(Path(sys.executable).parent / "botkit")
    workers = Workers([], [])
    try:
        for n in range(count):
            path = workdir / f"worker-{label}-{n}.log"
            workers.logs.append(path)
            with path.open("wb") as out:
                workers.procs.append(
                    subprocess.Popen(
                        [botkit, "worker", "bots.echo", "--concurrency", str(concurrency)],
                        env=env,
                        cwd=ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        yield workers
    finally:
        for proc in workers.procs:
            stop(proc)


async def wait_running(workers: Workers, within: float = 30.0) -> None:
    """Until every worker has logged that its outbound worker runs (imports done, Redis reached)."""
    deadline = time.monotonic() + within
    while True:
        for proc in workers.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited with {proc.returncode}; see {workers.logs}")
        if all("dispatcher running" in p.read_text() for p in workers.logs):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start in time")
        await asyncio.sleep(0.05)


# -- one outbound worker run -----------------------------------------------------------------------


@dataclass
class Run:
    """What one outbound worker run measured, before judging."""

    label: str
    queued: int
    sends: list[dict[str, Any]]
    start: float
    done: float
    timed_out: bool
    worker_cpu: float
    sandbox_cpu: float
    redis_cpu: float
    busy: float  # share of the machine's CPU time in use
    others: float  # cores used by processes outside the benchmark
    events: Counter[str]
    rate_limited: Counter[str]
    processes: int = 1


async def enqueue_backlog(redis: Redis, messages: Sequence[OutboundMessage], limited: bool) -> None:
    """Queue the backlog as bots.echo's webhook processes would, and open the WhatsApp windows."""
    settings = Settings(consent_pepper=PEPPER, rates=rate_table(limited))
    outbound = build_stores(settings, NAMESPACE, redis)
    outbox = open_outbox(outbound, settings)
    windows = RedisWindowStore(redis)
    await asyncio.gather(*(windows.touch(sender, user) for sender, user in whatsapp_pairs()))
    for start in range(0, len(messages), 256):
        await asyncio.gather(*(outbox.submit(m) for m in messages[start : start + 256]))
    queued = await outbound.queue.pending()
    if queued != len(messages):
        raise RuntimeError(f"{queued} jobs pending after queueing {len(messages)}")


async def drained(redis: Redis, within: float) -> bool:
    """Until nothing is queued or in flight (True), or ``within`` seconds passed (False)."""
    queue = build_stores(Settings(consent_pepper=PEPPER), NAMESPACE, redis).queue
    deadline = time.monotonic() + within
    while True:
        if await queue.pending() == 0:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)


async def run_dispatch(
    label: str,
    processes: int,
    messages: Sequence[OutboundMessage],
    limited: bool,
    args: argparse.Namespace,
    redis_url: str,
    workdir: Path,
) -> Run:
    redis = Redis.from_url(redis_url, max_connections=512)
    await redis.flushall()
    sandbox = sandbox_process(workdir, limited, args.status_step)
    with (
        sandbox as (url, sandbox_pid),
        worker_processes(
            processes,
            args.concurrency,
            worker_env(redis_url, url, limited, args.loop),
            workdir,
            label,
        ) as workers,
    ):
        await wait_running(workers)
        workers.signal(signal.SIGSTOP)
        await enqueue_backlog(redis, messages, limited)
        cpu0, box0, redis0 = workers.cpu(), cpu_seconds(sandbox_pid), await redis_cpu(redis)
        machine0, own0 = every_process_cpu(), cpu_seconds(os.getpid())
        start = time.time()
        workers.signal(signal.SIGCONT)
        finished = await drained(redis, args.timeout)
        done = time.time()
        cpu1, box1, redis1 = workers.cpu(), cpu_seconds(sandbox_pid), await redis_cpu(redis)
        machine_s, own1 = machine_cpu_since(machine0), cpu_seconds(os.getpid())
        sends = await recorded_sends(url)
        workers.signal(signal.SIGTERM)
        for proc in workers.procs:
            proc.wait(timeout=15)
        events, rate_limited = workers.events()
    await redis.aclose()
    if not finished:
        print(f"  ! {label}: not drained after {args.timeout:.0f} s", file=sys.stderr)
    (workdir / f"sends-{label}.json").write_text(json.dumps({"start": start, "sends": sends}))
    ours = (cpu1 - cpu0) + (box1 - box0) + (redis1 - redis0) + (own1 - own0)
    return Run(
        label=label,
        queued=len(messages),
        sends=sends,
        start=start,
        done=done,
        timed_out=not finished,
        worker_cpu=cpu1 - cpu0,
        sandbox_cpu=box1 - box0,
        redis_cpu=redis1 - redis0,
        busy=machine_s / (done - start) / CORES,
        others=max(0.0, machine_s - ours) / (done - start),
        events=events,
        rate_limited=rate_limited,
        processes=processes,
    )


# -- judging the scenario --------------------------------------------------------------------------


@dataclass
class Judged:
    """The figures for one group of senders (all of them, or one kind)."""

    sends: int = 0
    makespan: float = math.nan
    violations: int = 0
    closest_ms: float = math.nan  # the smallest gap minus its interval
    lateness: list[float] = field(default_factory=list)
    later: list[float] = field(default_factory=list)  # all but each sender's first send
    first_round: float = math.nan  # when every sender had made its first send


def judge(sends: Sequence[dict[str, Any]], start: float) -> dict[str, Judged]:
    """By kind and "all": what the sandbox's recorded send times say about the run."""
    by_sender: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for send in sends:
        by_sender[send["sender"]].append(send)
    found: dict[str, Judged] = defaultdict(Judged)
    for records in by_sender.values():
        records.sort(key=lambda r: r["at"])
        rate = float(records[0]["rate"])
        end = records[-1]["at"] + records[-1]["units"] / rate - start
        closest = math.inf
        for group in (found["all"], found[records[0]["kind"]]):
            group.sends += len(records)
            group.makespan = end if math.isnan(group.makespan) else max(group.makespan, end)
            first = records[0]["at"] - start
            group.first_round = (
                first if math.isnan(group.first_round) else max(group.first_round, first)
            )
            group.lateness.append(first)
        for prev, cur in itertools.pairwise(records):
            interval = prev["units"] / rate
            gap = cur["at"] - prev["at"]
            closest = min(closest, gap - interval)
            late = cur["at"] - max(start, prev["at"] + interval)
            for group in (found["all"], found[records[0]["kind"]]):
                group.violations += gap < interval - JUDGE_TOLERANCE
                group.lateness.append(late)
                group.later.append(late)
        for group in (found["all"], found[records[0]["kind"]]):
            if closest < math.inf:
                ms = closest * 1000
                group.closest_ms = ms if math.isnan(group.closest_ms) else min(group.closest_ms, ms)
    return dict(found)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


# -- capacity: the SDK alone, and the outbound worker with no limit in reach -----------------------


@dataclass
class Capacity:
    processes: int
    messages: int
    rate: float = math.nan
    client_cpu_us: float = math.nan
    sandbox_cpu_us: float = math.nan
    busy: float = math.nan
    others: float = math.nan
    failed: int = 0


def create_params(message: OutboundMessage) -> dict[str, Any]:
    """messages.create's arguments for message, as the outbound worker passes them."""
    params: dict[str, Any] = {"to": message.to, "body": message.body}
    if message.messaging_service_sid:
        params["messaging_service_sid"] = message.messaging_service_sid
    else:
        params["from_"] = message.from_
    return params


def start_client(
    script: str, spec_path: Path, url: str, concurrency: int, **spec: Any
) -> subprocess.Popen[str]:
    """One of the baseline clients in bench/ (_sdk_loop.py, _sdk_pacer.py) on the sandbox at url,
    given its spec in a file and talking over stdin and stdout."""
    spec_path.write_text(
        json.dumps(
            {
                "url": url,
                "account_sid": DEVELOPMENT_ACCOUNT_SID,
                "auth_token": DEVELOPMENT_AUTH_TOKEN,
                "concurrency": concurrency,
                **spec,
            }
        )
    )
    return subprocess.Popen(
        [sys.executable, str(BENCH / script), str(spec_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


@dataclass
class ClientRun:
    """What baseline clients reported, and what the sandbox and the machine used meanwhile."""

    reports: list[dict[str, Any]]
    sandbox_cpu: float
    machine_cpu: float
    wall: float


async def run_clients(procs: Sequence[subprocess.Popen[str]], sandbox_pid: int) -> ClientRun:
    """Wait until every client is ready, tell them all to go, and collect their reports; the
    clients are stopped whatever happens."""
    try:
        for proc in procs:
            assert proc.stdout is not None
            if await asyncio.to_thread(proc.stdout.readline) != "ready\n":
                raise RuntimeError(f"a baseline client did not start: {proc.args!r}")
        box0, machine0, wall0 = cpu_seconds(sandbox_pid), every_process_cpu(), time.time()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = []
        for proc in procs:
            assert proc.stdout is not None
            reports.append(json.loads(await asyncio.to_thread(proc.stdout.readline)))
        return ClientRun(
            reports=reports,
            sandbox_cpu=cpu_seconds(sandbox_pid) - box0,
            machine_cpu=machine_cpu_since(machine0),
            wall=time.time() - wall0,
        )
    finally:
        for proc in procs:
            stop(proc)


async def recorded_sends(url: str) -> list[dict[str, Any]]:
    """Every send the sandbox at url recorded, with when it stamped it."""
    async with aiohttp.ClientSession() as http, http.get(url + "/sandbox/sends") as response:
        sends: list[dict[str, Any]] = (await response.json())["sends"]
    return sends


async def run_sdk_baseline(processes: int, args: argparse.Namespace, workdir: Path) -> Capacity:
    """Plain concurrent SDK creates, ``concurrency`` per process, to a sandbox without limits:
    back to back."""
    messages = backlog(args.scale, f"sdk{processes}")[: args.capacity_messages]
    found = Capacity(processes, len(messages))
    with sandbox_process(workdir, False, args.status_step) as (url, sandbox_pid):
        procs = [
            start_client(
                "_sdk_loop.py",
                workdir / f"sdk-{processes}p-{n}.json",
                url,
                args.concurrency,
                messages=[create_params(m) for m in messages[n::processes]],
            )
            for n in range(processes)
        ]
        run = await run_clients(procs, sandbox_pid)
    reports = run.reports
    ok = sum(r["ok"] for r in reports)
    found.failed = sum(r["failed"] for r in reports)
    found.rate = ok / (max(r["t1"] for r in reports) - min(r["t0"] for r in reports))
    found.client_cpu_us = sum(r["cpu"] for r in reports) / max(ok, 1) * 1e6
    found.sandbox_cpu_us = run.sandbox_cpu / max(ok, 1) * 1e6
    found.busy = run.machine_cpu / run.wall / CORES
    ours = sum(r["cpu"] for r in reports) + run.sandbox_cpu
    found.others = max(0.0, run.machine_cpu - ours) / run.wall
    return found


async def run_pacer_baseline(args: argparse.Namespace, workdir: Path) -> Run:
    """The scenario in one process with the SDK and the outbound worker's pacer alone (no queue, no
    Redis, no consent checks; bench/_sdk_pacer.py), against the strict sandbox."""
    messages = backlog(args.scale, "pacer")
    by_sender: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        by_sender[message.messaging_service_sid or message.from_ or ""].append(
            create_params(message)
        )
    rates = {s.sender: s.rate for s in senders()}
    with sandbox_process(workdir, True, args.status_step) as (url, sandbox_pid):
        proc = start_client(
            "_sdk_pacer.py",
            workdir / "pacer.json",
            url,
            args.concurrency,
            senders=[
                {"sender": name, "interval": 1 / rates[name], "messages": params}
                for name, params in by_sender.items()
            ],
        )
        run = await run_clients([proc], sandbox_pid)
        sends = await recorded_sends(url)
    [found] = run.reports
    return Run(
        label="SDK + pacer only, 1 process",
        queued=len(messages),
        sends=sends,
        start=found["t0"],
        done=found["t1"],
        timed_out=False,
        worker_cpu=found["cpu"],
        sandbox_cpu=run.sandbox_cpu,
        redis_cpu=0.0,
        busy=run.machine_cpu / run.wall / CORES,
        others=max(0.0, run.machine_cpu - found["cpu"] - run.sandbox_cpu) / run.wall,
        events=Counter(),
        rate_limited=Counter(
            {kind_of(sender): n for sender, n in found["failed"].items()}  # 429s and others
        ),
    )


async def run_unlimited(
    processes: int, args: argparse.Namespace, redis_url: str, workdir: Path
) -> Capacity:
    """The outbound worker as fast as it goes: the same mix, limits nobody reaches, no 429s."""
    messages = backlog(args.scale, f"free{processes}")[: args.capacity_messages]
    run = await run_dispatch(
        f"unlimited-{processes}p", processes, messages, False, args, redis_url, workdir
    )
    sent = max(len(run.sends), 1)
    last = max((s["at"] for s in run.sends), default=run.done)
    return Capacity(
        processes,
        len(messages),
        rate=len(run.sends) / (last - run.start),
        client_cpu_us=run.worker_cpu / sent * 1e6,
        sandbox_cpu_us=run.sandbox_cpu / sent * 1e6,
        busy=run.busy,
        others=run.others,
        failed=len(messages) - len(run.sends),
    )


# -- report ----------------------------------------------------------------------------------------


def process_label(processes: int) -> str:
    return f"{processes} process{'es' if processes > 1 else ''}"


def report(
    runs: Sequence[Run],
    sdk: Sequence[Capacity],
    unlimited: Sequence[Capacity],
    args: argparse.Namespace,
) -> str:
    ideal = WORK_SECONDS * args.scale
    limit = sum(s.rate for s in senders())
    judged = [judge(run.sends, run.start) for run in runs]
    sdk_rate = {c.processes: c.rate for c in sdk}
    out = [
        f"Scenario: {len(senders())} senders, {runs[0].queued if runs else 0} messages queued = "
        f"{ideal:g} s of work at {limit:.0f} msg/s; botkit worker --concurrency "
        f"{args.concurrency}; strict sandbox in its own process; {CORES} cores; event loop: "
        f"{args.loop or 'botkit default'}",
        "",
    ]

    def each(cell: Any) -> list[str]:
        return [cell(run, j["all"]) for run, j in zip(runs, judged, strict=True)]

    def share(run: Run, all_: Judged) -> str:
        base = sdk_rate.get(run.processes)
        return f"{run_rate(run, all_) / base:.2f}" if base else "-"

    def run_rate(run: Run, all_: Judged) -> float:
        return all_.sends / all_.makespan if all_.makespan > 0 else math.nan

    rows = [
        ("messages sent / queued", "all", each(lambda r, a: f"{a.sends}/{r.queued}")),
        (
            "utilization = ideal / actual makespan",
            ">= 0.97",
            each(lambda r, a: f"{ideal / a.makespan:.3f}"),
        ),
        ("  actual makespan (s)", f"{ideal:g}", each(lambda r, a: f"{a.makespan:.2f}")),
        (f"achieved msgs/s (limit {limit:.0f})", "", each(lambda r, a: f"{run_rate(r, a):.0f}")),
        ("  / SDK-only baseline msgs/s, same processes", "", each(share)),
        ("limit violations: gap < cost/rate - 10 ms", "0", each(lambda r, a: str(a.violations))),
        ("  closest gap - cost/rate (ms)", "", each(lambda r, a: f"{a.closest_ms:+.1f}")),
        (
            "  429s from the sandbox (10 ms tolerance)",
            "0",
            each(lambda r, a: str(sum(r.rate_limited.values()))),
        ),
        (
            "dispatcher CPU per message (µs)",
            "<= 200",
            each(lambda r, a: f"{r.worker_cpu / max(a.sends, 1) * 1e6:.0f}"),
        ),
        (
            "p99 lateness (ms)",
            "<= 50",
            each(lambda r, a: f"{percentile(a.lateness, 0.99) * 1e3:.1f}"),
        ),
        ("max lateness (ms)", "", each(lambda r, a: f"{max(a.lateness, default=0) * 1e3:.1f}")),
        (
            "  p50 / mean lateness (ms)",
            "",
            each(
                lambda r, a: (
                    f"{percentile(a.lateness, 0.5) * 1e3:.1f} / "
                    f"{sum(a.lateness) / max(len(a.lateness), 1) * 1e3:.1f}"
                )
            ),
        ),
        (
            "  p99 lateness, each sender's first send left out (ms)",
            "",
            each(lambda r, a: f"{percentile(a.later, 0.99) * 1e3:.1f}"),
        ),
        ("  every sender's first send made by (s)", "", each(lambda r, a: f"{a.first_round:.2f}")),
        (
            "sandbox CPU per message (µs)",
            "",
            each(lambda r, a: f"{r.sandbox_cpu / max(a.sends, 1) * 1e6:.0f}"),
        ),
        (
            "redis CPU per message (µs)",
            "",
            each(lambda r, a: f"{r.redis_cpu / max(a.sends, 1) * 1e6:.0f}"),
        ),
        (f"machine CPU busy ({CORES} cores = 100%)", "", each(lambda r, a: f"{r.busy:.0%}")),
        (
            "  of which processes outside the benchmark (cores)",
            "",
            each(lambda r, a: f"{r.others:.2f}"),
        ),
    ]
    out.append(
        table(
            ["measure", "target", *(r.label for r in runs)],
            [(name, target, *cells) for name, target, cells in rows],
        )
    )
    for run in runs:
        if run.timed_out:
            out.append(f"  {run.label}: NOT DRAINED within {args.timeout:.0f} s")
        noted = {
            k: v
            for k, v in run.events.items()
            if "dispatcher running" not in k and "shutting down" not in k
        }
        if noted:
            out.append(f"  {run.label} also logged: {noted}")

    out += ["", "By sender kind (makespan; violations; 429s; lateness p50 / mean / p99):"]
    kind_rows = []
    for kind, name in KIND_NAMES.items():
        cells = []
        for run, j in zip(runs, judged, strict=True):
            g = j.get(kind, Judged())
            cells.append(
                f"{g.makespan:.2f} s; {g.violations}; {run.rate_limited.get(kind, 0)}; "
                f"{percentile(g.lateness, 0.5) * 1e3:.1f} / "
                f"{sum(g.lateness) / max(len(g.lateness), 1) * 1e3:.1f} / "
                f"{percentile(g.lateness, 0.99) * 1e3:.1f} ms"
            )
        kind_rows.append((name, *cells))
    out.append(table(["kind", *(r.label for r in runs)], kind_rows))

    out += [
        "",
        "Where each kind's senders lost time: lateness after their first send, summed per sender "
        "(s), by how late each send was (<= 1 ms / 1-5 ms / > 5 ms):",
    ]
    lost_rows = []
    for kind, name in KIND_NAMES.items():
        cells = []
        for j in judged:
            g = j.get(kind, Judged())
            count = max(len(g.lateness) - len(g.later), 1)  # one first send per sender
            split = [
                sum(x for x in g.later if low < x <= high) / count
                for low, high in ((-math.inf, 0.001), (0.001, 0.005), (0.005, math.inf))
            ]
            cells.append(" / ".join(f"{x:.2f}" for x in split))
        lost_rows.append((name, *cells))
    out.append(table(["kind", *(r.label for r in runs)], lost_rows))

    if sdk or unlimited:
        out += [
            "",
            "Capacity with no limits in reach (sandbox not strict, same mix, "
            f"{args.concurrency} in flight per process):",
        ]
        rows_c = [
            (
                f"{label}, {process_label(c.processes)}",
                str(c.messages),
                f"{c.rate:.0f}",
                f"{c.client_cpu_us:.0f}",
                f"{c.sandbox_cpu_us:.0f}",
                f"{c.busy:.0%}",
                f"{c.others:.2f}",
                str(c.failed),
            )
            for label, group in (
                ("SDK creates only (baseline)", sdk),
                ("dispatcher", unlimited),
            )
            for c in group
        ]
        out.append(
            table(
                [
                    "sender",
                    "messages",
                    "msgs/s",
                    "client CPU/msg (µs)",
                    "sandbox CPU/msg (µs)",
                    "machine busy",
                    "others (cores)",
                    "failed",
                ],
                rows_c,
            )
        )
    if sdk and runs:
        out += ["", p99_floor(sdk, runs[0].queued)]
    return "\n".join(out)


def p99_floor(sdk: Sequence[Capacity], queued: int) -> str:
    """The p99 lateness no outbound worker could beat on this machine. It is set by the first round,
    every sender's first send due at the start: all but 1% of the sends may be on time, so p99
    is at least the lateness of the first send made once the other 1% are used up, and that
    many creates take at least their time at the SDK-only baseline's rate."""
    first_sends = len(senders())
    must = first_sends - (queued - math.ceil(0.99 * queued))
    rows = [
        (process_label(c.processes), f"{must / c.rate * 1e3:.0f}" if c.rate > 0 else "-")
        for c in sdk
    ]
    return (
        f"p99 lateness floor: {max(must, 0)} of the {first_sends} first sends (all due at the "
        "start) must be made before it, at no more than the SDK-only baseline's msgs/s:\n"
        + table(["processes", "p99 lateness floor (ms)"], rows)
    )


async def main(args: argparse.Namespace) -> None:
    runs: list[Run] = []
    sdk: list[Capacity] = []
    unlimited: list[Capacity] = []
    with tempfile.TemporaryDirectory(prefix="botkit-bench-") as tmp, running_redis() as redis_url:
        workdir = Path(args.keep_logs) if args.keep_logs else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for processes in args.processes if args.capacity_messages > 0 else ():
            print(f"capacity, {process_label(processes)}...", file=sys.stderr, flush=True)
            sdk.append(await run_sdk_baseline(processes, args, workdir))
            unlimited.append(await run_unlimited(processes, args, redis_url, workdir))
        if args.pacer_baseline:
            print("scenario, SDK + pacer only...", file=sys.stderr, flush=True)
            runs.append(await run_pacer_baseline(args, workdir))
        for processes in args.processes:
            print(f"scenario, {process_label(processes)}...", file=sys.stderr, flush=True)
            messages = backlog(args.scale, f"{processes}p")
            runs.append(
                await run_dispatch(
                    process_label(processes), processes, messages, True, args, redis_url, workdir
                )
            )
    print(report(runs, sdk, unlimited, args))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the 20 s backlog (0.25: 5 s of work)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=[1, 2],
        help="worker process counts, one configuration each (default: 1 2)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="requests to Twilio in flight per process (botkit worker --concurrency; the "
        "BOTKIT_DISPATCH_CONCURRENCY default is 32)",
    )
    parser.add_argument(
        "--status-step",
        type=float,
        default=0.002,
        help="the sandbox's seconds between status steps",
    )
    parser.add_argument(
        "--capacity-messages",
        type=int,
        default=6000,
        help="messages per capacity run (SDK-only and unlimited dispatcher); 0 skips them",
    )
    parser.add_argument(
        "--pacer-baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the scenario with the SDK and the pacer alone, in one process (no queue)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds a configuration may take to drain its backlog",
    )
    parser.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default=None,
        help="the workers' event loop (BOTKIT_EVENT_LOOP; default: botkit's)",
    )
    parser.add_argument(
        "--keep-logs",
        metavar="DIR",
        default=None,
        help="keep worker and sandbox logs and the recorded sends in DIR",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))

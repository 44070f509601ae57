"""Benchmark of the inbound hot path (issue 16): signed webhooks in, a handler, a reply out.

All in one run, each system on a fresh port, against one redis-server started here:

- A: bare aiohttp, 1 process (``await request.post()``, empty TwiML): the floor.
- B: Twilio's quickstart (Flask + RequestValidator + MessagingResponse) under gunicorn with 2
  sync workers: what a Twilio user would write instead of botkit.
- botkit ``inc`` (session increment, no reply) and ``ping`` (one reply through the outbound
  worker), each with 1 process and with ``--workers 2``: ``botkit run`` in production mode, with a
  sandbox in a process of its own as Twilio.

Load: wrk (closed loop, 1 thread and 32 connections for 10 s by default), every request a
different signed 10-field inbound SMS webhook from 500 users to 100 bot numbers, signed for the
exact URL called (bench/_webhooks.py, bench/replay.lua). Per system: req/s and its ratio to A and
B, p50/p99 latency, the CPU of the system's own processes per request (from wrk's start until
botkit has handled every message it accepted and sent every reply), Redis's CPU per request, and
the CPU of processes outside the benchmark in the meantime.

Then: p99 latency of the one-reply bot under an open-loop load at half the rate wrk reached
(bench/_http.py), Redis round trips and commands per message through a counting proxy, and
Redis memory per handled message (bench/_redis_costs.py), and the RSS of each serving process
before and after 200,000 webhooks. The issue's targets are printed next to the figures.

Run from the repository root with the bench extra installed (``pip install -e '.[bench]'``):
``python bench/inbound.py`` (about 9 minutes on 2 cores at botkit's rate today, 5 of them the
RSS run of 200,000 webhooks: ``--rss-requests 50000`` shortens it), or ``--quick`` for a smoke
run of about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench.* and tests.support, when run as bench/inbound.py

from bench import _profile, _wrk  # noqa: E402
from bench._http import PacedRun, paced, percentile  # noqa: E402
from bench._lab import Failure, Lab, Running  # noqa: E402
from bench._proc import cpu_seconds, every_process_cpu, machine_cpu_since  # noqa: E402
from bench._redis_costs import RedisCosts  # noqa: E402
from bench._redis_costs import measure as measure_redis_costs  # noqa: E402
from bench._systems import write_bots  # noqa: E402
from bench._table import columns_table, table  # noqa: E402
from bench._webhooks import write_requests  # noqa: E402
from tests.support.redis_server import running_redis  # noqa: E402

#: key: (system, processes, label)
SYSTEMS = {
    "A": ("A", 1, "A: bare aiohttp, 1 process"),
    "F": ("F", 1, "F: A + botkit's 3 Redis round trips of inc, 1 process"),
    "F-2": ("F", 2, "F, 2 processes on one port"),
    "G-2": ("G", 2, "G: F + a reply queued, sent through the SDK, settled; 2 processes"),
    "B": ("B", 2, "B: Twilio quickstart, gunicorn 2 sync workers"),
    "inc-1": ("inc", 1, "botkit inc, 1 process"),
    "inc-2": ("inc", 2, "botkit inc, --workers 2"),
    "ping-1": ("ping", 1, "botkit ping, 1 process"),
    "ping-2": ("ping", 2, "botkit ping, --workers 2"),
}
#: Rates no system reaches on this machine: wrk's file holds this many webhooks per second of
#: the run, so that none is sent twice (a repeated MessageSid is a cheap duplicate for botkit).
CEILINGS = {"A": 40_000, "F": 20_000, "G": 15_000, "B": 15_000, "inc": 15_000, "ping": 15_000}
MB = 1024 * 1024


@dataclass
class Row:
    key: str
    label: str
    wrk: _wrk.WrkRun
    cpu_us: float
    redis_us: float
    others: float  # cores used by processes outside the benchmark during the run
    left: int  # accepted but not handled (or replies not sent) when wrk stopped
    drain_s: float
    rss: dict[int, int]
    paced: PacedRun | None = None
    levels: dict[str, int] = field(default_factory=dict)
    profile: Path | None = None  # py-spy's collapsed stacks over the run (--profile)
    loop: str | None = None  # BOTKIT_EVENT_LOOP (--loops); None: botkit's default
    round: int = 0  # --rounds: which one

    @property
    def sustained(self) -> float:
        """Messages per second the system got through: wrk's requests over wrk's run and the
        time botkit then took to handle what it had accepted but not handled yet. botkit
        answers once a message is queued, so wrk's req/s alone would count messages accepted
        faster than they are handled: a queue that grows without end. For A and B, wrk's
        req/s."""
        return self.wrk.requests / (self.wrk.seconds + self.drain_s)


@dataclass
class RssRun:
    label: str
    wrk: _wrk.WrkRun
    drain_s: float
    root: int
    before: dict[int, int]
    after: dict[int, int]

    @property
    def sustained(self) -> float:
        return self.wrk.requests / (self.wrk.seconds + self.drain_s)

    def growth(self) -> list[tuple[str, int | None, int | None]]:
        """(process, bytes before, bytes after) for every process seen before or after."""
        found = []
        for pid in sorted(set(self.before) | set(self.after), key=lambda p: (p != self.root, p)):
            role = (
                "the process"
                if pid == self.root and len(self.before) == 1
                else ("arbiter" if pid == self.root else "worker")
            )
            found.append((f"{role} {pid}", self.before.get(pid), self.after.get(pid)))
        return found


class Progress:
    """Says on stderr what the run starts, and how long the step before took."""

    def __init__(self) -> None:
        self.step, self.since = "", 0.0

    def __call__(self, step: str = "") -> None:
        now = time.monotonic()
        if self.step:
            print(f"  {self.step}: {now - self.since:.0f} s", file=sys.stderr, flush=True)
        self.step, self.since = step, now
        if step:
            print(f"{step}...", file=sys.stderr, flush=True)


progress = Progress()


async def throughput(
    lab: Lab, key: str, args: argparse.Namespace, loop: str | None = None, round_: int = 0
) -> Row:
    system, processes, label = SYSTEMS[key]
    if loop:
        label += f" [{loop}]"
    async with lab.started(system, processes, loop=loop) as running:
        requests_file = lab.workdir / f"wrk-{running.port}.req"
        write_requests(
            requests_file, running.maker.batch(math.ceil(args.seconds * CEILINGS[system]))
        )
        try:
            await running.warm_up()
            row = await _loaded(running, key, label, requests_file, args, f"{loop or ''}{round_}")
            row.loop, row.round = loop, round_
        finally:
            requests_file.unlink()
        if system in ("ping", "G") and args.paced_seconds > 0:
            await running.settle()
            rate = row.sustained / 2
            requests = running.maker.batch(math.ceil(rate * args.paced_seconds))
            row.paced = await paced("127.0.0.1", running.port, requests, rate)
            await running.drained()
        if running.stores is not None:
            row.levels = running.server.log_levels()
        return row


async def _loaded(
    running: Running,
    key: str,
    label: str,
    requests_file: Path,
    args: argparse.Namespace,
    tag: str = "",
) -> Row:
    """wrk against a warmed-up system, and what its processes and Redis spent until they had
    done everything the load gave them."""
    server = running.server
    box = running.sandbox_pid
    cpu0, redis0 = server.cpu(), await running.redis_cpu()
    box0, own0 = cpu_seconds(box) if box else 0.0, cpu_seconds(os.getpid())
    machine0, wall0 = every_process_cpu(), time.monotonic()
    profile = None
    with contextlib.ExitStack() as stack:
        if args.profile and running.stores is not None:
            profile = Path(args.profile) / f"{key}{'-' + tag if tag else ''}.txt"
            stack.enter_context(_profile.recording(server.proc.pid, profile))
        run = await _wrk.run_for(
            server.url,
            requests_file,
            threads=args.threads,
            connections=args.connections,
            seconds=args.seconds,
        )
        left = await running.backlog()
        drain = await running.drained()
    cpu1, redis1 = server.cpu(), await running.redis_cpu()
    box1, own1 = cpu_seconds(box) if box else 0.0, cpu_seconds(os.getpid())
    machine, wall = machine_cpu_since(machine0), time.monotonic() - wall0
    ours = (cpu1 - cpu0) + (redis1 - redis0) + (box1 - box0) + (own1 - own0)
    done = max(run.requests, 1)
    return Row(
        key=key,
        label=label,
        wrk=run,
        cpu_us=(cpu1 - cpu0) / done * 1e6,
        redis_us=(redis1 - redis0) / done * 1e6,
        others=max(0.0, machine - ours) / wall,
        left=left,
        drain_s=drain,
        rss=server.rss(),
        profile=profile,
    )


async def rss_run(lab: Lab, args: argparse.Namespace) -> RssRun:
    system, workers = args.rss_bot, args.rss_workers
    async with lab.started(system, workers) as running:
        requests_file = lab.workdir / f"wrk-{running.port}.req"
        # wrk stops once N answers have arrived, with up to a connection's worth still out.
        spare = args.connections * args.threads + 1000
        write_requests(requests_file, running.maker.batch(args.rss_requests + spare))
        try:
            await running.warm_up()
            before = running.server.rss()
            run = await _wrk.run_until(
                running.server.url,
                requests_file,
                threads=args.threads,
                connections=args.connections,
                answers=args.rss_requests,
            )
        finally:
            requests_file.unlink()
        drain = await running.drained()
        await running.server.wait_quiet()
        label = SYSTEMS[f"{system}-{workers}"][2] if f"{system}-{workers}" in SYSTEMS else system
        return RssRun(label, run, drain, running.server.proc.pid, before, running.server.rss())


# -- the report ------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _ratio(value: float, base: Row | None) -> str:
    return f"{value / base.sustained:.2f}x" if base is not None and base.sustained > 0 else "-"


def header(args: argparse.Namespace) -> str:
    def output(*command: str) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, cwd=ROOT, check=False
            ).stdout.strip()
        except OSError:
            return "?"

    commit = output("git", "rev-parse", "--short", "HEAD")
    branch = output("git", "rev-parse", "--abbrev-ref", "HEAD")
    changed = output("git", "status", "--porcelain", "--", "botkit")
    dirty = ", uncommitted changes in botkit/" if changed else ""
    redis_version = output("redis-server", "--version").split(" v=")[-1].split(" ")[0]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# botkit inbound benchmark (bench/inbound.py)",
        f"commit {commit} ({branch}{dirty}) · {os.cpu_count()} cores · Python "
        f"{platform.python_version()} · redis-server {redis_version} · {when}",
        f"Load: wrk, {args.threads} thread(s), {args.connections} connections, "
        f"{args.seconds:g} s per system; every request a different signed 10-field inbound "
        "SMS webhook (500 users to 100 bot numbers), signed for the URL called.",
        "botkit: `botkit run` in production mode (Twilio account, REDIS_URL, "
        "BOTKIT_PUBLIC_URL, consent pepper); replies go to a sandbox in its own process, "
        "long codes unlimited (BOTKIT_RATES) so every reply is sent within the run; status "
        + ("callbacks on." if args.status_callbacks else "callbacks off (the sandbox posts none)."),
        "The machine's cores are shared with other work, so figures are noisy: compare rows "
        "of one run (the ratios), and read 'others' (cores busy outside the benchmark).",
    ]
    return "\n".join(textwrap.fill(line, 100) for line in lines)


def throughput_table(rows: Sequence[Row]) -> str:
    def base(key: str, row: Row) -> Row | None:
        """The row of A or B measured in the same round as row."""
        return next((r for r in rows if r.key == key and r.round == row.round), None)

    def botkit_only(text: str, row: Row) -> str:
        return "-" if row.key in ("A", "B") else text

    return columns_table(
        rows,
        [
            ("system", lambda r: r.label),
            ("wrk req/s", lambda r: f"{r.wrk.rate:,.0f}"),
            ("handled/s", lambda r: f"{r.sustained:,.0f}"),
            ("x A", lambda r: _ratio(r.sustained, base("A", r))),
            ("x F", lambda r: _ratio(r.sustained, base("F", r))),
            ("x B", lambda r: _ratio(r.sustained, base("B", r))),
            ("p50 / p99 ms", lambda r: f"{r.wrk.p50_ms:.1f} / {r.wrk.p99_ms:.1f}"),
            ("CPU µs/req", lambda r: f"{r.cpu_us:.0f}"),
            ("Redis µs/req", lambda r: botkit_only(f"{r.redis_us:.0f}", r)),
            ("others", lambda r: f"{r.others:.2f}"),
            ("non-2xx", lambda r: f"{r.wrk.non_2xx}"),
            ("socket errors", lambda r: f"{r.wrk.errors}"),
            ("left / drained in s", lambda r: botkit_only(f"{r.left:,} / {r.drain_s:.1f}", r)),
            ("RSS MB", lambda r: "+".join(f"{v / MB:.0f}" for v in r.rss.values())),
        ],
    )


def loops_table(rows: Sequence[Row], loops: Sequence[str]) -> str:
    """Per botkit system and round: each loop's handled/s and CPU µs/req, and the second loop's
    over the first's; then the median of those ratios over the rounds."""
    first, second = loops[0], loops[1]
    lines = []
    for key in dict.fromkeys(r.key for r in rows if r.loop):
        ratios: list[tuple[float, float]] = []
        for round_ in sorted({r.round for r in rows if r.key == key}):
            pair = {r.loop: r for r in rows if r.key == key and r.round == round_}
            if first not in pair or second not in pair:
                continue
            one, two = pair[first], pair[second]
            ratios.append((two.sustained / one.sustained, two.cpu_us / one.cpu_us))
            lines.append(
                (
                    SYSTEMS[key][2],
                    f"{round_ + 1}",
                    f"{one.sustained:,.0f} / {two.sustained:,.0f}",
                    f"{one.cpu_us:.0f} / {two.cpu_us:.0f}",
                    f"{ratios[-1][0]:.2f}x",
                    f"{ratios[-1][1]:.2f}x",
                    f"{one.others:.2f} / {two.others:.2f}",
                )
            )
        if ratios:
            lines.append(
                (
                    SYSTEMS[key][2],
                    "median",
                    "",
                    "",
                    f"{statistics.median(x for x, _ in ratios):.2f}x",
                    f"{statistics.median(y for _, y in ratios):.2f}x",
                    "",
                )
            )
    return table(
        [
            "system",
            "round",
            f"handled/s {first} / {second}",
            f"CPU µs/req {first} / {second}",
            f"handled/s {second} / {first}",
            f"CPU/req {second} / {first}",
            "others",
        ],
        lines,
    )


def paced_table(rows: Sequence[Row]) -> str:
    def run(row: Row) -> PacedRun:
        assert row.paced is not None
        return row.paced

    return columns_table(
        [r for r in rows if r.paced is not None],
        [
            ("system", lambda r: r.label),
            ("saturating (handled/s)", lambda r: f"{r.sustained:,.0f}"),
            ("paced req/s", lambda r: f"{run(r).rate:,.0f}"),
            ("answered", lambda r: f"{len(run(r).latencies_ms):,}"),
            ("p50 ms", lambda r: _ms(percentile(run(r).latencies_ms, 0.5))),
            ("p99 ms", lambda r: _ms(percentile(run(r).latencies_ms, 0.99))),
            ("max ms", lambda r: _ms(max(run(r).latencies_ms, default=math.nan))),
            ("non-2xx / failed", lambda r: f"{run(r).non_2xx + run(r).failures.total()}"),
            ("client lag p99 ms", lambda r: _ms(percentile(run(r).lag_ms, 0.99))),
        ],
    )


def redis_table(costs: Sequence[RedisCosts]) -> str:
    return columns_table(
        costs,
        [
            ("bot (1 process)", lambda c: f"botkit {c.bot}"),
            ("messages", lambda c: f"{c.messages}"),
            ("round trips/msg", lambda c: f"{c.round_trips:.2f}"),
            ("in flight only", lambda c: f"{c.in_flight_round_trips:.2f}"),
            (
                "under load",
                lambda c: f"{c.loaded_round_trips:.2f}" if c.loaded_messages else "-",
            ),
            ("client commands/msg", lambda c: f"{c.commands:.2f}"),
            ("server-side commands/msg", lambda c: f"{c.server_commands:.2f}"),
            ("idle round trips/s", lambda c: f"{c.idle_round_trips_per_s:.1f}"),
            ("POST to done p50 ms", lambda c: _ms(percentile(c.handled_ms, 0.5))),
        ],
    )


def memory_table(costs: Sequence[RedisCosts]) -> str:
    return columns_table(
        [c for c in costs if c.memory_messages],
        [
            ("bot", lambda c: f"botkit {c.bot}"),
            ("messages", lambda c: f"{c.memory_messages:,}"),
            ("used_memory before MB", lambda c: f"{c.memory_before / MB:.2f}"),
            ("after MB", lambda c: f"{c.memory_after / MB:.2f}"),
            ("bytes per message", lambda c: f"{c.memory_per_message:.0f}"),
        ],
    )


def rss_table(run: RssRun) -> str:
    lines = []
    for name, before, after in run.growth():
        growth = (
            f"{(after - before) / MB:+.1f}"
            if before is not None and after is not None
            else "replaced"
        )
        lines.append(
            (
                name,
                f"{before / MB:.1f}" if before is not None else "-",
                f"{after / MB:.1f}" if after is not None else "-",
                growth,
            )
        )
    return table(["process", "RSS before MB", "after MB", "growth MB"], lines)


def targets_table(
    rows: Sequence[Row], costs: Sequence[RedisCosts], rss: RssRun | None, args: argparse.Namespace
) -> str:
    by_key = {r.key: r for r in rows}
    by_bot = {c.bot: c for c in costs}

    def ratio(key: str, base: str, target: float) -> tuple[str, str]:
        if key not in by_key or base not in by_key or by_key[base].sustained <= 0:
            return "not measured", ""
        value = by_key[key].sustained / by_key[base].sustained
        return f"{value:.2f}x", _verdict(value >= target)

    p99s = [
        (r.label.removeprefix("botkit ping, "), percentile(r.paced.latencies_ms, 0.99))
        for r in rows
        if r.paced is not None and r.key.startswith("ping")
    ]
    floor_p99s = [
        (r.label.split(":")[0], percentile(r.paced.latencies_ms, 0.99))
        for r in rows
        if r.paced is not None and r.key.startswith("G")
    ]
    trips = [by_bot[b].round_trips for b in ("inc", "ping") if b in by_bot]
    loaded = [b for b in ("inc", "ping") if b in by_bot and by_bot[b].loaded_messages]
    growth = (
        [
            (after - before) / MB
            for _, before, after in rss.growth()
            if before is not None and after is not None
        ]
        if rss
        else []
    )
    inc_memory = by_bot["inc"].memory_per_message if "inc" in by_bot else math.nan
    lines = [
        ("botkit `inc`, 1 process, vs bare aiohttp", "≥ 0.35x", *ratio("inc-1", "A", 0.35)),
        (
            "the floor under it: F (A + inc's Redis work alone) vs bare aiohttp",
            "",
            ratio("F", "A", 0.35)[0],
            "",
        ),
        ("botkit `inc`, 1 process, vs that floor F", "", ratio("inc-1", "F", 1.0)[0], ""),
        ("botkit `inc`, `--workers 2`, vs the quickstart", "≥ 1.5x", *ratio("inc-2", "B", 1.5)),
        ("the floor under it: F, 2 processes, vs the quickstart", "", ratio("F-2", "B", 1)[0], ""),
        (
            "botkit one-reply, `--workers 2`, vs the quickstart",
            "≥ 1.2x",
            *ratio("ping-2", "B", 1.2),
        ),
        (
            "the floor under it: G (F + the reply's queue, SDK send and settlement), 2 "
            "processes, vs the quickstart",
            "",
            ratio("G-2", "B", 1.2)[0],
            "",
        ),
        (
            "p99 at half the saturating rate, one-reply bot",
            "≤ 25 ms",
            ", ".join(f"{v:.1f} ms ({name})" for name, v in p99s) or "not measured",
            _verdict(all(v <= 25 for _, v in p99s)) if p99s else "",
        ),
        (
            "the floor under it: G at half its saturating rate",
            "",
            ", ".join(f"{v:.1f} ms ({name})" for name, v in floor_p99s) or "not measured",
            "",
        ),
        (
            "Redis round trips per message, `inc` / one-reply, under load (the dispatcher's "
            "claim and settlement amortised, as the issue counts them)",
            "≤ 3 / ≤ 4",
            " / ".join(
                f"{by_bot[b].loaded_round_trips:.2f}" if b in by_bot else "-"
                for b in ("inc", "ping")
            )
            if loaded
            else "not measured",
            _verdict(
                by_bot["inc"].loaded_round_trips <= 3 and by_bot["ping"].loaded_round_trips <= 4
            )
            if len(loaded) == 2
            else "",
        ),
        (
            "the same one at a time (nothing to share a claim or settlement with)",
            "",
            " / ".join(
                f"{by_bot[b].round_trips:.2f}" if b in by_bot else "-" for b in ("inc", "ping")
            )
            if trips
            else "not measured",
            "",
        ),
        (
            f"RSS growth per process over {args.rss_requests:,} webhooks"
            + ("" if args.rss_requests == 200_000 else " (the target says 200,000)"),
            "≤ 20 MB",
            f"{max(growth):.1f} MB (the most of {len(growth)})" if growth else "not measured",
            _verdict(max(growth) <= 20) if growth else "",
        ),
        (
            "Redis memory per accepted message, once handled (`inc`)",
            "≤ 200 B",
            f"{inc_memory:.0f} B" if not math.isnan(inc_memory) else "not measured",
            _verdict(inc_memory <= 200) if not math.isnan(inc_memory) else "",
        ),
    ]
    return table(["measure (issue 16)", "target", "this run", ""], lines)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def problems(rows: Sequence[Row], rss: RssRun | None) -> list[str]:
    """What makes figures untrustworthy: every answer must have been a 2xx, no webhook sent
    twice, and botkit must have logged no error."""
    found = []
    runs = [(r.label, r.wrk) for r in rows] + ([(f"RSS run, {rss.label}", rss.wrk)] if rss else [])
    for label, run in runs:
        if run.non_2xx:
            found.append(f"{label}: {run.non_2xx} answers with a status of 400 or more")
        if run.errors:
            found.append(f"{label}: socket errors {run.socket_errors}")
        if run.repeated:
            found.append(f"{label}: {run.repeated} webhooks sent twice (raise CEILINGS)")
    for r in rows:
        if r.paced is not None and (r.paced.non_2xx or r.paced.failures):
            found.append(
                f"{r.label}, paced: statuses {dict(r.paced.statuses)}, "
                f"failed {dict(r.paced.failures)}"
            )
        errors = sum(n for level, n in r.levels.items() if level in ("error", "critical"))
        if errors:
            found.append(f"{r.label}: botkit logged {errors} errors")
    return found


def section(title: str, body: str, note: str = "") -> list[str]:
    """A titled table and what to read it with, the note wrapped for a terminal."""
    return [f"## {title}", body, *([textwrap.fill(note, 100)] if note else []), ""]


def report(
    rows: Sequence[Row],
    costs: Sequence[RedisCosts],
    rss: RssRun | None,
    args: argparse.Namespace,
    took: float,
) -> str:
    out = [header(args), ""]
    if rows:
        out += section(
            "Throughput (wrk, closed loop)",
            throughput_table(rows),
            "handled/s: wrk's requests over wrk's run plus the time botkit then took to handle "
            "the messages it had accepted but not handled yet (and send their replies): botkit "
            "answers once a message is queued, so wrk's req/s alone counts a queue that grows. "
            "x A, x B and the targets compare handled/s. CPU µs/req: utime+stime of the "
            "system's own processes (the server and every process it forked) from wrk's start "
            "until botkit had handled every accepted message and sent every reply, over the "
            "requests wrk completed. Redis µs/req: redis-server's CPU, the same way. others: "
            "cores busy outside the benchmark meanwhile. left / drained in s: messages (and "
            "replies) still queued when wrk stopped, and how long they then took. RSS: each "
            "serving process after the run.",
        )
    for r in rows:
        if r.profile is not None:
            out += section(
                f"Where the CPU goes: {r.label} (py-spy, {r.profile})",
                _profile.table(_profile.breakdown([r.profile])[0], r.cpu_us)
                + "\n\n"
                + _profile.table(_profile.by_stage([r.profile]), r.cpu_us),
                "Samples of the system's processes while wrk ran and botkit drained, idle "
                "stacks left out; each sample in the bucket of its innermost frame that names "
                "one (bench/_profile.py), and then in the stage its stack belongs to. "
                "µs/req: the share of the row's CPU µs/req. py-spy "
                "pauses the process to sample it, so the row's throughput is lower than "
                "without --profile.",
            )
    if len(args.loops) == 2 and any(r.loop for r in rows):
        out += section(
            f"Event loops: {args.loops[0]} against {args.loops[1]}",
            loops_table(rows, args.loops),
            "Each botkit row run on each loop (BOTKIT_EVENT_LOOP) in every round, the order "
            "of the loops swapped each round; ratios compare the two runs of one round.",
        )
    if any(r.paced is not None for r in rows):
        out += section(
            "Latency at half the saturating rate (open loop, the one-reply bot)",
            paced_table(rows),
            "Webhooks sent at a constant rate, half the handled/s of the same server above, "
            "whatever the server is doing; latency from when each was due until its answer, so "
            "queueing counts. Client lag: how late this benchmark's own client sent (part of "
            "the latency).",
        )
    if costs:
        out += section(
            "Redis round trips per message",
            redis_table(costs),
            "Through a counting proxy (bench/_redis_proxy.py): a round trip is a write burst the "
            "server answers in full (a pipeline counts once); commands are the RESP arrays the "
            "client sends. Webhooks sent one at a time, each once the one before was handled "
            "and its reply sent. Idle traffic is subtracted: its rate over a quiet "
            f"{args.idle_seconds:g} s before (blocking reads that time out, polls, reclaim "
            "sweeps) times the length of the measured stretch. 'in flight only', a cross-check: "
            "the round trips answered between each message's POST and the moment it was done, "
            "idle ones included and nothing subtracted (what a message leaves behind, such as "
            "a worker's next claim, falls outside). 'under load': the same count over "
            f"{args.loaded_messages:,} webhooks sent 32 at a time and drained, idle subtracted, "
            "where the workers' reads and the dispatcher's claims and settlements are shared by "
            "many messages (the amortised figure issue 16 counts). "
            "Server-side commands: Redis's "
            "commandstats, which include the commands Lua scripts run, less the benchmark's own "
            "polling.",
        )
    if any(c.memory_messages for c in costs):
        out += section(
            "Redis memory per handled message",
            memory_table(costs),
            "INFO used_memory before and after a batch, once every message was handled and every "
            "reply sent; the sessions existed before. ping's figure includes each reply's "
            "records (the finished job, kept a day to match status callbacks).",
        )
    if rss is not None:
        out += section(
            f"RSS per process over {rss.wrk.requests:,} webhooks ({rss.label})",
            rss_table(rss),
            "Before: after the warm-up (a webhook from each user). After: once every message "
            f"was handled and every reply sent. wrk: {rss.wrk.rate:,.0f} req/s; handled/s "
            f"{rss.sustained:,.0f} ({rss.drain_s:.0f} s to drain after wrk).",
        )
    out += section("Targets (issue 16)", targets_table(rows, costs, rss, args))
    out.append(f"The run took {took / 60:.1f} minutes.")
    return "\n".join(out)


# -- the run ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    rows: list[Row] = []
    costs: list[RedisCosts] = []
    rss: RssRun | None = None
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="botkit-bench-inbound-") as tmp,
        running_redis() as redis_url,
    ):
        workdir = Path(args.keep_logs) if args.keep_logs else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        bots_dir = workdir / "bots"
        bots_dir.mkdir(exist_ok=True)
        write_bots(bots_dir)
        lab = Lab(workdir, redis_url, bots_dir, args.status_callbacks)
        try:
            for round_ in range(args.rounds):
                for key in args.systems:
                    loops: list[str | None] = [None]
                    if args.loops and SYSTEMS[key][0] not in ("A", "B", "F", "G"):
                        loops = list(args.loops if round_ % 2 == 0 else reversed(args.loops))
                    for loop in loops:
                        shown = f" [{loop}]" if loop else ""
                        progress(f"throughput: {SYSTEMS[key][2]}{shown}, round {round_ + 1}")
                        rows.append(await throughput(lab, key, args, loop, round_))
            for bot in ("inc", "ping") if args.sequential else ():
                progress(f"Redis round trips and memory: botkit {bot}")
                costs.append(
                    await measure_redis_costs(
                        lab,
                        bot,
                        messages=args.sequential,
                        idle_seconds=args.idle_seconds,
                        memory_messages=args.memory_messages,
                        loaded_messages=args.loaded_messages,
                    )
                )
            if args.rss_requests:
                progress(f"RSS over {args.rss_requests:,} webhooks")
                rss = await rss_run(lab, args)
        except Failure as exc:
            failure = str(exc)
        else:
            failure = ""
        progress()
    print(report(rows, costs, rss, args, time.monotonic() - started))
    found = problems(rows, rss) + ([f"the run stopped: {failure}"] if failure else [])
    if found:
        print("\nPROBLEMS (the figures above do not measure what they say until these are gone):")
        print("\n".join(f"- {p}" for p in found))
        return 1
    return 0


QUICK = {
    "seconds": 2.0,
    "paced_seconds": 2.0,
    "sequential": 50,
    "loaded_messages": 1000,
    "idle_seconds": 1.0,
    "memory_messages": 1000,
    "rss_requests": 5000,
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk's run per system")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--systems",
        nargs="+",
        choices=list(SYSTEMS),
        default=list(SYSTEMS),
        help="the rows to measure (default: all)",
    )
    parser.add_argument(
        "--paced-seconds",
        type=float,
        default=10.0,
        help="the open-loop run at half the saturating rate, per ping row (0: none)",
    )
    parser.add_argument(
        "--sequential",
        type=int,
        default=200,
        help="webhooks sent one at a time to count Redis round trips, per bot (0: none)",
    )
    parser.add_argument(
        "--loaded-messages",
        type=int,
        default=5000,
        help="webhooks sent 32 at a time to count Redis round trips under load, per bot (0: none)",
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=3.0, help="the quiet stretch that sets idle traffic"
    )
    parser.add_argument(
        "--memory-messages",
        type=int,
        default=10_000,
        help="messages for Redis memory per handled message, per bot (0: none)",
    )
    parser.add_argument(
        "--rss-requests",
        type=int,
        default=200_000,
        help="webhooks for the RSS growth run (0: none)",
    )
    parser.add_argument("--rss-bot", choices=["inc", "ping"], default="ping")
    parser.add_argument("--rss-workers", type=int, default=2)
    parser.add_argument(
        "--status-callbacks",
        action="store_true",
        help="let the sandbox post status callbacks to botkit, as Twilio does (3 per reply)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: "
        + ", ".join(f"--{k.replace('_', '-')} {v:g}" for k, v in QUICK.items()),
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="keep every process's log in DIR")
    parser.add_argument(
        "--loops",
        nargs="+",
        choices=["asyncio", "uvloop"],
        default=[],
        help="run each botkit row on each of these event loops (BOTKIT_EVENT_LOOP), and "
        "compare the first two",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure the throughput rows this many times (the loops' order swapped each time)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run py-spy on each botkit row's processes during its wrk run and drain; write "
        "the collapsed stacks to DIR and print where the CPU goes (the bench extra has py-spy)",
    )
    args = parser.parse_args(argv)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    if args.quick:  # what the command line did not set
        for name, value in QUICK.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, type(getattr(args, name))(value))
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(run(parse_args())))

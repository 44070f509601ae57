"""Benchmark of botkit on one Redis node and on a 3-master Redis Cluster (issue 17), in one run.

Each mode runs the same bot: ``ping``, one signed inbound SMS webhook in and one reply out
through the outbound worker (so the inbound stream, the sessions, the outbound queue, its rate
state and the consent check all work), as ``botkit run`` in production mode with a sandbox in a
process of its own as Twilio, replies from 100 bot numbers to 500 users.

- one node: a redis-server, ``BOTKIT_SHARDS=1``;
- cluster: 3 masters (``redis-server --cluster-enabled yes``, ``redis-cli --cluster create``),
  no replicas (so that neither mode waits for one), ``BOTKIT_SHARDS=16`` by default.

Per mode:

1. Throughput: ``--messages`` webhooks sent ``--concurrency`` at a time; messages handled per
   second, from the first POST until every message was handled and every reply sent.
2. The share of the commands each master ran meanwhile (INFO commandstats, commands inside Lua
   scripts included), and the commands per message. The benchmark's own polling of the backlog
   (every 0.2 s) is in the counts: a few hundred commands per second, well under 1%.
3. Redis round trips per message: a second ``botkit run`` reaches every master through a
   counting proxy (bench/_redis_proxy.py; on the cluster each master announces its proxy's port,
   ``cluster-announce-port``, so redirects and the slot map lead there too). ``--one-at-a-time``
   webhooks are sent each after the one before was done; the proxies' round trips over that
   stretch, less the idle rate measured first, divided by the messages.

Both modes share the machine's cores with the bot, the sandbox and the load, so compare the
two rows of one run (the ratio), not figures across runs.

Run from the repository root with the bench extra installed (``pip install -e '.[bench]'``):
``python bench/cluster.py`` (about 2 minutes), ``--messages 2000 --one-at-a-time 50`` for a
smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # bench.* and tests.support, when run as bench/cluster.py

from redis.asyncio import Redis  # noqa: E402

from bench._http import Connection  # noqa: E402
from bench._lab import Running, check_answers  # noqa: E402
from bench._redis_proxy import CountingProxy, Counts  # noqa: E402
from bench._systems import PEPPER, botkit_run, sandbox, write_bots  # noqa: E402
from bench._table import columns_table, table  # noqa: E402
from bench._webhooks import WebhookMaker  # noqa: E402
from botkit.runtime.redis import connect  # noqa: E402
from botkit.runtime.stores import Stores, build_stores  # noqa: E402
from botkit.settings import Settings  # noqa: E402
from tests.support.redis_cluster import running_cluster  # noqa: E402
from tests.support.redis_server import free_port, running_redis  # noqa: E402

BOT = "ping"
POLL_EVERY = 0.2
TARGET_SHARE = 0.45


@dataclass
class Mode:
    """A Redis to run against: REDIS_URL, the ports of its masters, BOTKIT_SHARDS."""

    name: str
    url: str
    masters: list[int]
    shards: int
    cluster: bool


@dataclass
class Result:
    mode: Mode
    messages: int
    seconds: float
    commands: dict[int, int]  # master port -> commands run during the throughput stretch
    round_trips: float = 0.0
    rt_messages: int = 0
    idle_round_trips_per_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def shares(self) -> dict[int, float]:
        total = sum(self.commands.values()) or 1
        return {port: count / total for port, count in self.commands.items()}


async def commands_run(port: int) -> int:
    """Every command this server ran since it started (commandstats: Lua's own calls count)."""
    redis = Redis(port=port)
    try:
        stats = await redis.info("commandstats")
    finally:
        await redis.aclose()
    return sum(int(entry["calls"]) for entry in stats.values())


async def flush(mode: Mode) -> None:
    for port in mode.masters:
        redis = Redis(port=port)
        try:
            await redis.flushall()
        finally:
            await redis.aclose()


async def drained(running: Running) -> None:
    """Until every accepted message is handled and every reply sent, polling gently (the polls
    are commands on the masters whose shares are being measured)."""
    deadline = time.monotonic() + 120
    while await running.backlog():
        running.server.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{running.server.label}: backlog not drained in 120 s")
        await asyncio.sleep(POLL_EVERY)


@contextlib.asynccontextmanager
async def reader(mode: Mode) -> AsyncIterator[Stores]:
    """Stores of the benchmark's own on the mode's Redis, to read the backlog. Made before any
    master announces a proxy, so that the benchmark's polling never counts as the bot's."""
    settings = Settings(consent_pepper=PEPPER, redis_url=mode.url, shards=mode.shards)
    client = await connect(settings)
    try:
        yield build_stores(settings, BOT, client)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def bot(
    mode: Mode, url: str, stores: Stores, workdir: Path, bots_dir: Path, stream: int
) -> AsyncIterator[Running]:
    """``botkit run bench_ping`` on an emptied Redis, with REDIS_URL ``url`` (the mode's, or a
    proxy's), warmed up: a message from each user, all handled."""
    await flush(mode)
    port = free_port()
    maker = WebhookMaker(f"http://127.0.0.1:{port}/twilio/messages", stream)
    with (
        sandbox(workdir, status_callbacks=False) as (sandbox_url, sandbox_pid),
        botkit_run(
            BOT,
            1,
            port,
            redis_url=url,
            sandbox_url=sandbox_url,
            bots_dir=bots_dir,
            workdir=workdir,
            settings={"BOTKIT_SHARDS": str(mode.shards)},
        ) as server,
    ):
        running = Running(server, maker, stores, None, sandbox_pid)
        await server.wait_listening()
        await running.send(maker.one_per_user())
        await drained(running)
        yield running


async def throughput(mode: Mode, args: argparse.Namespace, workdir: Path, bots_dir: Path) -> Result:
    async with (
        reader(mode) as stores,
        bot(mode, mode.url, stores, workdir, bots_dir, stream=1) as running,
    ):
        requests = running.maker.batch(args.messages)
        before = {port: await commands_run(port) for port in mode.masters}
        start = time.monotonic()
        await running.send(requests, concurrency=args.concurrency)
        await drained(running)
        seconds = time.monotonic() - start
        after = {port: await commands_run(port) for port in mode.masters}
    commands = {port: after[port] - before[port] for port in mode.masters}
    return Result(mode, args.messages, seconds, commands)


@contextlib.contextmanager
def announced(mode: Mode, proxies: dict[int, int]) -> Iterator[None]:
    """Each cluster master tells clients its proxy's port instead of its own, until the end."""
    import subprocess

    def config(port: int, announce: int) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(port), "config", "set", "cluster-announce-port", str(announce)],
            capture_output=True,
            check=True,
            timeout=10,
        )

    for port, proxy in proxies.items():
        config(port, proxy)
    try:
        deadline = time.monotonic() + 20
        wanted = {str(p) for p in proxies.values()}
        while True:  # until every master's slot map names every proxy
            maps = [
                subprocess.run(
                    ["redis-cli", "-p", str(port), "cluster", "slots"],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=10,
                ).stdout.split()
                for port in proxies
            ]
            if all(wanted <= set(words) for words in maps):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the masters did not announce their proxies' ports in 20 s")
            time.sleep(0.2)
        yield
    finally:
        for port in proxies:
            config(port, 0)


async def round_trips(
    mode: Mode, result: Result, args: argparse.Namespace, workdir: Path, bots_dir: Path
) -> None:
    proxies = {port: CountingProxy("127.0.0.1", port) for port in mode.masters}
    addresses = {port: await proxy.start() for port, proxy in proxies.items()}
    ports = {port: _port(address) for port, address in addresses.items()}

    def counted() -> Counts:
        total = Counts()
        for proxy in proxies.values():
            total += proxy.counts
        return total

    try:
        async with reader(mode) as stores:
            with announced(mode, ports) if mode.cluster else contextlib.nullcontext():
                url = addresses[mode.masters[0]]
                async with bot(mode, url, stores, workdir, bots_dir, stream=2) as running:
                    idle_rate, measured = await _one_at_a_time(running, counted, args)
    finally:
        for proxy in proxies.values():
            await proxy.stop()
    result.round_trips = measured / args.one_at_a_time
    result.rt_messages = args.one_at_a_time
    result.idle_round_trips_per_s = idle_rate


async def _one_at_a_time(
    running: Running, counted: Callable[[], Counts], args: argparse.Namespace
) -> tuple[float, float]:
    """The bot's idle round trips per second, then its round trips over ``--one-at-a-time``
    messages each sent after the one before was done, less the idle rate over that stretch."""
    idle_start, idle_counts = time.monotonic(), counted()
    await asyncio.sleep(args.idle_seconds)
    idle_rate = (counted() - idle_counts).round_trips / (time.monotonic() - idle_start)
    start, before = time.monotonic(), counted()
    connection = Connection("127.0.0.1", running.port)
    try:
        for request in running.maker.batch(args.one_at_a_time):
            answer = await connection.exchange(request)
            check_answers(running.server.label, [answer], 1)
            await until_drained(running)
    finally:
        await connection.close()
    seconds = time.monotonic() - start
    return idle_rate, (counted() - before).round_trips - idle_rate * seconds


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


async def until_drained(running: Running) -> None:
    """Until the message just sent is handled and its reply sent (the proxies count the
    benchmark's polling too, which is why it reads through its own client, not the bot's)."""
    while await running.backlog():  # noqa: ASYNC110 - nothing to wait on but the backlog
        await asyncio.sleep(0.002)


def report(results: Sequence[Result]) -> str:
    base = results[0]
    lines = [
        "# botkit on one Redis node and on a 3-master cluster (bench/cluster.py)",
        "",
        columns_table(
            results,
            [
                ("mode", lambda r: r.mode.name),
                ("BOTKIT_SHARDS", lambda r: str(r.mode.shards)),
                ("messages", lambda r: f"{r.messages:,}"),
                ("handled/s", lambda r: f"{r.rate:,.0f}"),
                ("x one node", lambda r: f"{r.rate / base.rate:.2f}x"),
                ("commands/msg", lambda r: f"{sum(r.commands.values()) / r.messages:.1f}"),
                ("largest master share", lambda r: f"{max(r.shares.values()):.0%}"),
                ("round trips/msg", lambda r: f"{r.round_trips:.2f}"),
                ("idle round trips/s", lambda r: f"{r.idle_round_trips_per_s:.1f}"),
            ],
        ),
        "",
    ]
    for result in results:
        if not result.mode.cluster:
            continue
        rows = [
            (f"master :{port}", f"{result.commands[port]:,}", f"{share:.1%}")
            for port, share in sorted(result.shares.items())
        ]
        lines += [
            f"Commands per master ({result.mode.name}):",
            "",
            table(["master", "commands", "share"], rows),
            "",
        ]
        largest = max(result.shares.values())
        verdict = "met" if largest <= TARGET_SHARE else "NOT met"
        lines.append(
            f"Target: no master above {TARGET_SHARE:.0%} of the commands with 3 masters: "
            f"{largest:.1%}, {verdict}."
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="botkit-bench-cluster-") as tmp:
        workdir = Path(tmp)
        bots_dir = workdir / "bots"
        bots_dir.mkdir()
        write_bots(bots_dir)
        results = []
        with running_redis() as url:
            port = _port(url)
            mode = Mode("one node", url, [port], 1, cluster=False)
            print(f"{mode.name}: throughput...", file=sys.stderr, flush=True)
            result = await throughput(mode, args, workdir, bots_dir)
            print(f"{mode.name}: round trips...", file=sys.stderr, flush=True)
            await round_trips(mode, result, args, workdir, bots_dir)
            results.append(result)
        with running_cluster(masters=3, replicas=0) as topology:
            mode = Mode("3-master cluster", topology.url, list(topology.servers), args.shards, True)
            print(f"{mode.name}: throughput...", file=sys.stderr, flush=True)
            result = await throughput(mode, args, workdir, bots_dir)
            print(f"{mode.name}: round trips...", file=sys.stderr, flush=True)
            await round_trips(mode, result, args, workdir, bots_dir)
            results.append(result)
    print(report(results))


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--one-at-a-time", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--shards", type=int, default=16, help="BOTKIT_SHARDS on the cluster")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))

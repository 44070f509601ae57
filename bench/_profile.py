"""Where a botkit process's CPU goes under load: py-spy samples, put into the issue's buckets.

bench/inbound.py ``--profile DIR`` runs ``py-spy record`` on each botkit system for the length
of its wrk run and drain (idle stacks left out, so the samples are CPU), writes the collapsed
stacks to DIR, and prints the breakdown below. ``python bench/_profile.py FILE...`` prints it
again from the files.

Each sample goes to the bucket of the innermost frame that names one (BUCKETS, in order: the
first pattern a frame matches names its bucket), so JSON encoding inside a session save counts
as JSON, and redis-py's parsing inside the inbound worker as redis-py. A sample no frame of
which names a bucket is the event loop's when it is in asyncio (waiting, running callbacks), or
"other"; ``--frames N`` lists the frames that named the most samples.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

#: (bucket, pattern on a frame "function (path:line)"); innermost matching frame wins, and
#: within one frame the first pattern that matches.
BUCKETS: list[tuple[str, str]] = [
    (
        "signature validation",
        r"\(botkit/twilio/signature\.py|\(twilio/request_validator\.py|\(hmac\.py",
    ),
    ("form parsing", r"\(urllib/parse\.py|_form_params|\(multidict/"),
    ("phone parsing", r"\(phonenumbers/|\(botkit/twilio/address\.py"),
    ("pydantic", r"\(pydantic"),
    ("structlog / logging", r"\(structlog/|\(botkit/logging\.py|\(logging/"),
    ("JSON", r"\(json/|\(botkit/twilio/strict_json\.py"),
    ("metrics", r"\(prometheus_client/|\(botkit/metrics\.py"),
    ("Twilio SDK (replies)", r"\(twilio/"),
    ("redis-py", r"\(redis/"),
    ("aiohttp (HTTP server and client)", r"\(aiohttp/|\(yarl/"),
    ("the handler (bot code)", r"\(bench_inc\.py|\(bench_ping\.py"),
    ("outbound worker", r"\(botkit/outbound/"),
    ("inbound worker and pipeline", r"\(botkit/(inbound|app|contexts|flows)/"),
    ("sessions, compliance, records", r"\(botkit/(sessions|compliance|records)/"),
    ("webhook endpoint (botkit/server)", r"\(botkit/server/"),
    ("other botkit", r"\(botkit/(?!cli/|core/event_loop\.py)"),
]
#: What a sample counts as when no frame names a bucket: the event loop itself (waiting in
#: select, running callbacks, socket reads and writes for a caller no bucket names).
LOOP = (
    "asyncio event loop",
    re.compile(r"\((asyncio/|uvloop/|selectors\.py|botkit/core/event_loop\.py)"),
)
_COMPILED = [(name, re.compile(pattern)) for name, pattern in BUCKETS]


#: The stage a sample belongs to: the first of these any frame of its stack matches.
STAGES: list[tuple[str, re.Pattern[str]]] = [
    (
        "webhook in (aiohttp handler: read, verify, accept)",
        re.compile(r"\(aiohttp/web_protocol\.py"),
    ),
    ("inbound worker: take (claim, lock, load)", re.compile(r"InboundWorker\._take_loop")),
    (
        "inbound worker: handle (pipeline, handler, save, ack)",
        re.compile(r"InboundWorker\._handle"),
    ),
    ("outbound worker (claim, send, settle)", re.compile(r"\(botkit/outbound/|OutboundWorker")),
]


def stage(stack: str) -> str:
    for name, pattern in STAGES:
        if pattern.search(stack):
            return name
    return "event loop and the rest"


def frames(stack: str) -> list[str]:
    """The frames of a collapsed stack, root first. A frame is 'function (path:line)'; py-spy
    starts a stack with 'process N:"command"' and 'thread (...)' pseudo-frames."""
    return stack.split(";")


def matched(stack: str) -> tuple[str, str]:
    """(the sample's bucket, the frame that named it)."""
    for frame in reversed(frames(stack)):
        for name, pattern in _COMPILED:
            if pattern.search(frame):
                return name, frame
    for frame in reversed(frames(stack)):
        if LOOP[1].search(frame):
            return LOOP[0], frame
    return "other", frames(stack)[-1]


def bucket(stack: str) -> str:
    return matched(stack)[0]


def samples(lines: Iterable[str]) -> Iterator[tuple[str, int]]:
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            yield stack, int(count)


def breakdown(paths: Iterable[Path]) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """(samples per bucket, samples per (bucket, the frame that named it))."""
    found: Counter[str] = Counter()
    by_frame: Counter[tuple[str, str]] = Counter()
    for path in paths:
        with path.open(errors="replace") as lines:
            for stack, count in samples(lines):
                name, frame = matched(stack)
                found[name] += count
                by_frame[name, frame] += count
    return found, by_frame


def by_stage(paths: Iterable[Path]) -> Counter[str]:
    """Samples per stage (STAGES)."""
    found: Counter[str] = Counter()
    for path in paths:
        with path.open(errors="replace") as lines:
            for stack, count in samples(lines):
                found[stage(stack)] += count
    return found


def table(found: Counter[str], cpu_us_per_request: float | None = None) -> str:
    """The buckets by share of samples, biggest first; with the row's CPU µs per request, each
    bucket's share of it too."""
    total = sum(found.values()) or 1
    width = max([len(name) for name in found] + [10])
    head = f"{'where':<{width}}  share"
    if cpu_us_per_request is not None:
        head += "  µs/req"
    out = [head]
    for name, count in found.most_common():
        line = f"{name:<{width}}  {count / total:5.1%}"
        if cpu_us_per_request is not None:
            line += f"  {count / total * cpu_us_per_request:6.0f}"
        out.append(line)
    out.append(f"({total:,} samples)")
    return "\n".join(out)


@contextlib.contextmanager
def recording(pid: int, out: Path, rate: int = 250) -> Iterator[None]:
    """py-spy record on pid and the processes it forks, until the block ends (raw collapsed
    stacks, CPU only: idle stacks are left out)."""
    argv = [
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
        "--subprocesses", "--format", "raw", "--rate", str(rate), "--output", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        if not out.exists():
            raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="py-spy raw (collapsed) output")
    parser.add_argument("--cpu-us", type=float, help="the row's CPU µs per request")
    parser.add_argument(
        "--frames", type=int, default=0, help="list the N frames that named the most samples"
    )
    args = parser.parse_args(argv)
    found, by_frame = breakdown(args.files)
    print(table(found, args.cpu_us))
    print(table(by_stage(args.files), args.cpu_us))
    for (name, frame), count in by_frame.most_common(args.frames):
        print(f"  {count:6}  {name}: {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

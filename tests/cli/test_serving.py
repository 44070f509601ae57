"""``botkit run --workers N``: N serving processes on one port under gunicorn's arbiter, which
restarts one that dies and, on SIGTERM, lets every one finish its handlers before exiting."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.support.process import BOTKIT, botkit_process, clean_env, wait_healthy
from tests.support.redis_server import free_port
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params, post_form

SLOW_BOT = """
    import asyncio
    import os
    import pathlib

    from botkit import Bot, Context

    bot = Bot("served")
    DONE = pathlib.Path(os.environ["DONE_DIR"])


    @bot.fallback
    async def answer(ctx: Context) -> None:
        if ctx.message.text == "slow":
            await asyncio.sleep(1.5)  # SIGTERM arrives meanwhile
        (DONE / ctx.message.sid).write_text(str(os.getpid()))
        await ctx.reply(f"handled by {os.getpid()}")
"""


def _children(parent: int) -> set[int]:
    """The live processes whose parent is ``parent``, from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == parent:
            found.add(int(entry))
    return found


def _wait_for_children(parent: int, count: int, other_than: set[int] = frozenset()) -> set[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        children = _children(parent)
        if len(children) == count and not children & other_than:
            return children
        time.sleep(0.05)
    raise AssertionError(f"expected {count} worker processes, found {_children(parent)}")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    (tmp_path / "served.py").write_text(textwrap.dedent(SLOW_BOT))
    (tmp_path / "done").mkdir()
    return clean_env(PYTHONPATH=str(tmp_path), DONE_DIR=str(tmp_path / "done"), **extra)


def test_more_than_one_process_needs_redis(tmp_path: Path) -> None:
    done = subprocess.run(
        [BOTKIT, "run", "served", "--workers", "2", "--port", str(free_port())],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "botkit: --workers 2: memory stores cannot be shared between processes; "
        "set REDIS_URL, or run with --workers 1"
    ]


def test_a_bad_worker_count_is_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for value in ("0", "many"):
        done = subprocess.run(
            [BOTKIT, "run", "served", "--workers", value],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"botkit: --workers: a number of processes (1 or more) or 'auto', got {value!r}"
        ]


async def test_workers_share_the_port_are_restarted_and_drain_on_sigterm(
    tmp_path: Path, clean_redis: str, twilio: SandboxTwilio
) -> None:
    port = free_port()
    env = _env(
        tmp_path,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        REDIS_URL=clean_redis,
        BOTKIT_TWILIO_BASE_URL=twilio.base_url,
        BOTKIT_CONSENT_PEPPER="serving-test-pepper-0123",
        BOTKIT_PUBLIC_HOSTS=f"http://127.0.0.1:{port}",
    )
    url = f"http://127.0.0.1:{port}/twilio/messages"
    done = tmp_path / "done"
    with botkit_process(["run", "served", "--workers", "2", "--port", str(port)], env) as parent:
        await asyncio.to_thread(wait_healthy, port, parent)
        first = await asyncio.to_thread(_wait_for_children, parent.pid, 2)

        # Every message is handled once, by one of the processes on the one port.
        sids = []
        for n in range(20):
            params = inbound_params(f"hello {n}", From=f"+1555000{n:04}")
            sids.append(params["MessageSid"])
            assert await asyncio.to_thread(post_form, url, params) == 200
        await twilio.wait_for(20, timeout=20)
        assert sorted(p.name for p in done.iterdir()) == sorted(sids)
        handlers = {int(p.read_text()) for p in done.iterdir()}
        assert handlers <= first

        # A worker that dies is replaced, and the port keeps answering.
        killed = min(first)
        os.kill(killed, signal.SIGKILL)
        second = await asyncio.to_thread(_wait_for_children, parent.pid, 2, {killed})
        assert len(second & first) == 1
        params = inbound_params("after the restart", From="+15550009999")
        assert await asyncio.to_thread(post_form, url, params) == 200
        await twilio.wait_for(21, timeout=20)

        # SIGTERM: the handler in flight finishes before its process exits, then the parent.
        slow = inbound_params("slow", From="+15550008888")
        assert await asyncio.to_thread(post_form, url, slow) == 200
        await asyncio.sleep(0.3)  # the handler is asleep now
        parent.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(parent.wait, 30) == 0
        assert (done / slow["MessageSid"]).exists()
        assert _children(parent.pid) == set()

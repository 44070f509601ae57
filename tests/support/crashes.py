"""A `botkit run` killed in the middle of a handler, and the one that takes over: the stage of
the tests that a re-run repeats nothing (Redis mode)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.process import botkit_process, wait_healthy
from tests.support.redis_server import free_port
from tests.support.webhooks import post_form


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen[bytes]
    port: int


@asynccontextmanager
async def serving(module: str, env: dict[str, str]) -> AsyncIterator[Served]:
    """`botkit run module`, healthy, until the block ends."""
    port = free_port()
    # With an account, the host Twilio calls is configured (the signed URL is never the
    # caller's to choose).
    env = {**env, "BOTKIT_PUBLIC_HOSTS": f"http://127.0.0.1:{port}"}
    with botkit_process(["run", module, "--port", str(port)], env) as process:
        await asyncio.to_thread(wait_healthy, port, process)
        yield Served(process, port)


async def kill_mid_handler(
    module: str, env: dict[str, str], params: dict[str, str], marker: Path
) -> None:
    """Post ``params`` to `botkit run module` and SIGKILL it once its handler wrote ``marker``."""
    async with serving(module, env) as served:
        url = f"http://127.0.0.1:{served.port}/twilio/messages"
        assert await asyncio.to_thread(post_form, url, params) == 200
        await until(marker.exists)
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(timeout=10)


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)

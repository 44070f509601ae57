"""The benchmark's sandbox, in a process of its own so its CPU is not counted as the outbound
worker's.

Usage: ``python bench/_sandbox.py SPEC.json``. SPEC holds ``config`` (a SandboxConfig: strict
rates, Messaging Services with their sender pools, status_step), optionally ``windows``, the
``[user, sender]`` WhatsApp pairs whose 24-hour window is open (as if each user had just written),
and ``log_level``, which makes the sandbox log JSON at that level to stdout (otherwise structlog's
defaults). Prints the sandbox's base URL on one line once it is listening, and serves until
SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from botkit.cli.commands import tune_gc
from botkit.core import event_loop
from botkit.logging import configure_logging
from botkit.sandbox import Sandbox, SandboxConfig


async def serve(spec: dict[str, Any]) -> None:
    if "log_level" in spec:
        configure_logging("json", spec["log_level"])
    box = Sandbox(SandboxConfig.model_validate(spec["config"]))
    opened = time.time()
    for user, sender in spec.get("windows", []):
        box.state.last_inbound[(user, sender)] = opened
    url = await box.start("127.0.0.1", 0)
    print(url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await box.stop()


if __name__ == "__main__":
    tune_gc()  # as every botkit command does, on the same loop
    event_loop.run(serve(json.loads(Path(sys.argv[1]).read_text())))

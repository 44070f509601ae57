"""``botkit run --workers N``: N serving processes on one port, under gunicorn's arbiter.

Gunicorn is the process model here because it is the well-kept one Python web services already
run under: its arbiter forks the workers after the parent has loaded the bot (so a bad bot or
setting stops start-up once, with one line), shares one listening socket among them, restarts
a worker that dies, and on SIGTERM stops them gracefully (each finishes the handlers in flight,
then exits; the arbiter waits for all of them). aiohttp ships the worker that serves an app
under it; ``BotkitWorker`` only puts it on botkit's event loop.

Every process is a complete ``botkit run``: the webhook server, inbound workers and (unless
``--no-dispatch``) outbound workers, all sharing Redis. That is why more than one process needs
``REDIS_URL``: memory stores live in one process and cannot be shared.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web
from aiohttp.worker import GunicornWebWorker
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from gunicorn.glogging import Logger as GunicornLogger  # type: ignore[import-untyped]
from gunicorn.workers import base  # type: ignore[import-untyped]

from botkit.core import event_loop
from botkit.errors import ConfigError
from botkit.logging import get_logger
from botkit.server.connections import GuardedRunner

log = get_logger("serving")

#: Builds one process's application (called in each worker, after the fork).
AppFactory = Callable[[AsyncExitStack], Awaitable[web.Application]]


def worker_count(value: str) -> int:
    """``--workers``: a positive number, or ``auto`` for one per core."""
    if value == "auto":
        return os.cpu_count() or 1
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ConfigError(f"--workers: a number of processes (1 or more) or 'auto', got {value!r}")
    return count


def check_shared_stores(workers: int, redis_url: str | None) -> None:
    """Several processes must share their state: refuse memory stores with one line."""
    if workers > 1 and redis_url is None:
        raise ConfigError(
            f"--workers {workers}: memory stores cannot be shared between processes; "
            "set REDIS_URL, or run with --workers 1"
        )


class BotkitWorker(GunicornWebWorker):
    """aiohttp's gunicorn worker, on botkit's event loop."""

    def init_process(self) -> None:
        self.loop = event_loop.new_event_loop()
        asyncio.set_event_loop(self.loop)
        base.Worker.init_process(self)  # GunicornWebWorker's would make a default loop


class StructlogLogger(GunicornLogger):  # type: ignore[misc]
    """Gunicorn's own messages (a worker booted, died, was restarted) as botkit log lines, so
    a production log stays one JSON line per event."""

    def setup(self, cfg: Any) -> None:
        self.cfg = cfg

    def critical(self, msg: str, *args: Any, **kwargs: Any) -> None:
        log.critical(_text(msg, args), source="gunicorn")

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        log.error(_text(msg, args), source="gunicorn")

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        log.warning(_text(msg, args), source="gunicorn")

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        log.info(_text(msg, args), source="gunicorn")

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        log.debug(_text(msg, args), source="gunicorn")

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        log.exception(_text(msg, args), source="gunicorn")

    def log(self, lvl: Any, msg: str, *args: Any, **kwargs: Any) -> None:
        self.info(msg, *args)

    def access(self, *args: Any, **kwargs: Any) -> None:
        return None

    def reopen_files(self) -> None:
        return None

    def close_on_exec(self) -> None:
        return None


class ServingApplication(BaseApplication):  # type: ignore[misc]
    """The arbiter's view of a bot: where to listen, how many workers, and the app factory."""

    def __init__(self, factory: AppFactory, options: dict[str, str | None]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            if name in self.cfg.settings:  # control_socket_disable is new in gunicorn 24
                self.cfg.set(name, value)

    def load(self) -> Callable[[], Awaitable[web.AppRunner]]:
        factory = self._factory
        # What aiohttp's worker gives its own runner: 95% of the grace to finish handlers.
        shutdown_timeout = self.cfg.graceful_timeout * 0.95

        async def app() -> web.AppRunner:
            # What the factory opens for this process (a shared sandbox's registration) is
            # closed when the app is.
            stack = AsyncExitStack()
            built = await factory(stack)

            async def close(_: web.Application) -> None:
                await stack.aclose()

            built.on_cleanup.append(close)
            # The worker serves a runner it is handed as it is: this one applies the
            # connection cap (server/connections.py).
            return GuardedRunner(built, access_log=None, shutdown_timeout=shutdown_timeout)

        return app


def serve_with_workers(
    factory: AppFactory, host: str, port: int, workers: int, grace: float
) -> None:
    """Run ``workers`` processes serving ``factory``'s app on host:port until SIGTERM or SIGINT;
    ``grace``: how long each may take to finish its handlers before it is killed."""
    # Gunicorn parses its settings from text, as from its command line.
    options: dict[str, str | None] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": str(workers),
        "worker_class": f"{BotkitWorker.__module__}.{BotkitWorker.__qualname__}",
        "logger_class": f"{StructlogLogger.__module__}.{StructlogLogger.__qualname__}",
        "graceful_timeout": str(round(grace)),
        "accesslog": None,
        # aiohttp's own keep-alive, as one process keeps it (gunicorn's default is 2 s, which
        # makes a webhook sender reconnect between bursts).
        "keepalive": "75",
        "proc_name": "botkit",
        # The arbiter's runtime control socket (gunicornc) is not part of botkit's interface.
        "control_socket_disable": "true",
    }
    log.info("starting worker processes", workers=workers, bind=options["bind"])
    ServingApplication(factory, options).run()


def _text(msg: str, args: tuple[Any, ...]) -> str:
    try:
        return msg % args if args else msg
    except (TypeError, ValueError):
        return f"{msg} {args}"

"""Where aiohttp's web server reports what goes wrong below our handlers: through structlog.

aiohttp logs a request it cannot parse (a bad request line, a header too long, broken chunked
encoding...) with the standard library's ``logging``: a multi-line traceback, whose message
quotes the request bytes, raw, outside the JSON log stream (one fuzz run left 1,970 of them).
This logger takes their place in every connection of the app (``handler_args`` in
server/app.py): one JSON line each, naming the error and its status, and never the payload,
which may hold phone numbers or message bodies.
"""

from __future__ import annotations

import logging
import re

from aiohttp.http_exceptions import HttpProcessingError

from botkit.logging import get_logger

log = get_logger("http")

# Where an error's message starts quoting the request ("Invalid HTTP header: b'...'").
_QUOTE = re.compile(r"[:\n'\"]")


class HttpErrorLog(logging.Logger):
    """A ``logging.Logger`` for aiohttp's ``RequestHandler`` that writes one structlog line per
    record, at the record's level, without traceback or request bytes."""

    def __init__(self) -> None:
        super().__init__("botkit.http", logging.INFO)

    def handle(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        level = logging.getLevelName(record.levelno).lower()
        if isinstance(exc, HttpProcessingError):
            log.warning(
                "malformed HTTP request",
                status=exc.code,
                error=type(exc).__name__,
                reason=describe(exc.message),
            )
        elif exc is not None:
            log.error("HTTP server error", error=type(exc).__name__, reason=describe(str(exc)))
        elif level in ("warning", "error", "critical"):
            log.warning("HTTP server", message=describe(record.getMessage()))


def describe(message: str) -> str:
    """The part of an error message before it quotes anything, at most 80 characters."""
    return _QUOTE.split(message, maxsplit=1)[0].strip()[:80]

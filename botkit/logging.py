"""structlog set-up: JSON for machines, pretty for people, phone numbers masked, secrets dropped.

Masking happens in a processor rather than at each call site, so a new log line cannot leak a
number by forgetting to mask it.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_PHONE = re.compile(r"(?<![\w+])\+(\d{4})(\d+)(\d{4})(?!\d)")
_SECRET_KEYS = frozenset({"auth_token", "twilio_auth_token", "password", "token", "authorization"})
_REDACTED = "[redacted]"
_SCALARS = (int, float, bool, type(None))


def mask_phone(text: str) -> str:
    """Mask the middle digits of every E.164 number in text: +15551230123 -> +1555***0123."""
    return _PHONE.sub(lambda m: f"+{m.group(1)}***{m.group(3)}", text)


def _mask_value(value: Any) -> Any:
    # The common cases first and cheaply: an outbound worker logs a line for every message it sends.
    if isinstance(value, str):
        # Every number the pattern masks starts with '+'; most values have none.
        return mask_phone(value) if "+" in value else value
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Mapping):
        return {k: _REDACTED if _is_secret(k) else _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


@functools.lru_cache(maxsize=4096)
def _is_secret(key: object) -> bool:
    return isinstance(key, str) and key.lower() in _SECRET_KEYS


def _redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if _is_secret(key):
            event_dict[key] = _REDACTED
        else:
            event_dict[key] = _mask_value(event_dict[key])
    return event_dict


def ensure_masked() -> None:
    """Configure botkit's logging (console or JSON, info) unless something configured
    structlog already: without it, structlog's defaults would print numbers whole. A program
    that only uses the testing kit (a bot's own test suite) gets masked logs this way, on the
    stdout of the moment (a test runner swaps it)."""
    if not structlog.is_configured():
        configure_logging()
        structlog.configure(logger_factory=lambda *_: structlog.PrintLogger(sys.stdout))


def configure_logging(fmt: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Configure structlog once for the process. fmt: auto, json or console. stream: where the
    lines go (default stdout; ``botkit chat`` keeps them out of the chat on stderr)."""
    stream = stream or sys.stdout
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks become text before _redact, so numbers in exception messages are masked.
            structlog.processors.format_exc_info,
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger bound to a component name."""
    return structlog.get_logger(component=name)

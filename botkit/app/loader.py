"""Loading the bot a command line names: ``package.module`` or ``package.module:attribute``."""

from __future__ import annotations

import importlib
import os
import sys

from botkit.app.bot import Bot
from botkit.errors import BotLoadError


def load_bot(target: str) -> Bot:
    """Import MODULE[:ATTR] (ATTR defaults to ``bot``) from the current directory or sys.path."""
    module_name, _, attr = target.partition(":")
    attr = attr or "bot"
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only when the missing module is the target or a parent package of it; a missing
        # import inside the bot's own module is the bot's error and keeps its traceback.
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise BotLoadError(f"cannot find module {module_name!r}") from None
        raise
    found = getattr(module, attr, None)
    if found is None:
        raise BotLoadError(f"module {module_name!r} has no attribute {attr!r}")
    if not isinstance(found, Bot):
        raise BotLoadError(f"{target} is a {type(found).__name__}, not a botkit.Bot")
    return found

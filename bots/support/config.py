"""The support bot's own settings, read from the environment when the bot module is imported.

``SUPPORT_KNOWLEDGE``: the knowledge file (default: knowledge.yaml next to this module).
``SUPPORT_AGENTS``: who takes chats, comma-separated chat identities or phone numbers
(default: ``agent``, the identity a Conversations chat client logs in as).
"""

from __future__ import annotations

import os
from pathlib import Path

from botkit import ConfigError

DEFAULT_KNOWLEDGE = Path(__file__).with_name("knowledge.yaml")


def knowledge_path() -> Path:
    return Path(os.environ.get("SUPPORT_KNOWLEDGE") or DEFAULT_KNOWLEDGE)


def agents() -> tuple[str, ...]:
    raw = os.environ.get("SUPPORT_AGENTS", "agent")
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    if not names:
        raise ConfigError(
            "SUPPORT_AGENTS: name at least one agent (chat identities or phone numbers, "
            "comma-separated)"
        )
    return names

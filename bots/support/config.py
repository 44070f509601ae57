"""The support bot's own settings, read from the environment when the bot module is imported.

``SUPPORT_KNOWLEDGE``: the knowledge file (default: knowledge.yaml next to this module).
``SUPPORT_AGENTS``: who takes chats, comma-separated chat identities or phone numbers, each
with the skills it takes after ``=`` (``ann,bea=general+billing``; default skill ``general``;
default agents: ``agent``, the identity a Conversations chat client logs in as).
``SUPPORT_SURVEY_WINDOW``: hours after a chat closed during which a lone number is taken as
its rating (default 24); after that, "4" is an ordinary message again.
``SUPPORT_RECORD_RETENTION``: days a ticket or a rating is kept (default 90); a customer's
are also erased at once by ``botkit privacy erase``.
"""

from __future__ import annotations

import os
from pathlib import Path

from botkit import Agent, ConfigError

DEFAULT_KNOWLEDGE = Path(__file__).with_name("knowledge.yaml")
DEFAULT_SURVEY_WINDOW_HOURS = 24.0
DEFAULT_RECORD_RETENTION_DAYS = 90.0


def knowledge_path() -> Path:
    return Path(os.environ.get("SUPPORT_KNOWLEDGE") or DEFAULT_KNOWLEDGE)


def agents() -> tuple[Agent, ...]:
    raw = os.environ.get("SUPPORT_AGENTS", "agent")
    listed: list[Agent] = []
    for entry in (e.strip() for e in raw.split(",") if e.strip()):
        name, _, skills = entry.partition("=")
        try:
            listed.append(Agent(name, skills=skills.split("+") if skills else ["general"]))
        except ValueError as exc:
            raise ConfigError(f"SUPPORT_AGENTS: {exc}") from None
    if not listed:
        raise ConfigError(
            "SUPPORT_AGENTS: name at least one agent (chat identities or phone numbers, "
            "comma-separated)"
        )
    return tuple(listed)


def survey_window() -> float:
    """Seconds after a close during which the survey takes a rating."""
    raw = os.environ.get("SUPPORT_SURVEY_WINDOW", "")
    try:
        hours = float(raw) if raw.strip() else DEFAULT_SURVEY_WINDOW_HOURS
    except ValueError:
        hours = -1.0
    if not hours > 0:
        raise ConfigError(f"SUPPORT_SURVEY_WINDOW: hours > 0, like 24, got {raw!r}")
    return hours * 3600


def record_retention() -> float:
    """Seconds a ticket or a rating is kept."""
    raw = os.environ.get("SUPPORT_RECORD_RETENTION", "")
    try:
        days = float(raw) if raw.strip() else DEFAULT_RECORD_RETENTION_DAYS
    except ValueError:
        days = -1.0
    if not days > 0:
        raise ConfigError(f"SUPPORT_RECORD_RETENTION: days > 0, like 90, got {raw!r}")
    return days * 24 * 3600

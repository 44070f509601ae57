"""Who is asking: every desk request carries an agent's token, checked in constant time.

The token comes in the ``Authorization: Bearer <token>`` header, or, for the event stream
(which a browser's EventSource opens without headers), the ``token`` query parameter. Tokens
are ``BOTKIT_DESK_TOKENS`` (agent -> token); in development mode without it, each agent of the
pool signs in with their own name, so a newcomer can play agent beside the simulator.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from aiohttp import web

from botkit.errors import ConfigError
from botkit.handoff.pool import AgentPool
from botkit.settings import Settings


class Refused(Exception):
    """A desk request answered with a 4xx and a one-line reason (logged once)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def desk_tokens(pool: AgentPool | None, settings: Settings) -> dict[str, str] | None:
    """agent -> token, or None when the desk is off (no pool; or no tokens in production)."""
    if pool is None:
        return None
    if settings.desk_tokens:
        strangers = sorted(set(settings.desk_tokens) - set(pool.agents))
        if strangers:
            raise ConfigError(
                f"BOTKIT_DESK_TOKENS: {', '.join(strangers)} not in the bot's AgentPool "
                f"({', '.join(pool.agents)})"
            )
        return dict(settings.desk_tokens)
    if settings.development:
        return {agent: agent for agent in pool.agents}
    return None


class DeskAuth:
    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = [(agent, token.encode()) for agent, token in tokens.items()]

    def agent(self, request: web.Request) -> str:
        """The agent whose token the request carries; Refused(401) otherwise."""
        given = token_of(request)
        if not given:
            raise Refused(401, "sign in: an agent token is required")
        found = None
        for agent, token in self._tokens:  # every one compared: no timing hint of a near miss
            if hmac.compare_digest(token, given.encode()):
                found = agent
        if found is None:
            raise Refused(401, "unknown agent token")
        return found


def token_of(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("token", "").strip()

"""Agent commands: the only handlers that run in a conversation handed to an agent.

They are intents of their own routing table (``Bot.agent_command``), matched on the command as
the first word of the message (``/resume``, ``/close``, ``/next``; the rest of the message is
``ctx.slots["args"]``), and run only for participants other than the customer.
"""

from __future__ import annotations

import re

from botkit.app.handlers import Handler
from botkit.contexts.conversation import ConversationContext


def command_pattern(command: str) -> re.Pattern[str]:
    word = command.strip()
    if not word or any(ch.isspace() for ch in word):
        raise ValueError(f"an agent command is one word, like '/resume', not {command!r}")
    return re.compile(rf"^{re.escape(word)}(?:\s+(?P<args>.*))?$", re.IGNORECASE | re.DOTALL)


async def resume(ctx: ConversationContext) -> None:
    """``/resume``: hand the conversation back to the bot."""
    await ctx.resume_bot()


async def close(ctx: ConversationContext) -> None:
    """``/close``: end the conversation."""
    await ctx.close_conversation()


async def take_next(ctx: ConversationContext) -> None:
    """``/next``: the agent who wrote it takes the conversation waiting longest."""
    agent = ctx.participant.author or ctx.message.author
    await ctx.take_next(agent)


BUILT_IN: dict[str, Handler] = {"/resume": resume, "/close": close, "/next": take_next}
DEFAULT_AGENT_COMMANDS: tuple[str, ...] = ("/resume", "/close", "/next")

"""Agent commands: the only handlers that run in a conversation handed to an agent.

They are intents of their own routing table (``Bot.agent_command``), matched on the command as
the first word of the message (``/transfer``; the rest of the message is
``ctx.slots["args"]``), and run only for participants other than the customer. The bot answers
the onMessageAdd pre-event of a command so that it is never added to the conversation
(botkit/inbound/agent_command_intake.py): the customer never sees it, and the agent alone is
told the result (``ctx.tell_agent``).
"""

from __future__ import annotations

import re

from botkit.app.handlers import Handler
from botkit.contexts.conversation import ConversationContext
from botkit.handoff.service import HandoffError
from botkit.handoff.store.protocol import Presence
from botkit.logging import mask_phone


def command_pattern(command: str) -> re.Pattern[str]:
    word = command.strip()
    if not word or any(ch.isspace() for ch in word):
        raise ValueError(f"an agent command is one word, like '/resume', not {command!r}")
    return re.compile(rf"^{re.escape(word)}(?:\s+(?P<args>.*))?$", re.IGNORECASE | re.DOTALL)


def _args(ctx: ConversationContext) -> str:
    return (ctx.slots.get("args") or "").strip()


async def resume(ctx: ConversationContext) -> None:
    """``/resume``: hand the conversation back to the bot."""
    await ctx.resume_bot()
    await ctx.tell_agent("The bot has this conversation again.")


async def close(ctx: ConversationContext) -> None:
    """``/close``: end the conversation (and take the next in line, if available)."""
    await ctx.close_conversation()
    await ctx.tell_agent("Closed.")


async def take_next(ctx: ConversationContext) -> None:
    """``/next``: the agent who wrote it takes the conversation waiting longest."""
    taken = await ctx.take_next(ctx.agent)
    await ctx.tell_agent(
        f"You took {taken}." if taken else "No one is waiting for you (or you have no room)."
    )


async def transfer(ctx: ConversationContext) -> None:
    """``/transfer agent-2 [note]`` or ``/transfer @billing [note]``."""
    target, _, note = _args(ctx).partition(" ")
    if not target:
        await ctx.tell_agent("Transfer to whom? /transfer agent-2 or /transfer @billing, a note.")
        return
    await ctx.tell_agent(await ctx.transfer(target, note.strip() or None))


async def away(ctx: ConversationContext) -> None:
    """``/away``: keep your conversations, get no new ones."""
    await _presence(ctx, "away", "away: you keep your conversations and get no new ones.")


async def available(ctx: ConversationContext) -> None:
    """``/available``: take conversations again (the longest waiting come at once)."""
    await _presence(ctx, "available", "available: waiting conversations come to you.")


async def _presence(ctx: ConversationContext, presence: Presence, told: str) -> None:
    try:
        await ctx.set_presence(presence)
    except HandoffError as exc:
        await ctx.tell_agent(str(exc))
        return
    await ctx.tell_agent(f"{mask_phone(ctx.agent)}: {told}")


async def note(ctx: ConversationContext) -> None:
    """``/note text``: a note for agents only, kept with the conversation."""
    await ctx.add_note(_args(ctx))
    await ctx.tell_agent("Noted.")


BUILT_IN: dict[str, Handler] = {
    "/resume": resume,
    "/close": close,
    "/next": take_next,
    "/transfer": transfer,
    "/away": away,
    "/available": available,
    "/note": note,
}
DEFAULT_AGENT_COMMANDS: tuple[str, ...] = tuple(BUILT_IN)

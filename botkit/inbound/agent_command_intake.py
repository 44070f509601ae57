"""Agent commands are run by the bot and never added to the conversation.

Everything added to a conversation reaches every participant, so a ``/transfer @billing`` or a
``/note VIP`` written there would be texted to the customer. The intake takes such a command
before it is added: at the onMessageAdd pre-event (which it answers with a rejection, so
Twilio never adds it), or straight from the agent desk. Either way the command is queued
durably, as an accepted webhook is, and the inbound workers run it at least once through the
agent commands' routing table, with the same ConversationContext as any conversation message;
its result goes to the agent alone (``ctx.tell_agent``).

A queued command is the message Twilio would have added, given a MessageSid of its own (a
fresh one per command: the replies and side effects of a re-run are keyed on it). Only what is
an agent command, in a conversation handed off to an agent, from a participant who is not the
customer, is taken; everything else is left to go through.
"""

from __future__ import annotations

import uuid

from botkit.app.router import Routes
from botkit.handoff.service import Handoff
from botkit.inbound.events import ConversationEvent
from botkit.inbound.queue.protocol import InboundQueue
from botkit.logging import get_logger
from botkit.twilio.conversation_events import Binding, MessageAdd, MessageAdded

log = get_logger("conversations")

#: What the onMessageAdd pre-event answers for a command (Twilio then does not add it).
TAKEN = "agent command: run by the bot, not added to the conversation"


class AgentCommandIntake:
    def __init__(
        self, queue: InboundQueue, handoff: Handoff, commands: Routes, dedup_ttl: float
    ) -> None:
        self.queue = queue
        self.handoff = handoff
        self.commands = commands
        self.dedup_ttl = dedup_ttl

    async def intercept(self, event: MessageAdd) -> bool:
        """Take ``event`` if it is an agent's command (then it must not be added)."""
        record = await self.handoff.store.get(event.conversation_sid)
        if record is None or not record.silences_bot:
            return False
        address = event.binding.address if event.binding else None
        if record.customer is not None and record.customer in (event.author, address):
            return False
        command = MessageAdded(
            **event.model_dump(exclude={"event_type"}), sid=_command_sid(), index=0
        )
        if await self.commands.resolve(command) is None:
            return False
        await self._queue(command)
        return True

    async def submit(
        self, conversation_sid: str, agent: str, participant_sid: str, body: str
    ) -> None:
        """A command from the agent desk, as if ``agent`` had written it in the conversation."""
        command = MessageAdded(
            conversation_sid=conversation_sid,
            author=agent,
            body=body,
            participant_sid=participant_sid,
            binding=Binding(address=agent) if agent.startswith(("+", "whatsapp:")) else None,
            source="SDK",
            params={},
            sid=_command_sid(),
            index=0,
        )
        await self._queue(command)

    async def is_command(self, text: str) -> bool:
        probe = MessageAdded(
            conversation_sid="CH" + "0" * 32, author="", body=text, params={}, sid="", index=0
        )
        return await self.commands.resolve(probe) is not None

    async def _queue(self, command: MessageAdded) -> None:
        item = ConversationEvent(event=command)
        await self.queue.accept(item.dedup_id, item.model_dump_json(), self.dedup_ttl, None)
        log.info(
            "agent command taken",
            conversation=command.conversation_sid,
            command=command.body.split(maxsplit=1)[0] if command.body.strip() else "",
            sid=command.sid,
        )


def _command_sid() -> str:
    return "IM" + uuid.uuid4().hex

"""Everything the sandbox does, as it happens, sorted into the transcript and the mailboxes of
phones and chat participants.

The sandbox announces each message it creates or moves (its event bus, the one the simulator
page shows live). Listening there, in-process, is what lets expectations wake the moment a reply
exists instead of polling for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

from botkit.core.tasks import cancel_and_wait
from botkit.sandbox.events import CLOSED, EventBus
from botkit.testing.mailbox import Mailbox
from botkit.testing.messages import ConversationPost, Message
from botkit.testing.transcript import Transcript


class EventHub:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self.transcript = Transcript()
        #: Messages each address received (phones; WhatsApp ones under ``whatsapp:+...``).
        self._inboxes: dict[str, Mailbox[Message]] = {}
        #: Conversation posts each chat identity can see (it is a participant, not the author).
        self._chat_inboxes: dict[str, Mailbox[ConversationPost]] = {}
        self._members: defaultdict[str, set[str]] = defaultdict(set)
        self._chat_participants: dict[str, tuple[str, str]] = {}
        #: The last conversation each identity was added to.
        self.joined: dict[str, str] = {}
        self._status_changed = asyncio.Event()
        #: How many events were handled: unchanged across a settle round means nothing moved.
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(ready), name="botkit-testing-events")
        await ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    def inbox(self, address: str) -> Mailbox[Message]:
        return self._inboxes.setdefault(address, Mailbox())

    def chat_inbox(self, identity: str) -> Mailbox[ConversationPost]:
        return self._chat_inboxes.setdefault(identity, Mailbox())

    async def status_changed(self) -> None:
        """Wait for the next status change of any message."""
        self._status_changed.clear()
        await self._status_changed.wait()

    async def _listen(self, ready: asyncio.Event) -> None:
        async with self._bus.subscribe() as queue:
            ready.set()
            while True:
                event = await queue.get()
                if event["type"] == CLOSED:
                    return
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    self._handle(event["type"], event["data"])
                self.count += 1

    def _handle(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "message":
            self._on_message(data)
        elif kind == "conversation_message":
            self._on_post(ConversationPost.from_sandbox(data))
        elif kind == "conversation_participant" and data.get("identity"):
            identity = str(data["identity"])
            conversation = str(data["conversation_sid"])
            self._members[conversation].add(identity)
            self._chat_participants[str(data["sid"])] = (conversation, identity)
            self.joined[identity] = conversation
        elif kind == "conversation_participant_removed":
            left = self._chat_participants.pop(str(data["sid"]), None)
            if left is not None:
                self._members[left[0]].discard(left[1])

    def _on_message(self, data: dict[str, Any]) -> None:
        known = self.transcript.message(str(data["sid"]))
        if known is not None:
            known.update_from(data)
            self._status_changed.set()
            return
        message = Message.from_sandbox(data)
        self.transcript.add_message(message)
        if message.outbound and message.status != "failed":
            self.inbox(message.recipient).put(message)

    def _on_post(self, post: ConversationPost) -> None:
        self.transcript.add_post(post)
        for identity in self._members[post.conversation_sid]:
            if identity != post.author:
                self.chat_inbox(identity).put(post)

"""What Twilio keeps about a person, through the SDK: for ``botkit privacy --with-twilio``.

Twilio stores every message sent to or from a number (its body too) until it is deleted, and a
Conversations participant until it is removed. An export lists the messages; an erase deletes
them and removes the person from every conversation they take part in (found in the
participant mirror and the handoff records). A message still on its way cannot be deleted
(Twilio answers 20009); it is counted as kept and named in the log, and a later erase, run once
it was delivered, deletes it.
"""

from __future__ import annotations

from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from botkit.core.person import Found, Person
from botkit.logging import get_logger

log = get_logger("privacy")

#: Most messages listed per address and direction.
LIST_LIMIT = 1000


class TwilioRecords:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def messages(self, person: Person) -> Found:
        """Every message Twilio lists to or from any of the person's addresses, newest first."""
        found: dict[str, dict[str, Any]] = {}
        for address in person.addresses:
            for direction in ({"to": address}, {"from_": address}):
                listed = await self._client.messages.list_async(limit=LIST_LIMIT, **direction)
                for message in listed:
                    found[str(message.sid)] = {
                        "sid": message.sid,
                        "from": message.from_,
                        "to": message.to,
                        "body": message.body,
                        "status": message.status,
                        "direction": message.direction,
                        "date_created": message.date_created.isoformat()
                        if message.date_created
                        else None,
                    }
        return sorted(found.values(), key=lambda m: str(m["date_created"]), reverse=True)

    async def delete_messages(self, messages: Found) -> int:
        """Delete the messages ``messages`` listed; how many went (those still on their way
        stay, and are logged)."""
        deleted = 0
        for message in messages:
            try:
                deleted += int(await self._client.messages(message["sid"]).delete_async())
            except TwilioRestException as exc:
                if exc.status == 404:
                    continue
                log.warning(
                    "Twilio kept a message", sid=message["sid"], code=exc.code, error=exc.msg
                )
        return deleted

    async def leave_conversations(self, person: Person, participants: Found) -> int:
        """Remove the person's participants (mirror rows: conversation and participant SID)
        from their conversations; how many went."""
        removed = 0
        for row in participants:
            conversation = self._client.conversations.v1.conversations(row["conversation_sid"])
            try:
                await conversation.participants(row["participant"]["sid"]).delete_async()
                removed += 1
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
        return removed

"""The conversation so far, in the order Twilio (the sandbox) saw it, for failure messages.

A failed expectation that only says "no reply" sends the author hunting through logs; one that
shows who said what, on which channel, usually shows the bug at a glance.
"""

from __future__ import annotations

from collections.abc import Iterator

from botkit.testing.messages import ConversationPost, Message

Entry = Message | ConversationPost


class Transcript:
    """Every message phones sent and received, and every post in a Conversation, in order.

    A Conversation message that the sandbox relays to a phone is shown once, as the post.
    """

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._messages: dict[str, Message] = {}

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def message(self, sid: str) -> Message | None:
        return self._messages.get(sid)

    def add_message(self, message: Message) -> None:
        self._messages[message.sid] = message
        if message.conversation_sid is None:
            self._entries.append(message)

    def add_post(self, post: ConversationPost) -> None:
        self._entries.append(post)

    def render(self, limit: int = 40) -> str:
        """The last ``limit`` entries, one per line, numbered from the start."""
        if not self._entries:
            return "transcript: (empty: no message was sent or received)"
        start = max(0, len(self._entries) - limit)
        count = len(self._entries)
        lines = [f"transcript ({count} message{'' if count == 1 else 's'}):"]
        if start:
            lines.append(f"  ... {start} earlier messages not shown")
        for number, entry in enumerate(self._entries[start:], start=start + 1):
            lines.append(f"  {number}. {_line(entry)}")
        return "\n".join(lines)


def _line(entry: Entry) -> str:
    if isinstance(entry, ConversationPost):
        return f"[conversation {entry.conversation_sid}] {entry.author}: {entry.describe()}"
    return f"[{entry.channel}] {entry.sender} -> {entry.recipient}: {entry.describe()}"

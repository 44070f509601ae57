"""A chat participant of Conversations (a human agent at a desk, usually): it reads what is
posted in the conversations it is in, and writes into them as its chat client would. What the
bot tells it alone (the result of an agent command, a conversation given to it) it reads with
``expect_notice``: that never passes through the conversation, where the customer would see it.

Agents who work from a phone need nothing of this: they are ``tester.phone(...)``, and the
sandbox relays a bound phone's texts into its conversation as Twilio does.
"""

from __future__ import annotations

import asyncio

from botkit.handoff.history.protocol import HistoryEntry
from botkit.testing.expectations import ReplyExpectation
from botkit.testing.messages import ConversationPost
from botkit.testing.stage import Stage, failure


class TestAgent:
    """The chat identity ``identity`` (e.g. ``"agent-7"``)."""

    __test__ = False

    def __init__(self, stage: Stage, identity: str) -> None:
        self._stage = stage
        self.identity = identity
        self._inbox = stage.hub.chat_inbox(identity)
        self._notices_read = 0

    def __repr__(self) -> str:
        return f"TestAgent({self.identity!r})"

    @property
    def conversation_sid(self) -> str | None:
        """The conversation this agent joined last: where ``say`` writes by default."""
        return self._stage.hub.joined.get(self.identity)

    @property
    def seen(self) -> list[ConversationPost]:
        """Every post by others in this agent's conversations, oldest first."""
        return list(self._inbox.received)

    async def say(self, text: str, *, conversation: str | None = None) -> bool:
        """Post ``text`` into ``conversation`` (default: the one joined last); the bot hears it
        through its Conversations webhooks, phones in it receive it as a text. An agent
        command is taken by the bot before it is added (its pre-event answer), so no one in
        the conversation reads it: then False."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        target = conversation or self.conversation_sid
        if target is None:
            raise await failure(
                self._stage,
                f"agent {self.identity} cannot say {text!r}: it is in no conversation "
                "(hand a customer off to it first, or add it with tester.conversation)",
            )
        return await self._stage.client.post_to_conversation(target, self.identity, text)

    async def expect_message(
        self,
        contains: str | None = None,
        *,
        equals: str | None = None,
        matches: str | None = None,
        author: str | None = None,
        within: float | None = None,
    ) -> ConversationPost:
        """The next post by someone else in this agent's conversations, which must meet the
        conditions (``author``: who wrote it, e.g. ``"bot"`` or a phone number)."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        expected = ReplyExpectation(contains=contains, equals=equals, matches=matches)
        what = expected.describe().replace("a reply", "a message", 1)
        if author is not None:
            what += f" from {author}"
        wait = self._stage.default_timeout if within is None else within
        post = await self._inbox.next(wait)
        if post is None:
            raise await failure(
                self._stage,
                f"expected {what} for agent {self.identity} within {wait} s, but none came",
            )
        reason = expected.text_mismatch(post.body)
        if reason is None and author is not None and post.author != author:
            reason = f"it is from {post.author}"
        if reason is not None:
            raise await failure(
                self._stage,
                f"expected {what} for agent {self.identity}, but the next message was "
                f"{post.author}: {post.describe()} ({reason})",
            )
        return post

    async def expect_notice(
        self,
        contains: str | None = None,
        *,
        equals: str | None = None,
        matches: str | None = None,
        within: float | None = None,
    ) -> HistoryEntry:
        """The next thing the bot told this agent alone (not read yet), which must meet the
        conditions: a command's result, a conversation given or transferred to it."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        expected = ReplyExpectation(contains=contains, equals=equals, matches=matches)
        wait = self._stage.default_timeout if within is None else within
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            found = await self._stage.notices(self.identity, self._notices_read)
            if found:
                notice = found[0]
                self._notices_read = notice.index
                reason = expected.text_mismatch(notice.text)
                if reason is not None:
                    raise await failure(
                        self._stage,
                        f"expected {expected.describe().replace('a reply', 'a notice', 1)} for "
                        f"agent {self.identity}, but the next notice was {notice.text!r} "
                        f"({reason})",
                    )
                return notice
            if loop.time() >= deadline:
                raise await failure(
                    self._stage,
                    f"expected {expected.describe().replace('a reply', 'a notice', 1)} for "
                    f"agent {self.identity} within {wait} s, but none came",
                )
            await self._stage.settle(min(0.2, max(0.0, deadline - loop.time())))

    async def expect_no_message(self, within: float | None = None) -> None:
        """Nothing more is posted for this agent once the bot and the sandbox are idle."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        wait = self._stage.default_timeout if within is None else within
        await self._stage.settle(wait)
        unexpected = self._inbox.take_all()
        if unexpected:
            listed = "; ".join(f"{p.author}: {p.describe()}" for p in unexpected)
            raise await failure(
                self._stage,
                f"expected no message for agent {self.identity}, but it got: {listed}",
            )

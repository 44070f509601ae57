"""A chat participant of Conversations (a human agent at a desk, usually): it reads what is
posted in the conversations it is in, and writes into them as its chat client would.

Agents who work from a phone need nothing of this: they are ``tester.phone(...)``, and the
sandbox relays a bound phone's texts into its conversation as Twilio does.
"""

from __future__ import annotations

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

    async def say(self, text: str, *, conversation: str | None = None) -> None:
        """Post ``text`` into ``conversation`` (default: the one joined last); the bot hears it
        through its Conversations webhooks, phones in it receive it as a text."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        target = conversation or self.conversation_sid
        if target is None:
            raise await failure(
                self._stage,
                f"agent {self.identity} cannot say {text!r}: it is in no conversation "
                "(hand a customer off to it first, or add it with tester.conversation)",
            )
        await self._stage.client.post_to_conversation(target, self.identity, text)

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

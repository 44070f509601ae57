"""A simulated handset: it texts the bot through the sandbox, as a user texts through Twilio,
and asserts on what it receives back."""

from __future__ import annotations

from collections.abc import Sequence

from botkit.testing.expectations import ReplyExpectation
from botkit.testing.messages import LIST_ITEM, Button, Message
from botkit.testing.stage import Stage, failure


class TestPhone:
    """A phone number (``+1555...``) or a WhatsApp user (``whatsapp:+1555...``).

    Messages go to the bot's number unless ``to=`` names another. Replies are read in order:
    each ``expect_reply`` takes the oldest reply not read yet.
    """

    __test__ = False

    def __init__(self, stage: Stage, address: str) -> None:
        self._stage = stage
        self.address = address
        self._inbox = stage.hub.inbox(address)

    @property
    def number(self) -> str:
        return self.address.removeprefix("whatsapp:")

    @property
    def whatsapp(self) -> bool:
        return self.address.startswith("whatsapp:")

    @property
    def replies(self) -> list[Message]:
        """Every message this phone received, oldest first (read or not)."""
        return list(self._inbox.received)

    def __repr__(self) -> str:
        return f"TestPhone({self.address!r})"

    # How Twilio treats this phone ---------------------------------------------------------

    def fail_deliveries(self, error_code: int = 30003) -> None:
        """From now on, messages to this phone end ``undelivered`` with ``error_code`` (30003:
        unreachable handset, 30006: landline...), with status callbacks saying so."""
        self._stage.sandbox.config.failing_numbers[self.number] = error_code

    def leave_whatsapp(self) -> None:
        """This number is no longer a WhatsApp user: WhatsApp messages to it fail with 63003."""
        self._stage.sandbox.config.non_whatsapp_numbers.add(self.number)

    async def read(self) -> int:
        """Open the chat (WhatsApp): every message delivered to this phone becomes ``read``,
        and the bot's status callbacks say so. Returns how many were."""
        return await self._stage.client.read(self.address)

    # Sending -------------------------------------------------------------------------------

    async def send(
        self,
        text: str = "",
        *,
        media: Sequence[str] = (),
        media_types: Sequence[str] = (),
        to: str | None = None,
    ) -> Message:
        """Text the bot (or ``to``); with ``media`` (URLs) it is an MMS or a WhatsApp media
        message. Returns the message as the sandbox recorded it."""
        return await self._send(text, media=media, media_types=media_types, to=to)

    async def send_location(
        self,
        latitude: float,
        longitude: float,
        *,
        address: str | None = None,
        label: str | None = None,
        to: str | None = None,
    ) -> Message:
        """Share a location, as WhatsApp does (SMS has no such thing)."""
        if not self.whatsapp:
            raise ValueError(
                f"{self.address} is an SMS phone: only WhatsApp phones share locations "
                "(tester.phone(..., whatsapp=True))"
            )
        extra = {"latitude": str(latitude), "longitude": str(longitude)}
        if address:
            extra["address"] = address
        if label:
            extra["label"] = label
        return await self._send("", extra=extra, to=to)

    async def tap(self, button: str) -> Message:
        """Tap the button titled (or with the payload) ``button`` on the latest message that has
        it, as WhatsApp sends a quick-reply tap: its title as the text, with ButtonText,
        ButtonPayload and the message it answers. A list picker's item is tapped the same way
        (``pick`` says so): its title as the text, with ListId and ListTitle."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        for message in reversed(self._inbox.received):
            found = _find_button(message.buttons, button)
            if found is not None:
                extra = {"replied_to_sid": message.sid}
                if found.kind == LIST_ITEM:
                    extra |= {"list_id": found.payload, "list_title": found.title}
                else:
                    extra |= {"button_text": found.title, "button_payload": found.payload}
                return await self._send(found.title, extra=extra, to=message.sender)
        offered = sorted({b.title for m in self._inbox.received for b in m.buttons})
        raise await failure(
            self._stage,
            f"{self.address} cannot tap {button!r}: no message it received has that button "
            f"(buttons received: {', '.join(offered) or 'none'})",
        )

    async def pick(self, item: str) -> Message:
        """Choose the item titled (or with the id) ``item`` from the latest list picker that
        has it: ``tap`` for a list."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        return await self.tap(item)

    async def _send(
        self,
        text: str,
        *,
        media: Sequence[str] = (),
        media_types: Sequence[str] = (),
        extra: dict[str, str] | None = None,
        to: str | None = None,
    ) -> Message:
        if not text and not media and not extra:
            raise ValueError("a message needs text or media")
        if len(media_types) > len(media):
            raise ValueError(f"{len(media_types)} media_types for {len(media)} media URLs")
        target = to or self._stage.bot_number
        if self.whatsapp and not target.startswith("whatsapp:"):
            target = "whatsapp:" + target
        data = await self._stage.client.text(
            self.address, target, text, media_urls=media, media_types=media_types, extra=extra
        )
        # The API's JSON counts media but does not list them; the phone knows what it sent
        # (a type it did not give is left empty: the sandbox guesses one for the webhook).
        types = [*media_types, *[""] * len(media)][: len(media)]
        listed = [{"url": u, "content_type": t} for u, t in zip(media, types, strict=True)]
        return Message.from_sandbox({**data, "media": listed})

    # Expecting ----------------------------------------------------------------------------

    async def expect_reply(
        self,
        contains: str | None = None,
        *,
        equals: str | None = None,
        matches: str | None = None,
        media: bool | str | None = None,
        buttons: Sequence[str] | None = None,
        template: bool | str | None = None,
        within: float | None = None,
    ) -> Message:
        """The next message this phone receives, which must meet every condition given
        (``contains``: a substring; ``equals``: the whole text; ``matches``: a regex;
        ``media``: True, False or part of a URL; ``buttons``: the titles in order;
        ``template``: True or a Content SID). Waits up to ``within`` seconds (the tester's
        default, 2 s, when None) and fails with the transcript otherwise."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        expected = ReplyExpectation(contains, equals, matches, media, buttons, template)
        wait = self._stage.default_timeout if within is None else within
        message = await self._inbox.next(wait)
        if message is None:
            raise await failure(
                self._stage,
                f"expected {expected.describe()} to {self.address} within {wait} s, "
                "but none came",
            )
        reason = expected.mismatch(message)
        if reason is not None:
            raise await failure(
                self._stage,
                f"expected {expected.describe()} to {self.address}, but the next reply was "
                f"{message.describe()} ({reason})",
            )
        return message

    async def expect_no_reply(self, within: float | None = None) -> None:
        """Nothing more arrives: waits until the bot and the sandbox have nothing left to do
        (or ``within`` seconds, the tester's default when None), then checks."""
        __tracebackhide__ = True  # pytest shows the test's line, not ours
        wait = self._stage.default_timeout if within is None else within
        await self._stage.settle(wait)
        unexpected = self._inbox.take_all()
        if unexpected:
            listed = "; ".join(m.describe() for m in unexpected)
            raise await failure(
                self._stage, f"expected no reply to {self.address}, but it got: {listed}"
            )


def _find_button(buttons: Sequence[Button], wanted: str) -> Button | None:
    for button in buttons:
        if wanted in (button.title, button.payload):
            return button
    return None

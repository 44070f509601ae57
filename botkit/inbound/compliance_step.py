"""What the pipeline does for compliance before any intent sees a message.

- Every WhatsApp message opens (renews) the 24-hour window for its sender and user.
- STOP / START (and other languages' equivalents) are recorded in the consent ledger and
  confirmed; they never reach intents. The STOP confirmation is marked as a compliance message:
  it is the one message sent past the opt-out, and the last one that recipient gets.
- HELP gets the configured help text; with no help text configured it goes to the intents.
- When Twilio's own opt-out handling already acted (the webhook's ``OptOutType``), botkit
  records the ledger change but sends nothing: Twilio has answered, and a second confirmation
  (or a STOP confirmation Twilio then refuses with 21610) is what the user must never get.
"""

from __future__ import annotations

from dataclasses import dataclass

from botkit.compliance.keywords import KeywordKind, KeywordMatch, KeywordPolicy
from botkit.compliance.ledger.protocol import ConsentLedger, record_keyword
from botkit.compliance.windows.protocol import WindowStore
from botkit.outbound.messenger import Messenger, reply_sender
from botkit.twilio.inbound import InboundMessage, OptOutType


@dataclass
class Compliance:
    keywords: KeywordPolicy
    ledger: ConsentLedger
    windows: WindowStore

    async def observe(self, message: InboundMessage) -> None:
        if message.channel == "whatsapp":
            owner = message.messaging_service_sid or str(message.recipient)
            await self.windows.touch(owner, str(message.sender))

    async def handle_keyword(
        self, message: InboundMessage, sender: Messenger
    ) -> KeywordMatch | None:
        """The keyword this message was, if it was one the framework answers; else None."""
        if message.opt_out_type is not None:
            return await self._answered_by_twilio(message, message.opt_out_type)
        match = self.keywords.classify(message.body)
        if match is None:
            return None
        reply = self.keywords.reply_for(match)
        if match.kind == "help" and reply is None:
            return None
        await self._record(message, match)
        if reply:
            await sender.send(
                str(message.sender),
                reply,
                default=reply_sender(message),
                idempotency_key=f"{message.sid}:keyword",
                lane="reply",
                compliance=match.kind == "opt_out",
            )
        return match

    async def _answered_by_twilio(
        self, message: InboundMessage, opt_out_type: OptOutType
    ) -> KeywordMatch:
        """Twilio classified and answered this keyword: take its verdict (its lists may hold
        words the bot's policy does not), record it, and send nothing."""
        kind = _KIND_OF[opt_out_type]
        match = self.keywords.classify(message.body)
        if match is None or match.kind != kind:
            match = KeywordMatch(kind=kind, keyword=message.text.upper() or opt_out_type)
        await self._record(message, match)
        return match

    async def _record(self, message: InboundMessage, match: KeywordMatch) -> None:
        await record_keyword(
            self.ledger,
            match,
            number=str(message.sender),
            sender=str(message.recipient),
            messaging_service_sid=message.messaging_service_sid,
        )


_KIND_OF: dict[OptOutType, KeywordKind] = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}
